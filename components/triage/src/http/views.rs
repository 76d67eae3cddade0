//! A case as its confidant sees it: decrypted, with triage's decision and work.

use crate::core::checkins::{check_in_view, CheckInView};
use crate::core::work::{work_of, Actor, Assignment, Suggestion, Transition};
use serde::Serialize;
use shared::case::{Assessment, CaseRecord, ReportFacts, ReporterDetails, REPORTER_FIELD};
use shared::case_keys::CaseCipher;
use shared::crypto::FieldSealer;
use shared::domain::{CaseStatus, Priority};
use shared::id::CaseId;
use shared::kv::versioned::Versioned;
use shared::problem::Problem;
use shared::time::Timestamp;

/// The full case.
#[derive(Debug, Serialize)]
pub struct CaseView {
    pub case_id: CaseId,
    pub version: u64,
    pub status: CaseStatus,
    pub received_at: Timestamp,
    pub facts: ReportFacts,
    pub reporter: ReporterDetails,
    pub assessment: Assessment,
    pub acknowledged_at: Option<Timestamp>,
    pub assignment: Option<Assignment>,
    pub suggestions: Vec<Suggestion>,
    pub rematch_pending: bool,
    pub escalation_level: u32,
    pub last_escalated_at: Option<Timestamp>,
    pub priority_override: Option<OverrideView>,
    pub last_transition: Option<Transition>,
    pub unread_reporter_messages: u32,
    pub last_reporter_message_at: Option<Timestamp>,
    /// Planned contacts, open and completed, notes opened.
    pub check_ins: Vec<CheckInView>,
}

/// A priority override with its reason opened.
#[derive(Debug, Serialize)]
pub struct OverrideView {
    pub from: Priority,
    pub to: Priority,
    pub reason: String,
    pub by: Actor,
    pub at: Timestamp,
}

/// Opens and shapes a triaged case.
pub fn case_view(doc: &Versioned<CaseRecord>, cipher: &CaseCipher) -> Result<CaseView, Problem> {
    let record = &doc.data;
    let id = record.id.as_str();
    let reporter: ReporterDetails = cipher
        .open_json(&record.reporter, id, REPORTER_FIELD)
        .map_err(|e| Problem::internal(anyhow::anyhow!("reporter details of a case: {e:?}")))?;
    let work = work_of(record);
    let priority_override = match work.priority_override {
        Some(o) => {
            let reason = cipher
                .open(&o.reason, id, "priority-override")
                .map_err(|e| Problem::internal(anyhow::anyhow!("override reason: {e:?}")))?;
            Some(OverrideView {
                from: o.from,
                to: o.to,
                reason: String::from_utf8_lossy(&reason).into_owned(),
                by: o.by,
                at: o.at,
            })
        }
        None => None,
    };
    Ok(CaseView {
        case_id: record.id.clone(),
        version: doc.version,
        status: record.status,
        received_at: record.received_at,
        facts: record.facts.clone(),
        reporter,
        assessment: record.assessment.clone().ok_or_else(Problem::not_found)?,
        acknowledged_at: record.acknowledged_at,
        assignment: work.assignment,
        suggestions: work.suggestions,
        rematch_pending: work.rematch,
        escalation_level: work.escalation_level,
        last_escalated_at: work.last_escalated_at,
        priority_override,
        last_transition: work.last_transition,
        unread_reporter_messages: work.conversation.unread_count(),
        last_reporter_message_at: work.conversation.last_reporter_message_at,
        check_ins: work.check_ins.iter().map(|c| check_in_view(&record.id, c, cipher)).collect::<Result<_, _>>()?,
    })
}
