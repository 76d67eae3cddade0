//! Retention: a finished message (delivered or failed) is purged
//! `notification_retention_days` (default 30, never more than `case_retention_days`)
//! after it finished, with its attempt log and list entries, and an event's record and
//! dedup claim go with its last message. The payload names the case: nothing of a case
//! may outlive the case's own retention.
//!
//! Found without listing keys, two ways. A message that finished within
//! [`outbox::PURGED_IN_OUTBOX_ORDER_WITHIN`] of its creation writes nothing for its
//! purge: the sweep walks the outbox (creation order) from `ntf/outbox/purge-mark`
//! ([`purge_in_outbox_order`]). A message that finished later appends a [`Finished`]
//! entry to the slot log `ntf/retention` (an event that matched no subscription gets
//! one when it is accepted). Entries are appended in finishing order, so in due order;
//! the sweep walks them from a low-water mark (`ntf/retention/mark`) and stops at the
//! first entry not yet due. A due entry re-reads its message: one resent since (pending
//! again, or finished at another time, with an entry of its own) only loses the stale
//! entry. Purging deletes the message's attempt log (every slot and the counter), its
//! outbox entries (current and earlier rounds), its entry in the subscription's list
//! and the message; then, if none of the event's messages is left, the event record and
//! its claim; then the entry. Every step is idempotent, so two sweeps at once are safe.

use crate::context::Ctx;
use crate::core::outbox::{
    self, attempts_log, event_claim_key, event_key, outbox, EventRecord, Message, MessageStatus,
};
use crate::core::subscription;
use crate::core::sweep::EMPTY_SLOT_GRACE;
use serde::{Deserialize, Serialize};
use shared::id::{EventId, MessageId};
use shared::kv::expiry::DueList;
use shared::kv::marks::{MarkDoc, Outcome};
use shared::kv::slots::SlotLog;
use shared::kv::{get_json, to_json, KeyValue, StoreError};
use shared::time::{Duration, Timestamp};
use std::collections::HashMap;

/// Most entries one sweep handles.
pub const PURGE_BATCH: u64 = 100;

/// The list of finished messages (and message-less events) waiting to be purged.
pub fn retention_log() -> SlotLog {
    SlotLog::new("ntf/retention")
}

/// [`retention_log`] as the sweep walks it: a slot a writer reserved and has not
/// written yet is waited for by time, not by a count of slots.
fn purges() -> DueList {
    DueList::new(retention_log(), MarkDoc::new("ntf/retention/marks", Some("ntf/retention/mark".into())))
}

/// A message that finished, or an event that made no message, and when it is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finished {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventId>,
    pub finished_at: Timestamp,
    pub due: Timestamp,
}

/// What the retention part of a sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub messages: u32,
    pub events: u32,
}

/// The retention entry of a message that finished at `finished_at`, its slot reserved:
/// write it in the same `set_many` as whatever else the finish writes.
pub fn message_entry<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    id: &MessageId,
    finished_at: Timestamp,
) -> Result<(String, Vec<u8>), StoreError> {
    entry(
        ctx,
        Finished { message: Some(id.clone()), event: None, finished_at, due: finished_at + ctx.config.retention },
    )
}

/// The retention entry of an event that matched no subscription, its slot reserved:
/// written with the event's record.
pub fn event_entry<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    id: &EventId,
    at: Timestamp,
) -> Result<(String, Vec<u8>), StoreError> {
    entry(ctx, Finished { message: None, event: Some(id.clone()), finished_at: at, due: at + ctx.config.retention })
}

fn entry<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, entry: Finished) -> Result<(String, Vec<u8>), StoreError> {
    let log = retention_log();
    let slot = log.reserve(ctx.store)?;
    Ok((log.key(slot), to_json(&entry)))
}

/// Where the walk of the outbox for purges goes on, as stored at [`PURGE_MARK_KEY`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PurgeMark {
    /// The first outbox slot not yet passed.
    slot: u64,
    /// An empty slot at the mark, and since when it has been seen empty.
    blocked: Option<(u64, Timestamp)>,
}

/// The walk of the outbox for purges: every slot below it is purged or not this
/// walk's to purge.
pub const PURGE_MARK_KEY: &str = "ntf/outbox/purge-mark";

/// A pending message this old can no longer finish within
/// [`outbox::PURGED_IN_OUTBOX_ORDER_WITHIN`] of its creation (with a margin for a finish
/// that read its clock before the walk did): the walk passes it, it will get an entry.
const PENDING_HOLD: Duration = Duration::minutes(15);

/// Outbox slots read per `get_many` by the walk.
const PAGE: u64 = 100;

/// Purges what is due, at most [`PURGE_BATCH`] entries of the retention list and
/// [`PURGE_BATCH`] messages found in the outbox.
pub fn purge_due<S: KeyValue, O>(ctx: &Ctx<'_, S, O>) -> Result<Purged, StoreError> {
    let mut purged = purge_in_outbox_order(ctx)?;
    let store = ctx.store;
    purges().walk(
        store,
        ctx.clock.now(),
        PURGE_BATCH,
        ctx.random,
        |e: &Finished| e.due,
        |entry| {
            if let Some(id) = &entry.message {
                if purge_message(store, id, entry.finished_at, &mut purged)? {
                    purged.messages += 1;
                }
            } else if let Some(event) = &entry.event {
                let record: Option<EventRecord> = get_json(store, &event_key(event))?;
                if record.is_some_and(|r| r.messages.is_empty()) {
                    store.delete_many(&[event_key(event), event_claim_key(event)])?;
                    purged.events += 1;
                }
            }
            Ok(Outcome::Done)
        },
    )?;
    Ok(purged)
}

