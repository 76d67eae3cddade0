//! The sweep: walks the outbox from its head and makes every due retry, then purges
//! finished messages whose retention has ended ([`crate::core::retention`]).
//!
//! Work is found without listing keys: the outbox is a `SlotLog` of message ids and
//! `ntf/outbox/head` remembers the first slot that may still hold work. Each slot's
//! message is read (in pages, with `get_many`); due ones get an attempt, which takes
//! its own lease by CAS, so sweeps may overlap freely. The head only moves past
//! finished messages, and past an empty slot (reserved by a write that failed) only
//! once it has stayed empty for [`EMPTY_SLOT_GRACE`], so a message being written right
//! now is never skipped. A stale head (two sweeps writing it) only means re-reading.

use crate::context::Ctx;
use crate::core::delivery::{self, Outcome, Tried, Trigger};
use crate::core::outbox::{self, load_many, outbox, MessageStatus, OUTBOX_HEAD_KEY};
use serde::{Deserialize, Serialize};
use shared::id::MessageId;
use shared::kv::{get_json, to_json, KeyValue};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::{Duration, Timestamp};
use std::collections::HashMap;

/// Slots read per `get_many`.
const PAGE: u64 = 100;

/// How long a reserved but empty outbox slot holds the head back.
pub const EMPTY_SLOT_GRACE: Duration = Duration::minutes(10);

/// Where the sweep starts, as stored at [`OUTBOX_HEAD_KEY`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    slot: u64,
    /// An empty slot at the head, and since when it has been seen empty.
    blocked: Option<(u64, Timestamp)>,
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub scanned: u64,
    pub attempted: u32,
    pub delivered: u32,
    pub retrying: u32,
    pub failed: u32,
    /// Due messages another sender was already at, or abandoned ones.
    pub skipped: u32,
    /// The batch limit was reached: call again.
    pub more: bool,
    pub head: u64,
    /// Finished messages purged because their retention ended.
    pub purged_messages: u32,
    /// Event records (and dedup claims) purged with their last message.
    pub purged_events: u32,
}

/// Runs due retries, at most `config.sweep_batch` attempts.
pub fn sweep<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>) -> Result<SweepReport, Problem> {
    let now = ctx.clock.now();
    let stored: Option<Head> = get_json(ctx.store, OUTBOX_HEAD_KEY)?;
    let head = stored.clone().unwrap_or(Head { slot: 1, blocked: None });
    let last = outbox().last_slot(ctx.store)?;
    let mut report = SweepReport::default();
    let mut first_open: Option<u64> = None;
    let mut blocked = None;
    let mut from = head.slot.max(1);
    'pages: while from <= last {
        let to = (from + PAGE - 1).min(last);
        let entries: HashMap<u64, MessageId> = outbox()
            .read(ctx.store, from, to)?
            .into_iter()
            .filter_map(|(slot, v)| serde_json::from_slice(&v).ok().map(|id| (slot, id)))
            .collect();
        let ids: Vec<MessageId> = entries.values().cloned().collect();
        let messages: HashMap<MessageId, outbox::Message> =
            load_many(ctx.store, &ids)?.into_iter().map(|d| (d.data.id.clone(), d.data)).collect();
        for slot in from..=to {
            report.scanned += 1;
            let Some(id) = entries.get(&slot) else {
                // Reserved but not (yet) written.
                let since = match head.blocked {
                    Some((s, since)) if s == slot => since,
                    _ => now,
                };
                if first_open.is_none() && since.until(now) < EMPTY_SLOT_GRACE {
                    first_open = Some(slot);
                    blocked = Some((slot, since));
                }
                continue;
            };
            let Some(message) = messages.get(id) else { continue };
            // A resent message has moved on to a later slot: this entry is spent.
            if message.status != MessageStatus::Pending || message.outbox_slot != slot {
                continue;
            }
            first_open.get_or_insert(slot);
            if !message.is_due(now) {
                continue;
            }
            if report.attempted >= ctx.config.sweep_batch {
                report.more = true;
                report.scanned -= 1;
                break 'pages;
            }
            let tried = delivery::attempt(ctx, id, Trigger::Retry, ctx.config.retry_timeout);
            match tried {
                Err(problem) => {
                    // One message's trouble (a store hiccup, an unopenable secret) must
                    // not stop the others; its lease expires and it is tried again.
                    shared::log::warn(
                        crate::context::COMPONENT,
                        ctx.correlation_id,
                        "sweep_attempt",
                        &format!("{id}: {problem:?}"),
                    );
                    report.skipped += 1;
                }
                Ok(Tried::Attempted(a)) => {
                    report.attempted += 1;
                    match a.outcome {
                        Outcome::Delivered => report.delivered += 1,
                        Outcome::Retrying => report.retrying += 1,
                        Outcome::Failed => report.failed += 1,
                    }
                }
                Ok(Tried::Skipped | Tried::Abandoned(_)) => report.skipped += 1,
            }
        }
        from = to + 1;
    }
    let next = Head { slot: first_open.unwrap_or(from), blocked };
    report.head = next.slot;
    if stored.as_ref() != Some(&next) {
        ctx.store.set(OUTBOX_HEAD_KEY, &to_json(&next))?;
    }
    let purged = crate::core::retention::purge_due(ctx)?;
    report.purged_messages = purged.messages;
    report.purged_events = purged.events;
    Ok(report)
}
