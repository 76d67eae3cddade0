//! Index lists, so that listing, escalation and the sweep never read every case.
//!
//! Each list is a [`SlotLog`] of [`IndexEntry`]s under `triage/idx/…`:
//! - `triage/idx/<org>/all`: every case of the organisation (newest = highest slot);
//! - `triage/idx/<org>/status/<status>`: the cases in one status;
//! - `triage/idx/<org>/priority/<P>`: the cases of one priority;
//! - `triage/idx/<org>/unacked/<P>`: open cases not yet acknowledged, with their
//!   first-contact deadline (overdue filter, escalation);
//! - `triage/idx/<org>/unread`: cases with reporter messages no confidant has read;
//! - `triage/idx/rematch`: cases triaged while the directory was down.
//!
//! A case's wanted lists follow from its record ([`wanted`]); the record remembers the
//! slots it holds ([`HeldSlot`]). A change reserves slots for lists it joins and writes
//! their entries *before* its compare-and-swap, and deletes the entries of lists it
//! left after. Entries are therefore hints: readers always check the record, and an
//! entry the record does not hold is skipped (and removed by whoever notices).

use crate::work::{work_of, HeldSlot};
use serde::{Deserialize, Serialize};
use shared::case::{case_key, CaseRecord};
use shared::domain::{Organisation, Priority};
use shared::id::CaseId;
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

/// Cases waiting to be matched again.
pub const REMATCH_LOG: &str = "triage/idx/rematch";

/// The lists a case should be in, with the deadline each entry carries.
pub fn wanted(record: &CaseRecord) -> Vec<(String, Option<Timestamp>)> {
    let Some(assessment) = &record.assessment else {
        return Vec::new();
    };
    let org = assessment.organisation;
    let mut lists = vec![
        (all_log(org), None),
        (status_log(org, record.status), None),
        (priority_log(org, assessment.priority), None),
    ];
    if record.status.is_open() && record.acknowledged_at.is_none() {
        lists.push((unacked_log(org, assessment.priority), Some(assessment.first_contact_due)));
    }
    let work = work_of(record);
    if work.conversation.unread_count() > 0 {
        lists.push((unread_log(org), None));
    }
    if work.rematch {
        lists.push((REMATCH_LOG.to_string(), None));
    }
    lists
}

/// What a change does to the indexes: lists to join, and held slots to let go.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IndexChange {
    pub join: Vec<(String, Option<Timestamp>)>,
    pub leave: Vec<HeldSlot>,
}

/// Compares the lists `after` wants with the slots `held`.
pub fn change(held: &[HeldSlot], after: &CaseRecord) -> IndexChange {
    let wanted = wanted(after);
    let join =
        wanted.iter().filter(|(log, due)| !held.iter().any(|h| &h.log == log && &h.due == due)).cloned().collect();
    let leave =
        held.iter().filter(|h| !wanted.iter().any(|(log, due)| &h.log == log && &h.due == due)).cloned().collect();
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
        let held = vec![HeldSlot { log: "a".into(), slot: 1, due: Some(Timestamp::from_unix_millis(1)) }];
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
}
