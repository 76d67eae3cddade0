//! Index lists, so that listing, escalation and the sweep never read every case.
//!
//! Each list is a [`SlotLog`] of [`IndexEntry`]s under `triage/idx/…`:
//! - `triage/idx/<org>/all`: every case of the organisation (newest = highest slot);
//! - `triage/idx/<org>/status/<status>`: the cases in one status;
//! - `triage/idx/<org>/priority/<P>`: the cases of one priority;
//! - `triage/idx/<org>/unacked/<P>`: open cases not yet acknowledged, with their
//!   first-contact deadline (overdue filter, escalation);
//! - `triage/idx/<org>/unread`: cases with reporter messages no confidant has read;
//! - `triage/idx/<org>/check-ins/on/<YYYY-MM-DD>`: open check-ins of open cases due
//!   that day (UTC) and not yet announced due, one entry per check-in;
//! - `triage/idx/<org>/check-ins/due`: open check-ins announced due (`case.check_in_due`)
//!   and not yet completed (see [`crate::core::agenda`]);
//! - `triage/idx/rematch`: cases triaged while the directory was down.
//!
//! A case's wanted lists follow from its record ([`wanted`]); the record remembers the
//! slots it holds ([`HeldSlot`]). A change reserves slots for lists it joins and writes
//! their entries *before* its compare-and-swap, and deletes the entries of lists it
//! left after. Entries are therefore hints: readers always check the record, and an
//! entry the record does not hold is skipped (and removed by whoever notices).

use crate::core::work::{work_of, HeldSlot};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::case::{case_key, CaseRecord};
use shared::domain::{Organisation, Priority};
use shared::id::{CaseId, CheckInId};
use shared::kv::slots::SlotLog;
use shared::kv::versioned::Versioned;
use shared::kv::{KeyValue, StoreError};
use shared::time::Timestamp;
use std::collections::HashMap;

/// An index entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub case_id: CaseId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    /// The check-in an entry of a check-in list stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_in: Option<CheckInId>,
}

/// Every case of an organisation.
pub fn all_log(org: Organisation) -> String {
    format!("triage/idx/{org}/all")
}

/// The cases of an organisation in one status.
pub fn status_log(org: Organisation, status: shared::domain::CaseStatus) -> String {
    format!("triage/idx/{org}/status/{status}")
}

/// The cases of an organisation with one priority.
pub fn priority_log(org: Organisation, priority: Priority) -> String {
    format!("triage/idx/{org}/priority/{priority}")
}

/// The open, unacknowledged cases of an organisation with one priority.
pub fn unacked_log(org: Organisation, priority: Priority) -> String {
    format!("triage/idx/{org}/unacked/{priority}")
}

/// The cases of an organisation with reporter messages no confidant has marked read.
pub fn unread_log(org: Organisation) -> String {
    format!("triage/idx/{org}/unread")
}

/// The open check-ins of an organisation due on `day` (days since the Unix epoch, UTC)
/// that the sweep has not yet announced due.
pub fn check_ins_on_log(org: Organisation, day: i64) -> String {
    let date = day_start(day).to_string();
    format!("triage/idx/{org}/check-ins/on/{}", &date[..10])
}

/// The open check-ins of an organisation that fell due and are not yet completed.
pub fn check_ins_due_log(org: Organisation) -> String {
    format!("triage/idx/{org}/check-ins/due")
}

const DAY_MILLIS: i64 = 86_400_000;

/// The day (since the Unix epoch, UTC) an instant falls on.
pub fn day_of(t: Timestamp) -> i64 {
    t.unix_millis().div_euclid(DAY_MILLIS)
}

/// Midnight (UTC) starting `day`.
pub fn day_start(day: i64) -> Timestamp {
    Timestamp::from_unix_millis(day * DAY_MILLIS)
}

/// Cases waiting to be matched again.
pub const REMATCH_LOG: &str = "triage/idx/rematch";

/// An entry a case should have: the list, the deadline it carries, and for a
/// check-in list the check-in it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub log: String,
    pub due: Option<Timestamp>,
    pub check_in: Option<CheckInId>,
}

impl Wanted {
    fn plain(log: String, due: Option<Timestamp>) -> Wanted {
        Wanted { log, due, check_in: None }
    }

    fn is_held_as(&self, held: &HeldSlot) -> bool {
        held.log == self.log && held.due == self.due && held.check_in == self.check_in
    }
}

