//! Retention: a finished message (delivered or failed) is purged
//! `notification_retention_days` (default 30, never more than `case_retention_days`)
//! after it finished, with its attempt log and list entries, and an event's record and
//! dedup claim go with its last message. The payload names the case: nothing of a case
//! may outlive the case's own retention.
//!
//! Found without listing keys: when a message finishes, a [`Finished`] entry is
//! appended to the slot log `ntf/retention` (an event that matched no subscription gets
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
use serde::{Deserialize, Serialize};
use shared::id::{EventId, MessageId};
use shared::kv::expiry::DueList;
use shared::kv::marks::{MarkDoc, Outcome};
use shared::kv::slots::SlotLog;
use shared::kv::{get_json, to_json, KeyValue, StoreError};
use shared::time::Timestamp;

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

/// Purges what is due, at most [`PURGE_BATCH`] entries.
pub fn purge_due<S: KeyValue, O>(ctx: &Ctx<'_, S, O>) -> Result<Purged, StoreError> {
    let store = ctx.store;
    let mut purged = Purged::default();
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
