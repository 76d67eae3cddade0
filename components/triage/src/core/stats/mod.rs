//! Programme figures: counters kept as cases change, read back by cell, published only
//! with small cells suppressed (see `docs/triage.md`, "Programme figures").
//!
//! Layout: one counter key per cell, `stats/<yyyy-mm>/<organisation>/<table>/<row>/<priority>`.
//! Every table is a two-dimension marginal (something × priority) of one month and one
//! organisation, never an eight-dimension cube, so a query reads a fixed number of keys
//! per month and organisation ([`CELLS_PER_UNIT`]), whatever the number of cases. The
//! counters name no case and are not purged with one.

pub mod answer;
pub mod layout;
pub mod query;
pub mod rebuild;
pub mod suppress;

use crate::context::{Ctx, COMPONENT};
pub use layout::CELLS_PER_UNIT;
use layout::{ack_bucket, EventRow, Month, Table};
use shared::case::CaseRecord;
use shared::domain::{Organisation, Priority};
use shared::events::EventType;
use shared::kv::KeyValue;
use shared::time::Timestamp;

/// What the figures counted of a case, kept in its bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatsMarks {
    /// Since when every change of this case is counted as it commits: set by the first
    /// change after counting began. What happened before is the rebuild's to count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_from: Option<Timestamp>,
    /// The rebuild has counted what happened before `counted_from`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rebuilt: bool,
}

impl StatsMarks {
    /// Nothing counted yet (a case from before counting began, never changed since).
    pub fn is_empty(&self) -> bool {
        self.counted_from.is_none() && !self.rebuilt
    }
}

/// Marks a case as counted live from `now` on (the change being committed included).
pub fn mark_counted(work: &mut crate::core::work::CaseWork, now: Timestamp) {
    work.stats.counted_from.get_or_insert(now);
}

/// The counter keys one committed change adds one to, decided from the record before
/// and after the change and the events it emitted (each transition counts once: a
/// change decided again on a fresher record decides "nothing to do" for a transition
/// already made).
pub fn tallies(before: &CaseRecord, after: &CaseRecord, kinds: &[EventType], now: Timestamp) -> Vec<String> {
    let Some(a) = after.assessment.as_ref() else { return Vec::new() };
    let month = Month::of(now);
    let (org, p) = (a.organisation, a.priority);
    let cell = |org: Organisation, table: Table, row: &str, p: Priority| layout::key(month, org, table, row, p);
    let event = |org, row: EventRow, p| cell(org, Table::Event, row.as_str(), p);
    let mut keys = Vec::new();
    if before.assessment.is_none() {
        let f = &after.facts;
        keys.push(event(org, EventRow::Triaged, p));
        keys.push(cell(org, Table::Role, f.role.as_str(), p));
        keys.push(cell(org, Table::Region, f.region.as_str(), p));
        keys.push(cell(org, Table::Request, f.request_kind.as_str(), p));
        let mut kinds_seen = f.incident_kinds.clone();
        shared::order::sort_by(&mut kinds_seen, Ord::cmp);
        kinds_seen.dedup();
        keys.extend(kinds_seen.iter().map(|k| cell(org, Table::Incident, k.as_str(), p)));
    }
    if let (None, Some(at)) = (before.acknowledged_at, after.acknowledged_at) {
        let within = at <= a.first_contact_due;
        keys.push(event(org, if within { EventRow::AcknowledgedWithin } else { EventRow::AcknowledgedLate }, p));
        let minutes = a.triaged_at.until(at).whole_minutes();
        keys.push(cell(org, Table::Ack, ack_bucket(minutes), p));
    }
    let open_before: Vec<_> = crate::core::work::work_of(before)
        .check_ins
        .into_iter()
        .filter(|c| c.completion.is_none())
        .map(|c| c.id)
        .collect();
    let completed = crate::core::work::work_of(after)
        .check_ins
        .into_iter()
        .filter(|c| c.completion.is_some() && open_before.contains(&c.id))
        .count();
    keys.extend(std::iter::repeat_n(event(org, EventRow::CheckInCompleted, p), completed));
    for kind in kinds {
        match kind {
            EventType::CaseEscalated => keys.push(event(org, EventRow::Escalated, p)),
            EventType::CaseClosed => keys.push(event(org, EventRow::Closed, p)),
            EventType::CaseReopened => keys.push(event(org, EventRow::Reopened, p)),
            EventType::CaseHandedOver => {
                keys.push(event(org, EventRow::HandedOverIn, p));
                if let Some(from) = before.assessment.as_ref() {
                    keys.push(event(from.organisation, EventRow::HandedOverOut, from.priority));
                }
            }
            _ => {}
        }
    }
    keys
}

/// Where the time to the first confidant message starts: the assignment, or the triage
/// when no one was assigned before the message.
pub fn reply_start(record: &CaseRecord) -> Timestamp {
    let assigned = crate::core::work::work_of(record).assignment.map(|a| a.at);
    let triaged = record.assessment.as_ref().map_or(record.received_at, |a| a.triaged_at);
    assigned.unwrap_or(triaged)
}

/// Counts a confidant message written to `slot` at `at` in `reply`, if it is the
/// first confidant message of the case. A message does not change the case (its
/// version stays, so clients' ETags do too): the message log itself tells whether
/// an earlier confidant message exists. Best effort, like [`count`]; two first
/// messages written at the same moment may both count.
pub fn count_first_reply<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, record: &CaseRecord, slot: u64, at: Timestamp) {
    let Some(a) = record.assessment.as_ref() else { return };
    let earlier = match shared::case::messages_log(&record.id).read(ctx.store, 1, slot.saturating_sub(1)) {
        Ok(entries) => entries,
        Err(_) => return stats_lost(ctx.correlation_id),
    };
    let confidant_wrote = earlier.iter().any(|(_, bytes)| {
        serde_json::from_slice::<shared::case::CaseMessage>(bytes)
            .is_ok_and(|m| m.author == shared::case::MessageAuthor::Confidant)
    });
    if confidant_wrote {
        return;
    }
    let bucket = ack_bucket(reply_start(record).until(at).whole_minutes());
    let key = layout::key(Month::of(at), a.organisation, Table::Reply, bucket, a.priority);
    if ctx.store.increment(&key, 1).is_err() {
        stats_lost(ctx.correlation_id);
    }
}

/// Logs that a counter was not added to (no id: nothing to tie it to a case).
fn stats_lost(correlation_id: &str) {
    shared::log::warn(COMPONENT, correlation_id, "stats_lost", "a programme counter could not be added to");
}

/// Adds the committed change's tallies to the counters. Best effort after the commit
/// point: a store failure here loses these counts (never counts twice), and is logged
/// without any id; the docs say what can be off.
pub fn count<S: KeyValue>(
    store: &S,
    before: &CaseRecord,
    after: &CaseRecord,
    kinds: &[EventType],
    now: Timestamp,
    correlation_id: &str,
) {
    for key in tallies(before, after, kinds, now) {
        if store.increment(&key, 1).is_err() {
            stats_lost(correlation_id);
        }
    }
}
