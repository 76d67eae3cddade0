//! Listing an organisation's cases from its index lists, never by reading every case.
//!
//! The query picks the lists to walk (newest slot first in each):
//! - `overdue=true`: the organisation's unacknowledged lists, P1 to P4;
//! - `unread=true`: its list of cases with unread reporter messages;
//! - `sort=urgent`: its priority lists, P1 to P4 (most urgent first, newest first
//!   within a priority);
//! - otherwise (`sort=newest`): its status list if `status` is given, else its priority
//!   list if `priority` is given, else its list of all cases;
//! - `sort=unread_first`: its list of cases with unread reporter messages, then the
//!   `newest` list without those cases.
//!
//! Every entry is checked against the case record (organisation, filters, and that the
//! case still holds the entry), so a stale entry is never shown. A request reads at
//! most [`SCAN_BUDGET`] slots; the cursor says where the next page starts.

use crate::context::Ctx;
use crate::core::index::{self, IndexEntry};
use crate::core::work::work_of;
use serde::Serialize;
use shared::case::CaseRecord;
use shared::domain::{CaseStatus, Organisation, Priority, RegionCode};
use shared::id::CaseId;
use shared::kv::slots::SlotLog;
use shared::kv::versioned::Versioned;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::Timestamp;

/// Most slots one listing request reads.
pub const SCAN_BUDGET: u64 = 400;
/// Default and largest page size.
pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;

shared::wire_enum!(
    /// How a list is ordered.
    Sort {
        Newest => "newest",
        Urgent => "urgent",
        UnreadFirst => "unread_first",
    }
);

/// A validated listing query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub status: Option<CaseStatus>,
    pub priority: Option<Priority>,
    pub region: Option<RegionCode>,
    pub overdue: Option<bool>,
    /// Only cases with (true) or without (false) unread reporter messages.
    pub unread: Option<bool>,
    pub sort: Sort,
    pub limit: u64,
    pub cursor: Option<Cursor>,
}

impl Default for Query {
    /// Every case of the organisation, newest first, one page of [`DEFAULT_LIMIT`].
    fn default() -> Query {
        Query {
            status: None,
            priority: None,
            region: None,
            overdue: None,
            unread: None,
            sort: Sort::Newest,
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

/// Where a page starts: the list (by position in the query's plan) and the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub list: usize,
    pub slot: u64,
}

impl Query {
    /// The lists to walk, in order.
    pub fn plan(&self, org: Organisation) -> Vec<String> {
        let priorities: Vec<Priority> = match self.priority {
            Some(p) => vec![p],
            None => Priority::ALL.to_vec(),
        };
        if self.overdue == Some(true) {
            return priorities.iter().map(|p| index::unacked_log(org, *p)).collect();
        }
        if self.unread == Some(true) {
            return vec![index::unread_log(org)];
        }
        let newest = match (self.status, self.priority) {
            (Some(status), _) => index::status_log(org, status),
            (None, Some(p)) => index::priority_log(org, p),
            (None, None) => index::all_log(org),
        };
        match self.sort {
            Sort::Urgent => priorities.iter().map(|p| index::priority_log(org, *p)).collect(),
            Sort::Newest => vec![newest],
            Sort::UnreadFirst => vec![index::unread_log(org), newest],
        }
    }

    /// Whether the list at `position` of the plan shows this case: with
    /// `sort=unread_first`, the lists after the first leave out what it showed.
    fn shows_at(&self, position: usize, record: &CaseRecord) -> bool {
        let shown_first = self.sort == Sort::UnreadFirst && self.unread != Some(true) && self.overdue != Some(true);
        !(shown_first && position > 0 && has_unread(record))
    }

    fn admits(&self, record: &CaseRecord, org: Organisation, now: Timestamp) -> bool {
        let Some(a) = &record.assessment else { return false };
        let overdue = record.status.is_open() && record.acknowledged_at.is_none() && a.first_contact_due <= now;
        a.organisation == org
            && self.status.is_none_or(|s| s == record.status)
            && self.priority.is_none_or(|p| p == a.priority)
            && self.region.is_none_or(|r| r == record.facts.region)
            && self.overdue.is_none_or(|o| o == overdue)
            && self.unread.is_none_or(|u| u == has_unread(record))
    }
}

fn has_unread(record: &CaseRecord) -> bool {
    work_of(record).conversation.unread_count() > 0
}

impl Cursor {
    /// Parses the text form of [`Cursor::encode`].
    pub fn parse(text: &str) -> Option<Cursor> {
        let (list, slot) = text.strip_prefix('l')?.split_once('s')?;
        Some(Cursor { list: list.parse().ok()?, slot: slot.parse().ok()? })
    }

    /// The opaque text form.
    pub fn encode(&self) -> String {
        format!("l{}s{}", self.list, self.slot)
    }
}

/// A case in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseSummary {
    pub case_id: CaseId,
    pub status: CaseStatus,
    pub priority: Priority,
    pub region: RegionCode,
    pub received_at: Timestamp,
    pub first_contact_due: Timestamp,
    pub acknowledged: bool,
    pub overdue: bool,
    pub escalation_level: u32,
    pub unread_reporter_messages: u32,
    pub last_reporter_message_at: Option<Timestamp>,
    pub version: u64,
}

/// A page of cases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    pub cases: Vec<CaseSummary>,
    pub next_cursor: Option<String>,
}

