//! The case record that intake writes and triage works on, and where it is stored.
//!
//! Key layout (all in the `default` store):
//! - `case/<case_id>`: the [`CaseRecord`], a [`Versioned`](crate::kv::versioned::Versioned)
//!   document updated only by compare-and-swap;
//! - `case/<case_id>/messages/…`: a [`SlotLog`] of [`CaseMessage`]s between reporter
//!   and confidant, each sealed;
//! - `receipt/<hmac of code>`: a [`ReceiptEntry`] pointing to the case (and its claim
//!   counter `receipt/<hmac>/claim`); `case/<case_id>/receipt` holds the hmac back, so
//!   retention can purge the receipt with the case;
//! - `idx/pending_triage/…`: a [`SlotLog`] of case ids handed over to triage and not yet
//!   triaged (the sweep's work list);
//! - `idx/pending_messages/…`: a [`SlotLog`] of reporter messages triage has not yet
//!   taken in (the sweep's work list for follow-ups).
//!
//! What could identify the reporter (name, municipality, contact details, the
//! description, messages) is only ever stored sealed.

use crate::crypto::Sealed;
use crate::domain::{
    CaseStatus, IncidentKind, Language, Organisation, Priority, Recurrence, RegionCode, Relation, RequestKind, Role,
    SupportNeed,
};
use crate::id::CaseId;
use crate::kv::slots::SlotLog;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The key of a case record.
pub fn case_key(id: &CaseId) -> String {
    format!("case/{id}")
}

/// The messages of a case.
pub fn messages_log(id: &CaseId) -> SlotLog {
    SlotLog::new(format!("case/{id}/messages"))
}

/// The key of a receipt entry, by the keyed hash of the code.
pub fn receipt_key(receipt_hash: &str) -> String {
    format!("receipt/{receipt_hash}")
}

/// Where a case keeps the keyed hash of its receipt code (a [`CaseReceipt`]).
pub fn case_receipt_key(id: &CaseId) -> String {
    format!("case/{id}/receipt")
}

/// The receipt keys of a case, for purging them with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseReceipt {
    pub receipt_hash: String,
}

impl CaseReceipt {
    /// Every key the receipt occupies.
    pub fn keys(&self) -> Vec<String> {
        let entry = receipt_key(&self.receipt_hash);
        vec![format!("{entry}/claim"), entry]
    }
}

/// The HMAC purpose label of receipt codes.
pub const RECEIPT_PURPOSE: &str = "receipt-code";

/// The cases waiting for triage.
pub fn pending_triage_log() -> SlotLog {
    SlotLog::new("idx/pending_triage")
}

/// The reporter messages triage has not yet taken in ([`PendingMessage`]s).
pub fn pending_messages_log() -> SlotLog {
    SlotLog::new("idx/pending_messages")
}

/// The sealed-field name of a message in slot `slot`: binding the slot stops a
/// ciphertext being moved to another message.
pub fn message_field(slot: u64) -> String {
    format!("message/{slot}")
}

/// The sealed-field name of the reporter's details.
pub const REPORTER_FIELD: &str = "reporter";

/// What the report says about the situation: the facts triage and routing need, none
/// of which identifies the reporter on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFacts {
    pub role: Role,
    pub relation: Relation,
    pub region: RegionCode,
    pub request_kind: RequestKind,
    pub incident_kinds: Vec<IncidentKind>,
    pub immediate_danger: bool,
    pub threat_to_life: bool,
    pub recurrence: Recurrence,
    pub occurred_at: Option<Timestamp>,
    pub police_informed: bool,
    pub police_report_filed: bool,
    pub support_requested: Vec<SupportNeed>,
    pub language: Language,
}

/// How the office holder wants to be contacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPreference {
    pub channel: ContactChannel,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// When contact is welcome, in the reporter's words ("weekdays after 18:00").
    pub when: Option<String>,
}

crate::domain::wire_enum!(
    /// The channel the reporter prefers.
    ContactChannel {
        Phone => "phone",
        Email => "email",
        /// Only through the status lookup with the receipt code.
        StatusLookup => "status_lookup",
    }
);

