//! The events components send each other, and the only case data a webhook may carry.
//!
//! [`CaseEventData`] is deliberately a closed set of non-identifying fields: a case
//! reference, priority, organisation, region, status, deadline, escalation level, an
//! API link, (for a reporter's message) how many reporter messages are unread and
//! (for a check-in event) the check-in's id and due time.
//! There is no field a name, contact detail, description, message text or receipt
//! code could go into, so no event can leak one.

use crate::domain::{wire_enum, CaseStatus, Organisation, Priority, RegionCode};
use crate::id::{CaseId, CheckInId, EventId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

wire_enum!(
    /// Kinds of events.
    EventType {
        CaseCreated => "case.created",
        CaseTriaged => "case.triaged",
        CaseAssigned => "case.assigned",
        CaseEscalated => "case.escalated",
        CaseClosed => "case.closed",
        CaseReopened => "case.reopened",
        /// The reporter sent a follow-up message (never its text).
        CaseReporterMessage => "case.reporter_message",
        /// The case moved to another organisation.
        CaseHandedOver => "case.handed_over",
        /// A planned check-in fell due.
        CaseCheckInDue => "case.check_in_due",
        /// A check-in is still open an escalation interval (or more) after it fell due.
        CaseCheckInOverdue => "case.check_in_overdue",
    }
);

/// What a case event tells: enough to act, nothing to leak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseEventData {
    pub case_reference: CaseId,
    pub priority: Option<Priority>,
    pub organisation: Option<Organisation>,
    pub region: RegionCode,
    pub status: CaseStatus,
    pub first_contact_due: Option<Timestamp>,
    pub escalation_level: Option<u32>,
    /// Where a confidant reads the case (path of the triage API).
    pub api_link: String,
    /// `case.reporter_message` only: how many reporter messages are unread now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread_reporter_messages: Option<u32>,
    /// `case.check_in_due` / `case.check_in_overdue` only: which check-in (never its
    /// purpose or note).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_in_id: Option<CheckInId>,
    /// `case.check_in_due` / `case.check_in_overdue` only: when it was due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_in_due_at: Option<Timestamp>,
}

/// An event, as posted to the notification component's internal endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseEvent {
    /// Deduplication key: the same event sent twice is delivered once.
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub timestamp: Timestamp,
    pub data: CaseEventData,
}

/// The events of one change, in order, as posted to the notification component's
/// internal batch endpoint: one request instead of one per event (issue 16). Each is
/// deduplicated and durable as if posted alone, and they are accepted in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseEventBatch {
    /// At least one, at most [`CaseEventBatch::MAX_EVENTS`].
    pub events: Vec<CaseEvent>,
}

impl CaseEventBatch {
    /// The most events one batch may carry (a change emits a few).
    pub const MAX_EVENTS: usize = 16;
}

/// The path of a case in the confidant API.
pub fn case_api_link(case: &CaseId) -> String {
    format!("/triage/cases/{case}")
}
