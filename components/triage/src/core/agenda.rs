//! An organisation's agenda: its open check-ins across cases, oldest due first, read
//! from index lists (never by reading every case), and the sweep's walk that announces
//! them due and overdue.
//!
//! Two kinds of lists per organisation ([`crate::core::index`]):
//! - a day list `…/check-ins/on/<YYYY-MM-DD>` per due date, of check-ins not yet
//!   announced due. The sweep walks the days from its day mark (`check-ins/<org>/day`
//!   in `triage/sweep/marks`, never later than yesterday) to today;
//! - the due list `…/check-ins/due` of check-ins announced due and still open, walked
//!   from its mark like the unacknowledged lists (its open check-ins are held slots).
//!
//! The listing reads the due list (held slots and those past the mark), then the day
//! lists from the sweep's day mark to the
//! day of `due_before`; within each list entries are sorted by (due, slot). A day list
//! nobody wrote to costs one `exists`.

use crate::context::Ctx;
use crate::core::checkins::{announce_check_in_due, announce_check_in_overdue, overdue_level};
use crate::core::index::{self, check_ins_due_log, check_ins_on_log, day_of, IndexEntry};

use crate::core::sweep::{marks, walk_live, with_cases, Found, Moved, SweepReport};
use crate::core::work::work_of;
use serde::Serialize;
use shared::case::CaseRecord;
use shared::domain::{CaseStatus, CheckInPurpose, Organisation, Priority};
use shared::id::{CaseId, CheckInId};
use shared::kv::marks::ListMark;
use shared::kv::slots::SlotLog;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::{Duration, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// How far ahead the agenda may be asked for.
pub const AGENDA_HORIZON: Duration = Duration::days(92);

/// How far back the day walk starts before any sweep has set its mark.
const FIRST_WALK: i64 = 31;

/// The sweep's day mark of an organisation's day lists.
fn day_mark_name(org: Organisation) -> String {
    format!("check-ins/{org}/day")
}

/// The first day whose list may still hold check-ins not yet announced due.
fn first_day(marks: &BTreeMap<String, ListMark>, org: Organisation, now: Timestamp) -> i64 {
    marks.get(&day_mark_name(org)).map(|d| d.mark as i64).unwrap_or(day_of(now) - FIRST_WALK)
}

/// Where a page of the agenda starts: in list `list` (0 = the due list, else a day),
/// after the entry with this due time and slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgendaCursor {
    pub list: i64,
    pub due: i64,
    pub slot: u64,
}

impl AgendaCursor {
    /// Parses the text form of [`AgendaCursor::encode`].
    pub fn parse(text: &str) -> Option<AgendaCursor> {
        let (list, rest) = text.strip_prefix('l')?.split_once('d')?;
        let (due, slot) = rest.split_once('s')?;
        Some(AgendaCursor { list: list.parse().ok()?, due: due.parse().ok()?, slot: slot.parse().ok()? })
    }

    fn encode(&self) -> String {
        format!("l{}d{}s{}", self.list, self.due, self.slot)
    }
}

/// A validated agenda query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaQuery {
    /// Only check-ins due before this (default: now, i.e. what is due).
    pub due_before: Timestamp,
    pub limit: u64,
    pub cursor: Option<AgendaCursor>,
}

/// An open check-in on the agenda (no note: read the case for that).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgendaItem {
    pub case_id: CaseId,
    pub check_in_id: CheckInId,
    pub purpose: CheckInPurpose,
    pub due_at: Timestamp,
    /// Announced due by the sweep.
    pub fell_due: bool,
    pub overdue_level: u32,
    pub case_status: CaseStatus,
    pub priority: Priority,
}

/// A page of the agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgendaPage {
    pub check_ins: Vec<AgendaItem>,
    pub next_cursor: Option<String>,
}

/// The agenda item an entry stands for, if the case still holds it and it is open.
fn item(record: &CaseRecord, org: Organisation, log: &str, slot: u64, entry: &IndexEntry) -> Option<AgendaItem> {
    let assessment = record.assessment.as_ref().filter(|a| a.organisation == org)?;
    if !record.status.is_open() || !index::holds(record, log, slot) {
        return None;
    }
    let work = work_of(record);
    let check_in = work.check_ins.iter().find(|c| Some(&c.id) == entry.check_in.as_ref() && c.is_open())?;
    Some(AgendaItem {
        case_id: record.id.clone(),
        check_in_id: check_in.id.clone(),
        purpose: check_in.purpose,
        due_at: check_in.due_at,
        fell_due: check_in.fell_due_at.is_some(),
        overdue_level: check_in.overdue_level,
        case_status: record.status,
        priority: assessment.priority,
    })
}

/// The entries of a check-in list with a due time, sorted by (due, slot): the due
/// list's held slots and those past its mark, a day list whole.
fn agenda_entries<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    log: &SlotLog,
    mark: Option<ListMark>,
) -> Result<Vec<(u64, IndexEntry)>, Problem> {
    let last = log.last_slot(ctx.store)?;
    let mark = mark.unwrap_or_default();
    let slots: Vec<u64> = mark.held.keys().copied().chain(mark.mark + 1..=last).collect();
    let mut entries: Vec<(u64, IndexEntry)> = log
        .read_slots(ctx.store, &slots)?
        .into_iter()
        .filter_map(|(slot, bytes)| serde_json::from_slice::<IndexEntry>(&bytes?).ok().map(|e| (slot, e)))
        .filter(|(_, e)| e.due.is_some() && e.check_in.is_some())
        .collect();
    shared::order::sort_by_key(&mut entries, |(slot, e)| (e.due, *slot));
    Ok(entries)
}