/// One page of the organisation's cases.
pub fn list<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, org: Organisation, query: &Query) -> Result<Page, Problem> {
    let plan = query.plan(org);
    let now = ctx.clock.now();
    let mut cases = Vec::new();
    let mut budget = SCAN_BUDGET;
    let mut at = query.cursor.unwrap_or(Cursor { list: 0, slot: u64::MAX });
    while at.list < plan.len() {
        let log = SlotLog::new(plan[at.list].clone());
        // Slots only grow, so a cursor's slot is never past the list's end: the
        // counter is read once per list, on entering it.
        let top = if at.slot == u64::MAX { log.last_slot(ctx.store)? } else { at.slot };
        if top == 0 {
            at = Cursor { list: at.list + 1, slot: u64::MAX };
            continue;
        }
        if budget == 0 || cases.len() as u64 >= query.limit {
            break;
        }
        // Read newest first only as many slots as the page still needs: every key is
        // its own read on Spin (and a round trip on Redis). Entries that turn out
        // stale or filtered out are made up by the next chunk.
        let chunk = (query.limit - cases.len() as u64).clamp(1, 100).min(budget);
        let from = top.saturating_sub(chunk - 1).max(1);
        budget -= top - from + 1;
        let entries = log.read(ctx.store, from, top)?;
        let found: Vec<(u64, IndexEntry)> = entries
            .into_iter()
            .rev()
            .filter_map(|(slot, bytes)| serde_json::from_slice(&bytes).ok().map(|e| (slot, e)))
            .collect();
        let docs = index::read_cases(ctx.store, found.iter().map(|(_, e)| e.case_id.clone()))?;
        let mut next = from - 1;
        for (slot, entry) in found {
            if cases.len() as u64 >= query.limit {
                next = slot;
                break;
            }
            let Some(doc) = docs.get(&entry.case_id) else { continue };
            if index::holds(&doc.data, &plan[at.list], slot)
                && query.admits(&doc.data, org, now)
                && query.shows_at(at.list, &doc.data)
            {
                cases.push(summary(doc, now));
            }
        }
        at =
            if next == 0 { Cursor { list: at.list + 1, slot: u64::MAX } } else { Cursor { list: at.list, slot: next } };
    }
    let next_cursor = (at.list < plan.len()).then(|| at.encode());
    Ok(Page { cases, next_cursor })
}

fn summary(doc: &Versioned<CaseRecord>, now: Timestamp) -> CaseSummary {
    let record = &doc.data;
    let a = record.assessment.as_ref().expect("listed cases are triaged");
    let work = work_of(record);
    CaseSummary {
        case_id: record.id.clone(),
        status: record.status,
        priority: a.priority,
        region: record.facts.region,
        received_at: record.received_at,
        first_contact_due: a.first_contact_due,
        acknowledged: record.acknowledged_at.is_some(),
        overdue: record.status.is_open() && record.acknowledged_at.is_none() && a.first_contact_due <= now,
        escalation_level: work.escalation_level,
        unread_reporter_messages: work.conversation.unread_count(),
        last_reporter_message_at: work.conversation.last_reporter_message_at,
        version: doc.version,
    }
}