/// Walks the outbox from [`PURGE_MARK_KEY`] and purges the messages that finished soon
/// after they were created ([`Message::purged_in_outbox_order`]) once their retention
/// ended. Outbox order is creation order, and those messages finished within
/// [`outbox::PURGED_IN_OUTBOX_ORDER_WITHIN`] of it, so the walk stops at the first such
/// message not yet due and purges none later than that. It stops as well at a pending
/// message that may still finish so (younger than [`PENDING_HOLD`]) and at a slot
/// reserved but not written, for [`EMPTY_SLOT_GRACE`]; it passes spent slots (a
/// resent message moved on), purged messages, and messages with an entry of their own
/// in [`retention_log`]. Purging is idempotent: two walks at once are safe, and a
/// stale mark only means reading again.
fn purge_in_outbox_order<S: KeyValue, O>(ctx: &Ctx<'_, S, O>) -> Result<Purged, StoreError> {
    let store = ctx.store;
    let now = ctx.clock.now();
    let stored: Option<PurgeMark> = get_json(store, PURGE_MARK_KEY)?;
    let mark = stored.clone().unwrap_or(PurgeMark { slot: 1, blocked: None });
    let last = outbox().last_slot(store)?;
    let mut purged = Purged::default();
    let mut stop: Option<PurgeMark> = None;
    let mut from = mark.slot.max(1);
    'pages: while from <= last {
        let to = (from + PAGE - 1).min(last);
        let entries: HashMap<u64, MessageId> = outbox()
            .read(store, from, to)?
            .into_iter()
            .filter_map(|(slot, v)| serde_json::from_slice(&v).ok().map(|id| (slot, id)))
            .collect();
        let ids: Vec<MessageId> = entries.values().cloned().collect();
        let messages: HashMap<MessageId, Message> =
            outbox::load_many(store, &ids)?.into_iter().map(|d| (d.data.id.clone(), d.data)).collect();
        for slot in from..=to {
            let Some(id) = entries.get(&slot) else {
                let since = match mark.blocked {
                    Some((s, since)) if s == slot => since,
                    _ => now,
                };
                if since.until(now) < EMPTY_SLOT_GRACE {
                    stop = Some(PurgeMark { slot, blocked: Some((slot, since)) });
                    break 'pages;
                }
                continue;
            };
            let Some(m) = messages.get(id) else { continue };
            if m.outbox_slot != slot {
                continue;
            }
            let finished_at = match m.finished_at {
                Some(at) if m.status != MessageStatus::Pending => at,
                _ if now < m.created_at + PENDING_HOLD => {
                    stop = Some(PurgeMark { slot, blocked: None });
                    break 'pages;
                }
                _ => continue,
            };
            if !m.purged_in_outbox_order(finished_at) {
                continue;
            }
            if finished_at + ctx.config.retention > now || u64::from(purged.messages) >= PURGE_BATCH {
                stop = Some(PurgeMark { slot, blocked: None });
                break 'pages;
            }
            if purge_message(store, id, finished_at, &mut purged)? {
                purged.messages += 1;
            }
        }
        from = to + 1;
    }
    let next = stop.unwrap_or(PurgeMark { slot: from.max(mark.slot), blocked: None });
    if stored.as_ref() != Some(&next) {
        store.set(PURGE_MARK_KEY, &to_json(&next))?;
    }
    Ok(purged)
}

/// Purges message `id` if it is still the message that finished at `finished_at`.
fn purge_message<S: KeyValue>(
    store: &S,
    id: &MessageId,
    finished_at: Timestamp,
    purged: &mut Purged,
) -> Result<bool, StoreError> {
    let Some(doc) = outbox::load(store, id)? else { return Ok(false) };
    let m: Message = doc.data;
    if m.status == MessageStatus::Pending || m.finished_at != Some(finished_at) {
        return Ok(false);
    }
    let attempts = attempts_log(id);
    let logged = attempts.last_slot(store)?.max(u64::from(m.attempts));
    let mut keys = attempts.all_keys(logged.min(crate::core::delivery::MAX_LOGGED_ATTEMPTS));
    keys.push(outbox().key(m.outbox_slot));
    keys.extend(m.spent_outbox_slots.iter().map(|s| outbox().key(*s)));
    if m.sub_slot > 0 {
        keys.push(subscription::messages_log(&m.subscription).key(m.sub_slot));
    }
    store.delete_many(&keys)?;
    store.delete(&outbox::message_key(id))?;
    // The event goes with its last message: checked after this one is gone, so of two
    // sweeps purging an event's last two messages at once, the later one sees both gone.
    if let Some(event) = &m.event_id {
        if let Some(record) = get_json::<_, EventRecord>(store, &event_key(event))? {
            if outbox::load_many(store, &record.messages)?.is_empty() {
                store.delete_many(&[event_key(event), event_claim_key(event)])?;
                purged.events += 1;
            }
        }
    }
    Ok(true)
}
