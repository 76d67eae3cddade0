//! The one-off rebuild: counts what cases from before counting began say about their
//! past, a bounded batch per call, walking each organisation's list of cases.
//!
//! Each case is counted once: the rebuild commits `rebuilt` on the case (the swap
//! decides who counts it), and counts only what happened before the case's
//! `counted_from` (what came after was counted live). What a record no longer tells
//! cannot be rebuilt: handovers and reopens, and escalations other than the last level.

use super::layout::{ack_bucket, EventRow, Month, Table};
use crate::context::Ctx;
use crate::core::audit::By;
use crate::core::commit::{commit, Base, Decision};
use crate::core::index::{all_log, IndexEntry};
use serde::Serialize;
use shared::case::CaseRecord;
use shared::domain::{CaseStatus, Organisation};
use shared::kv::slots::SlotLog;
use shared::kv::{read_counter, KeyValue};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::Timestamp;

/// How many list entries one call reads at most.
pub const REBUILD_BATCH: u64 = 100;

/// What one call did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    /// Cases whose past this call counted.
    pub cases_counted: u64,
    /// List entries read (cases counted before, or gone, are skipped).
    pub entries_read: u64,
    /// Every organisation's list is walked to its end: call again only after new
    /// cases from before counting began appear (they do not).
    pub done: bool,
}

fn progress_key(org: Organisation) -> String {
    format!("stats/rebuild/{org}")
}

/// The counter keys for what `record` tells about its past before `cutoff` (all of it
/// without one), as live counting would have counted it (at the case's present
/// organisation and priority).
pub fn past_tallies(record: &CaseRecord, cutoff: Option<Timestamp>) -> Vec<String> {
    let Some(a) = record.assessment.as_ref() else { return Vec::new() };
    let before_cutoff = |at: &Timestamp| cutoff.is_none_or(|c| *at < c);
    let (org, p) = (a.organisation, a.priority);
    let cell = |at: Timestamp, table: Table, row: &str| super::layout::key(Month::of(at), org, table, row, p);
    let mut keys = Vec::new();
    if before_cutoff(&a.triaged_at) {
        let before = CaseRecord { assessment: None, acknowledged_at: None, ..record.clone() };
        let triaged = CaseRecord { acknowledged_at: None, ..record.clone() };
        keys.extend(super::tallies(&before, &triaged, &[], a.triaged_at));
    }
    if let Some(at) = record.acknowledged_at.filter(before_cutoff) {
        let row = if at <= a.first_contact_due { EventRow::AcknowledgedWithin } else { EventRow::AcknowledgedLate };
        keys.push(cell(at, Table::Event, row.as_str()));
        keys.push(cell(at, Table::Ack, ack_bucket(a.triaged_at.until(at).whole_minutes())));
    }
    let work = crate::core::work::work_of(record);
    if let Some(at) = work.last_escalated_at.filter(before_cutoff) {
        for _ in 0..work.escalation_level {
            keys.push(cell(at, Table::Event, EventRow::Escalated.as_str()));
        }
    }
    if let Some(t) = work.last_transition.as_ref().filter(|t| t.to == CaseStatus::Closed && before_cutoff(&t.at)) {
        if record.status == CaseStatus::Closed {
            keys.push(cell(t.at, Table::Event, EventRow::Closed.as_str()));
        }
    }
    keys
}

/// Counts the past of up to [`REBUILD_BATCH`] cases' list entries. Run one call at a
/// time, until `done`.
pub fn rebuild_stats<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>) -> Result<RebuildReport, Problem> {
    let mut report = RebuildReport { cases_counted: 0, entries_read: 0, done: true };
    for org in Organisation::ALL {
        let list = SlotLog::new(all_log(*org));
        let last = list.last_slot(ctx.store)?;
        let progress = progress_key(*org);
        let from = read_counter(ctx.store, &progress)?.max(0) as u64 + 1;
        if from > last {
            continue;
        }
        let budget = REBUILD_BATCH - report.entries_read;
        if budget == 0 {
            report.done = false;
            break;
        }
        let to = last.min(from + budget - 1);
        for (_, bytes) in list.read(ctx.store, from, to)? {
            let Ok(entry) = serde_json::from_slice::<IndexEntry>(&bytes) else { continue };
            if rebuild_case(ctx, &entry.case_id)? {
                report.cases_counted += 1;
            }
        }
        report.entries_read += to + 1 - from;
        ctx.store.increment(&progress, (to + 1 - from) as i64)?;
        if to < last {
            report.done = false;
        }
    }
    Ok(report)
}

/// Counts one case's past, once; false if it was counted already or is gone.
fn rebuild_case<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, id: &shared::id::CaseId) -> Result<bool, Problem> {
    // Live counting began with the first change after it was deployed; a case
    // unchanged since has all its past to count.
    let mut counted_from = None;
    let committed = match commit(ctx, id, None, Base::Latest, &By::system(), |_, work, _| {
        if work.stats.rebuilt {
            return Ok(None);
        }
        counted_from = work.stats.counted_from;
        work.stats.rebuilt = true;
        Ok(Some(Decision::new("stats_rebuilt", Vec::new())))
    }) {
        Ok(c) => c,
        // Purged or being purged: nothing left to count.
        Err(p) if p.kind.status() == 404 => return Ok(false),
        Err(p) => return Err(p),
    };
    if !committed.changed {
        return Ok(false);
    }
    for key in past_tallies(&committed.doc.data, counted_from) {
        ctx.store.increment(&key, 1)?;
    }
    Ok(true)
}