/// One page of the organisation's open check-ins due before `due_before`, oldest
/// due first.
pub fn agenda<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    org: Organisation,
    query: &AgendaQuery,
) -> Result<AgendaPage, Problem> {
    let now = ctx.clock.now();
    let cursors = marks(ctx)?;
    let due_log = check_ins_due_log(org);
    let mut lists: Vec<(i64, String)> = vec![(0, due_log.clone())];
    let last_day = day_of(query.due_before);
    lists.extend((first_day(&cursors, org, now)..=last_day).map(|d| (d, check_ins_on_log(org, d))));
    let mut items = Vec::new();
    for (list, name) in lists {
        if let Some(c) = query.cursor {
            if list != 0 && list < c.list || (c.list != 0 && list == 0) {
                continue;
            }
        }
        let log = SlotLog::new(name.clone());
        let mark = (list == 0).then(|| cursors.get(&due_log).cloned().unwrap_or_default());
        let after = query.cursor.filter(|c| c.list == list).map(|c| (c.due, c.slot));
        let wanted: Vec<(u64, IndexEntry)> = agenda_entries(ctx, &log, mark)?
            .into_iter()
            .filter(|(slot, e)| {
                let due = e.due.expect("filtered").unix_millis();
                after.is_none_or(|a| (due, *slot) > a) && e.due < Some(query.due_before)
            })
            .collect();
        // Read the cases a page still needs, chunk by chunk (each key is a get).
        for chunk in wanted.chunks(query.limit as usize) {
            let cases = index::read_cases(ctx.store, chunk.iter().map(|(_, e)| e.case_id.clone()))?;
            for (slot, entry) in chunk {
                let Some(doc) = cases.get(&entry.case_id) else { continue };
                if let Some(found) = item(&doc.data, org, &name, *slot, entry) {
                    items.push(found);
                    if items.len() as u64 >= query.limit {
                        let due = entry.due.expect("filtered").unix_millis();
                        let next = AgendaCursor { list, due, slot: *slot };
                        return Ok(AgendaPage { check_ins: items, next_cursor: Some(next.encode()) });
                    }
                }
            }
        }
    }
    Ok(AgendaPage { check_ins: items, next_cursor: None })
}

/// The sweep's part: announces due the check-ins whose time has come, and overdue
/// those still open an escalation interval (or another) after that.
pub(crate) fn sweep_check_ins<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    cursors: &BTreeMap<String, ListMark>,
    moved: &mut Moved,
    report: &mut SweepReport,
) -> Result<(), Problem> {
    let now = ctx.clock.now();
    let today = day_of(now);
    for org in Organisation::ALL {
        let mut first_waiting = None;
        for day in first_day(cursors, *org, now)..=today {
            let name = check_ins_on_log(*org, day);
            let log = SlotLog::new(name.clone());
            let last = log.last_slot(ctx.store)?;
            if last == 0 {
                continue;
            }
            let found = log.read_slots(ctx.store, &(1..=last).collect::<Vec<_>>())?;
            for (slot, found) in with_cases(ctx, found)? {
                let Found::Entry(entry, Some(record)) = found else { continue };
                let Some(check_in) = entry.check_in.as_ref() else { continue };
                if !index::holds(&record, &name, slot) {
                    continue;
                }
                let waiting = match entry.due {
                    Some(due) if due <= now => match announce_check_in_due(ctx, &entry.case_id, check_in) {
                        Ok(true) => {
                            report.check_ins_due += 1;
                            false
                        }
                        Ok(false) => false,
                        Err(_) => {
                            report.failures += 1;
                            true
                        }
                    },
                    _ => true,
                };
                if waiting {
                    first_waiting = first_waiting.or(Some(day));
                }
            }
        }
        // Never past yesterday: a check-in handed over just before midnight may
        // still join yesterday's list of its new organisation.
        let mark = first_waiting.unwrap_or(today).min(today - 1).max(0);
        let day_mark = ListMark { mark: mark as u64, held: BTreeMap::new() };
        moved.insert(day_mark_name(*org), (day_mark, BTreeSet::new()));

        // An entry stays while its check-in is open.
        walk_live(ctx, cursors, moved, &check_ins_due_log(*org), |entry, record| {
            let Some(check_in) = entry.check_in.as_ref() else { return };
            if overdue_level(ctx, record, &work_of(record), check_in, now).is_none() {
                return;
            }
            match announce_check_in_overdue(ctx, &entry.case_id, check_in) {
                Ok(true) => report.check_ins_overdue += 1,
                Ok(false) => {}
                Err(_) => report.failures += 1,
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_text_is_refused() {
        let c = AgendaCursor { list: 20_500, due: 1_771_000_000_000, slot: 7 };
        assert_eq!(AgendaCursor::parse(&c.encode()), Some(c));
        assert_eq!(AgendaCursor::parse("l0s5"), None);
    }
}