/// Who the reporter is and what they wrote: stored only sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReporterDetails {
    pub name: Option<String>,
    pub municipality: String,
    pub description: String,
    pub contact: ContactPreference,
}

/// Triage's decision about a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub priority: Priority,
    /// Which rules fired, in words a confidant understands.
    pub reasons: Vec<String>,
    pub needs: Vec<SupportNeed>,
    pub organisation: Organisation,
    pub first_contact_due: Timestamp,
    pub triaged_at: Timestamp,
}

/// A case, as stored at [`case_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub id: CaseId,
    pub received_at: Timestamp,
    pub status: CaseStatus,
    pub facts: ReportFacts,
    /// [`ReporterDetails`], sealed for field [`REPORTER_FIELD`].
    pub reporter: Sealed,
    /// The slot of this case in [`pending_triage_log`] while it waits for triage.
    pub pending_triage_slot: Option<u64>,
    /// Set by triage.
    #[serde(default)]
    pub assessment: Option<Assessment>,
    /// When a confidant acknowledged the case (stops escalation).
    #[serde(default)]
    pub acknowledged_at: Option<Timestamp>,
    /// When the earliest open check-in of an open case is due: the next planned contact
    /// the reporter's status view shows. Kept by triage with every change of the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_check_in: Option<Timestamp>,
    /// Triage's own bookkeeping (assignment, escalation, outbox, ...), owned by triage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work: Option<serde_json::Value>,
}

impl CaseRecord {
    /// True once triage's retention sweep has begun purging the case (`purging` in
    /// triage's bookkeeping): from then on nothing may be added to it, since what is
    /// written after the purge read the case's lists would outlive it.
    pub fn is_purging(&self) -> bool {
        self.work.as_ref().and_then(|w| w.get("purging")).is_some_and(|v| !v.is_null())
    }

    /// When the reporter can expect contact: the triage deadline, until a confidant
    /// has acknowledged the case.
    pub fn next_contact_due(&self) -> Option<Timestamp> {
        match (&self.assessment, self.acknowledged_at) {
            (Some(a), None) if self.status.is_open() => Some(a.first_contact_due),
            _ => None,
        }
    }
}

crate::domain::wire_enum!(
    /// Who wrote a case message.
    MessageAuthor {
        Reporter => "reporter",
        Confidant => "confidant",
    }
);

/// One message between reporter and confidant, stored in [`messages_log`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseMessage {
    pub author: MessageAuthor,
    pub at: Timestamp,
    /// The text, sealed for field [`message_field`] of its slot.
    pub text: Sealed,
    /// What a reporter's follow-up says about danger or a new incident, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUpFacts>,
}

/// What a reporter's follow-up reports besides its text: danger now, or new incident
/// kinds. Like [`ReportFacts`], none of it identifies anyone, so it stays in clear for
/// triage to act on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpFacts {
    #[serde(default)]
    pub immediate_danger: bool,
    #[serde(default)]
    pub threat_to_life: bool,
    #[serde(default)]
    pub incident_kinds: Vec<IncidentKind>,
}

impl FollowUpFacts {
    /// Danger now: the reporter is told to call 112.
    pub fn urgent(&self) -> bool {
        self.immediate_danger || self.threat_to_life
    }

    /// Whether the follow-up reports danger or a new incident (else it is just text).
    pub fn reports_something(&self) -> bool {
        self.urgent() || !self.incident_kinds.is_empty()
    }
}

/// An entry of the pending-messages list: a reporter message in `slot` of the case's
/// [`messages_log`], written with the message, removed once triage has taken it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMessage {
    pub case_id: CaseId,
    pub slot: u64,
    pub since: Timestamp,
}

/// What a receipt code leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptEntry {
    pub case_id: CaseId,
}

/// An entry of the pending-triage list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTriage {
    pub case_id: CaseId,
    pub since: Timestamp,
}
