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

use crate::context::Ctx;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::domain::Organisation;
use shared::id::{CaseId, MemberId, TokenId};
use shared::kv::slots::SlotLog;
use shared::kv::{to_json, KeyValue};
use shared::problem::{Problem, ProblemKind};
use shared::time::Timestamp;

shared::wire_enum!(
    /// Why a member's contact details are read.
    ReadReason {
        /// To bring the member in on a case (`case_id` is required).
        CaseContact => "case_contact",
        /// To keep the member's record right (availability, capacity, details).
        NetworkMaintenance => "network_maintenance",
        /// The member asked: to be called back, or to see what we hold.
        MemberRequest => "member_request",
    }
);

/// Most entries on one page of the log.
pub const MAX_PAGE: usize = 100;

/// Why contact details are read: a reason, and the case when the read is for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    pub reason: ReadReason,
    pub case_id: Option<CaseId>,
}

impl Purpose {
    /// A purpose: `case_id` is required with `case_contact`, else optional. Refused
    /// (400 naming the parameter) before anything is read or written.
    pub fn new(reason: Option<ReadReason>, case_id: Option<CaseId>) -> Result<Purpose, Problem> {
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

shared::wire_enum!(
    /// Which audit log of the directory.
    AuditLog {
        /// Contact reads: `dir/audit/contact/n` and `dir/audit/contact/s/<slot>`.
        ContactReads => "contact_reads",
        /// Reads of the audit logs: `dir/audit/log-reads/…`.
        LogReads => "log_reads",
    }
);

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

fn append<S: KeyValue, O, T: Serialize>(ctx: &Ctx<'_, S, O>, log: AuditLog, entry: &T) -> Result<(), Problem> {
    let log = log.slots();
    let slot = log.reserve(ctx.store)?;
    ctx.store.set(&log.key(slot), &to_json(entry))?;
    Ok(())
}

/// Appends `entry`. An error means the contact details must not be answered.
pub fn record<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, entry: &ContactRead) -> Result<(), Problem> {
    append(ctx, AuditLog::ContactReads, entry)
}

/// Appends a read of an audit log. An error means the log must not be answered.
pub fn record_log_read<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, entry: &LogRead) -> Result<(), Problem> {
    append(ctx, AuditLog::LogReads, entry)
}

/// A page of an audit log.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub entries: Vec<T>,
    /// The slot to continue after; `None` at the end.
    pub next_cursor: Option<u64>,
}

/// A page of `log`, oldest first, after slot `cursor`, with the next cursor if more follow.
pub fn page<S: KeyValue, O, T: DeserializeOwned>(
    ctx: &Ctx<'_, S, O>,
    log: AuditLog,
    cursor: u64,
    limit: usize,
) -> Result<Page<T>, Problem> {
    let (store, log) = (ctx.store, log.slots());
    let last = log.last_slot(store)?;
    let end = last.min(cursor.saturating_add(limit as u64));
    let mut entries = Vec::new();
    for (_, bytes) in log.read(store, cursor.saturating_add(1), end)? {
        // A reserved slot whose write failed is empty and skipped by `read`; a
        // written entry that does not decode is a fault the operator must see.
        entries.push(serde_json::from_slice(&bytes).map_err(|e| Problem::internal(e.into()))?);
    }
    Ok(Page { entries, next_cursor: (end < last).then_some(end) })
}
