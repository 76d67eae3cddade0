//! Who read a member's contact details, and why: every read that answers contact
//! details first appends an entry here, alone; if that write fails, nothing is shown.
//!
//! An entry names the reader (the token's holder), the purpose they chose and the case
//! they read for, never the contact details themselves. The purpose is a closed set,
//! not free text: it travels in the URL of a GET and is stored in clear, and typed text
//! there could name a reporter. Programme admins read the log.
//!
//! Reading an audit log is itself audited (issue 13, point 4): every read of this log,
//! and of that record of reads, first appends a [`LogRead`] to `dir/audit/log-reads`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::domain::Organisation;
use shared::id::{CaseId, MemberId, TokenId};
use shared::kv::slots::SlotLog;
use shared::kv::{to_json, KeyValue};
use shared::problem::{Problem, ProblemKind};
use shared::time::Timestamp;

/// Why a member's contact details are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadReason {
    /// To bring the member in on a case (`case_id` is required).
    CaseContact,
    /// To keep the member's record right (availability, capacity, details).
    NetworkMaintenance,
    /// The member asked: to be called back, or to see what we hold.
    MemberRequest,
}

impl ReadReason {
    /// Every reason.
    pub const ALL: [ReadReason; 3] =
        [ReadReason::CaseContact, ReadReason::NetworkMaintenance, ReadReason::MemberRequest];

    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadReason::CaseContact => "case_contact",
            ReadReason::NetworkMaintenance => "network_maintenance",
            ReadReason::MemberRequest => "member_request",
        }
    }

    fn parse(text: &str) -> Option<ReadReason> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}
/// Most entries on one page of the log.
pub const MAX_PAGE: usize = 100;

/// Why contact details are read: a reason, and the case when the read is for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    pub reason: ReadReason,
    pub case_id: Option<CaseId>,
}

impl Purpose {
    /// Parses the query of a member read: `reason` (required, one of [`ReadReason`]) and
    /// `case_id` (required with `case_contact`, else optional). Refused before anything
    /// is read or written.
    pub fn parse(pairs: Vec<(String, String)>) -> Result<Purpose, Problem> {
        let (mut reason, mut case_id) = (None, None);
        for (name, value) in pairs {
            let bad = |detail: &str| Problem::new(ProblemKind::InvalidParameter, detail).at(name.clone());
            match name.as_str() {
                "reason" => {
                    let allowed = ReadReason::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
                    reason = Some(
                        ReadReason::parse(value.trim()).ok_or_else(|| bad(&format!("must be one of: {allowed}")))?,
                    );
                }
                "case_id" => case_id = Some(CaseId::parse(&value).map_err(|_| bad("must be a case id (case_…)"))?),
                _ => return Err(bad("unknown parameter; use reason, case_id")),
            }
        }
        let reason = reason.ok_or_else(|| {
            Problem::new(ProblemKind::InvalidParameter, "say why you read this member's contact details").at("reason")
        })?;
        if reason == ReadReason::CaseContact && case_id.is_none() {
            return Err(Problem::new(ProblemKind::InvalidParameter, "name the case the read is for").at("case_id"));
        }
        Ok(Purpose { reason, case_id })
    }
}

/// One read of one member's contact details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRead {
    pub at: Timestamp,
    pub member_id: MemberId,
    /// The person holding the token.
    pub holder: String,
    /// The token used; `None` for the bootstrap admin.
    pub token_id: Option<TokenId>,
    pub organisation: Organisation,
    pub reason: ReadReason,
    pub case_id: Option<CaseId>,
    pub correlation_id: String,
}

impl ContactRead {
    /// The entry for `who` reading `member_id` for `purpose` at `at`.
    pub fn new(who: &Principal, member_id: &MemberId, purpose: &Purpose, at: Timestamp, correlation_id: &str) -> Self {
        ContactRead {
            at,
            member_id: member_id.clone(),
            holder: who.holder.clone(),
            token_id: who.token.clone(),
            organisation: who.organisation,
            reason: purpose.reason,
            case_id: purpose.case_id.clone(),
            correlation_id: correlation_id.to_string(),
        }
    }
}