/// The entries a case should have.
pub fn wanted(record: &CaseRecord) -> Vec<Wanted> {
    let Some(assessment) = &record.assessment else {
        return Vec::new();
    };
    let org = assessment.organisation;
    let mut lists = vec![
        Wanted::plain(all_log(org), None),
        Wanted::plain(status_log(org, record.status), None),
        Wanted::plain(priority_log(org, assessment.priority), None),
    ];
    if record.status.is_open() && record.acknowledged_at.is_none() {
        lists.push(Wanted::plain(unacked_log(org, assessment.priority), Some(assessment.first_contact_due)));
    }
    let work = work_of(record);
    if work.conversation.unread_count() > 0 {
        lists.push(Wanted::plain(unread_log(org), None));
    }
    if work.rematch {
        lists.push(Wanted::plain(REMATCH_LOG.to_string(), None));
    }
    // A closed case's check-ins wait, unlisted, for a reopen.
    if record.status.is_open() {
        for check_in in work.check_ins.iter().filter(|c| c.is_open()) {
            let log = match check_in.fell_due_at {
                Some(_) => check_ins_due_log(org),
                None => check_ins_on_log(org, day_of(check_in.due_at)),
            };
            lists.push(Wanted { log, due: Some(check_in.due_at), check_in: Some(check_in.id.clone()) });
        }
    }
    lists
}

/// What a change does to the indexes: entries to add, and held slots to let go.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IndexChange {
    pub join: Vec<Wanted>,
    pub leave: Vec<HeldSlot>,
}

/// Compares the entries `after` wants with the slots `held`.
pub fn change(held: &[HeldSlot], after: &CaseRecord) -> IndexChange {
    let wanted = wanted(after);
    let join = wanted.iter().filter(|w| !held.iter().any(|h| w.is_held_as(h))).cloned().collect();
    let leave = held.iter().filter(|h| !wanted.iter().any(|w| w.is_held_as(h))).cloned().collect();
    IndexChange { join, leave }
}

/// The key of a held slot's entry.
pub fn entry_key(held: &HeldSlot) -> String {
    SlotLog::new(held.log.clone()).key(held.slot)
}

/// Reads the cases `ids` name, each key once (Spin's adapter maps a batch answer back by
/// key, so a key asked twice would come back once). Missing or unreadable cases are
/// absent from the map.
pub fn read_cases<S: KeyValue>(
    store: &S,
    ids: impl IntoIterator<Item = CaseId>,
) -> Result<HashMap<CaseId, Versioned<CaseRecord>>, StoreError> {
    read_cases_as(store, ids)
}

/// [`read_cases`], each record decoded as `T`: a view of the stored case document that
/// reads only the fields it names (the listing's), or the whole [`Versioned`] record.
pub fn read_cases_as<S: KeyValue, T: DeserializeOwned>(
    store: &S,
    ids: impl IntoIterator<Item = CaseId>,
) -> Result<HashMap<CaseId, T>, StoreError> {
    let mut unique: Vec<CaseId> = ids.into_iter().collect();
    unique.sort();
    unique.dedup();
    if unique.is_empty() {
        return Ok(HashMap::new());
    }
    let keys: Vec<String> = unique.iter().map(case_key).collect();
    let values = store.get_many(&keys)?;
    Ok(unique
        .into_iter()
        .zip(values)
        .filter_map(|(id, v)| v.and_then(|b| serde_json::from_slice(&b).ok()).map(|doc| (id, doc)))
        .collect())
}

/// Whether the record holds this entry (else the entry is stale).
pub fn holds(record: &CaseRecord, log: &str, slot: u64) -> bool {
    work_of(record).slots.iter().any(|h| h.log == log && h.slot == slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_slots_with_another_deadline_are_replaced() {
        let held =
            vec![HeldSlot { log: "a".into(), slot: 1, due: Some(Timestamp::from_unix_millis(1)), check_in: None }];
        // A record with no assessment wants nothing: everything held is left.
        let record: CaseRecord = serde_json::from_value(serde_json::json!({
            "id": "case_0000000000000000000000000a", "received_at": "2026-01-01T00:00:00Z", "status": "received",
            "facts": {"role":"mayor","relation":"self","region":"VR01","request_kind":"prevention","incident_kinds":[],
                "immediate_danger":false,"threat_to_life":false,"recurrence":"first","occurred_at":null,
                "police_informed":false,"police_report_filed":false,"support_requested":[],"language":"nl"},
            "reporter": {"kid":"k","nonce":"","ct":""}, "pending_triage_slot": null
        }))
        .unwrap();
        let c = change(&held, &record);
        assert!(c.join.is_empty());
        assert_eq!(c.leave, held);
    }

    #[test]
    fn days_are_utc_dates() {
        let t = Timestamp::parse("2026-11-28T23:59:59.999Z").unwrap();
        assert_eq!(day_start(day_of(t)), Timestamp::parse("2026-11-28T00:00:00Z").unwrap());
        assert_eq!(check_ins_on_log(Organisation::Ngb, day_of(t)), "triage/idx/ngb/check-ins/on/2026-11-28");
    }
}
