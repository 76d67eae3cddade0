//! What triage answers, as typed bodies: a case as its confidant sees it (decrypted,
//! with triage's decision and work), the state after an update, tokens.

use crate::core::checkins::{check_in_view, CheckInView};
use crate::core::tokens::TokenAuditEntry;
use crate::core::work::{work_of, Actor, Assignment, Suggestion, Transition};
use serde::Serialize;
use shared::auth::{StaffRole, TokenRecord, TokenScope};
use shared::case::{Assessment, CaseRecord, MessageAuthor, ReportFacts, ReporterDetails, REPORTER_FIELD};
use shared::case_keys::CaseCipher;
use shared::crypto::FieldSealer;
use shared::domain::Organisation;
use shared::domain::{CaseStatus, Priority};
use shared::id::CaseId;
use shared::id::{CheckInId, TokenId};
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

/// What an update answers: the case's new state (its ETag is the version).
#[derive(Debug, Serialize)]
pub struct CaseState {
    pub case_id: CaseId,
    pub version: u64,
    pub status: CaseStatus,
    pub priority: Option<Priority>,
    pub first_contact_due: Option<Timestamp>,
    pub acknowledged_at: Option<Timestamp>,
    pub escalation_level: u32,
    pub assignment: Option<Assignment>,
    pub unread_reporter_messages: u32,
}

impl CaseState {
    /// The state of `doc` as stored.
    pub fn of(doc: &Versioned<CaseRecord>) -> CaseState {
        let record = &doc.data;
        let work = work_of(record);
        let a = record.assessment.as_ref();
        CaseState {
            case_id: record.id.clone(),
            version: doc.version,
            status: record.status,
            priority: a.map(|a| a.priority),
            first_contact_due: a.map(|a| a.first_contact_due),
            acknowledged_at: record.acknowledged_at,
            escalation_level: work.escalation_level,
            unread_reporter_messages: work.conversation.unread_count(),
            assignment: work.assignment,
        }
    }
}

/// What a check-in change answers: the case's new version and the check-in.
#[derive(Debug, Serialize)]
pub struct CheckInChanged {
    pub case_id: CaseId,
    pub version: u64,
    pub status: CaseStatus,
    pub check_in: CheckInView,
}

impl CheckInChanged {
    /// The check-in `check_in_id` of `doc` as stored, its note opened.
    pub fn of(doc: &Versioned<CaseRecord>, check_in_id: &CheckInId, cipher: &CaseCipher) -> Result<Self, Problem> {
        let work = work_of(&doc.data);
        let check_in = work
            .check_ins
            .iter()
            .find(|c| &c.id == check_in_id)
            .ok_or_else(|| Problem::internal(anyhow::anyhow!("a committed check-in is missing from its case")))?;
        Ok(CheckInChanged {
            case_id: doc.data.id.clone(),
            version: doc.version,
            status: doc.data.status,
            check_in: check_in_view(&doc.data.id, check_in, cipher)?,
        })
    }
}

/// What writing to the reporter answers: the message as stored.
#[derive(Debug, Serialize)]
pub struct MessageSent {
    pub case_id: CaseId,
    pub message: SentMessage,
}

/// A confidant's message to the reporter.
#[derive(Debug, Serialize)]
pub struct SentMessage {
    pub author: MessageAuthor,
    pub at: Timestamp,
    pub text: String,
}

/// A token as an admin sees it in a listing: never the secret nor its hash.
#[derive(Debug, Serialize)]
pub struct TokenView {
    pub id: TokenId,
    pub holder: String,
    pub organisation: Organisation,
    pub role: StaffRole,
    pub scope: Option<TokenScope>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl From<&TokenRecord> for TokenView {
    fn from(r: &TokenRecord) -> TokenView {
        TokenView {
            id: r.id.clone(),
            holder: r.holder.clone(),
            organisation: r.organisation,
            role: r.role,
            scope: r.scope,
            created_at: r.created_at,
            expires_at: r.expires(),
            revoked_at: r.revoked_at,
        }
    }
}

/// A token just created: the secret is shown this once.
#[derive(Debug, Serialize)]
pub struct CreatedToken {
    pub id: TokenId,
    pub token: String,
    pub organisation: Organisation,
    pub role: StaffRole,
    pub holder: String,
    pub scope: Option<TokenScope>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// `GET /triage/tokens`.
#[derive(Debug, Serialize)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

/// `GET /triage/tokens/audit`.
#[derive(Debug, Serialize)]
pub struct TokenAudit {
    pub entries: Vec<TokenAuditEntry>,
}