/// Which audit log of the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditLog {
    /// Contact reads: `dir/audit/contact/n` and `dir/audit/contact/s/<slot>`.
    ContactReads,
    /// Reads of the audit logs: `dir/audit/log-reads/…`.
    LogReads,
}

impl AuditLog {
    fn slots(self) -> SlotLog {
        match self {
            AuditLog::ContactReads => SlotLog::new("dir/audit/contact"),
            AuditLog::LogReads => SlotLog::new("dir/audit/log-reads"),
        }
    }
}

/// One read of an audit log: who, when, which log, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRead {
    pub at: Timestamp,
    pub log: AuditLog,
    /// The `cursor` asked for (0 for the first page).
    pub cursor: u64,
    pub holder: String,
    pub token_id: Option<TokenId>,
    pub organisation: Organisation,
    pub correlation_id: String,
}

impl LogRead {
    /// The entry for `who` reading `log` from `cursor` at `at`.
    pub fn new(who: &Principal, log: AuditLog, cursor: u64, at: Timestamp, correlation_id: &str) -> Self {
        LogRead {
            at,
            log,
            cursor,
            holder: who.holder.clone(),
            token_id: who.token.clone(),
            organisation: who.organisation,
            correlation_id: correlation_id.to_string(),
        }
    }
}

fn append<S: KeyValue, T: Serialize>(store: &S, log: AuditLog, entry: &T) -> Result<(), Problem> {
    let log = log.slots();
    let slot = log.reserve(store)?;
    store.set(&log.key(slot), &to_json(entry))?;
    Ok(())
}

/// Appends `entry`. An error means the contact details must not be answered.
pub fn record<S: KeyValue>(store: &S, entry: &ContactRead) -> Result<(), Problem> {
    append(store, AuditLog::ContactReads, entry)
}

/// Appends a read of an audit log. An error means the log must not be answered.
pub fn record_log_read<S: KeyValue>(store: &S, entry: &LogRead) -> Result<(), Problem> {
    append(store, AuditLog::LogReads, entry)
}

/// A page of an audit log, as answered.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub entries: Vec<T>,
    /// Pass as `cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// A page of `log`, oldest first, after slot `cursor`, with the next cursor if more follow.
pub fn page<S: KeyValue, T: DeserializeOwned>(
    store: &S,
    log: AuditLog,
    cursor: u64,
    limit: usize,
) -> Result<Page<T>, Problem> {
    let log = log.slots();
    let last = log.last_slot(store)?;
    let end = last.min(cursor.saturating_add(limit as u64));
    let mut entries = Vec::new();
    for (_, bytes) in log.read(store, cursor.saturating_add(1), end)? {
        // A reserved slot whose write failed is empty and skipped by `read`; a
        // written entry that does not decode is a fault the operator must see.
        entries.push(serde_json::from_slice(&bytes).map_err(|e| Problem::internal(e.into()))?);
    }
    Ok(Page { entries, next_cursor: (end < last).then(|| end.to_string()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_read_without_a_reason_is_refused_naming_the_field() {
        let p = Purpose::parse(pairs(&[])).unwrap_err();
        assert_eq!((p.kind.status(), p.field.as_deref()), (400, Some("reason")));
        let p = Purpose::parse(pairs(&[("reason", "  ")])).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("reason"));
        // Free text is refused: it could name a reporter, in a URL and in the clear.
        let p = Purpose::parse(pairs(&[("reason", "call Jan de Vries back")])).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("reason"));
        let p = Purpose::parse(pairs(&[("reason", "case_contact")])).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("case_id"), "a case contact names its case");
    }

    #[test]
    fn a_case_id_is_parsed_and_unknown_parameters_refused() {
        let case = format!("case_{:026}", 1);
        let ok = Purpose::parse(pairs(&[("reason", "case_contact"), ("case_id", &case)])).unwrap();
        assert_eq!((ok.reason, ok.case_id.unwrap().to_string()), (ReadReason::CaseContact, case));
        assert_eq!(
            Purpose::parse(pairs(&[("reason", "member_request"), ("case_id", "nope")])).unwrap_err().field.as_deref(),
            Some("case_id")
        );
        assert!(Purpose::parse(pairs(&[("reason", "network_maintenance"), ("why", "y")])).is_err());
    }
}
