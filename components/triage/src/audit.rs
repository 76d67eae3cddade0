//! The audit trail of a case: every read by staff and every change, who, when and why,
//! in a [`SlotLog`] beside the case (`case/<id>/audit`), so the record stays small.
//! Free text (a reason) is sealed, bound to its slot.

use crate::context::Triage;
use crate::work::Actor;
use serde::{Deserialize, Serialize};
use shared::crypto::Sealed;
use shared::id::CaseId;
use shared::kv::slots::SlotLog;
use shared::kv::{to_json, KeyValue};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::Timestamp;

/// How many of the latest entries the audit endpoint shows.
pub const AUDIT_SHOWN: u64 = 100;

/// The audit trail of a case.
pub fn audit_log(id: &CaseId) -> SlotLog {
    SlotLog::new(format!("case/{id}/audit"))
}

fn note_field(slot: u64) -> String {
    format!("audit/{slot}")
}

/// One audit entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: Actor,
    /// What happened: `read`, `acknowledged`, `status:assigned`, `priority:P1`, ...
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Sealed>,
    /// The person who did it (a staff token's holder); `None` for the system, the
    /// reporter, and entries from before holders were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
}

/// An audit entry as a confidant sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditView {
    pub at: Timestamp,
    pub actor: Actor,
    /// The person behind a staff actor.
    pub holder: Option<String>,
    pub action: String,
    pub note: Option<String>,
}

impl<S: KeyValue, O: Outbound> Triage<'_, S, O> {
    /// Appends what a staff member did to the audit trail of `case`, naming them.
    pub fn audit_by(
        &self,
        case: &CaseId,
        who: &shared::auth::Principal,
        action: &str,
        note: Option<&str>,
    ) -> Result<(), Problem> {
        self.append_audit(case, &Actor::of(who), Some(&who.holder), action, note)
    }

    /// Appends to the audit trail of `case` (the reporter or the system).
    pub fn audit(&self, case: &CaseId, actor: &Actor, action: &str, note: Option<&str>) -> Result<(), Problem> {
        self.append_audit(case, actor, None, action, note)
    }

    fn append_audit(
        &self,
        case: &CaseId,
        actor: &Actor,
        holder: Option<&str>,
        action: &str,
        note: Option<&str>,
    ) -> Result<(), Problem> {
        let log = audit_log(case);
        let slot = log.reserve(self.store)?;
        let note = match note {
            Some(n) => Some(self.case_cipher(case)?.seal(n.as_bytes(), case.as_str(), &note_field(slot), self.random)),
            None => None,
        };
        let entry = AuditEntry {
            at: self.clock.now(),
            actor: actor.clone(),
            action: action.to_string(),
            note,
            holder: holder.map(str::to_string),
        };
        self.store.set_many(&[(log.key(slot), to_json(&entry))])?;
        Ok(())
    }

    /// The latest entries of the audit trail, oldest first.
    pub fn audit_trail(&self, case: &CaseId) -> Result<Vec<AuditView>, Problem> {
        let log = audit_log(case);
        let last = log.last_slot(self.store)?;
        let first = last.saturating_sub(AUDIT_SHOWN - 1).max(1);
        let mut trail = Vec::new();
        let cipher = self.case_cipher(case)?;
        for (slot, bytes) in log.read(self.store, first, last)? {
            let entry: AuditEntry = serde_json::from_slice(&bytes)
                .map_err(|e| Problem::internal(anyhow::anyhow!("undecodable audit entry: {e}")))?;
            let note = match &entry.note {
                Some(sealed) => Some(
                    cipher
                        .open(sealed, case.as_str(), &note_field(slot))
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .map_err(|e| Problem::internal(anyhow::anyhow!("audit note: {e:?}")))?,
                ),
                None => None,
            };
            trail.push(AuditView {
                at: entry.at,
                actor: entry.actor,
                holder: entry.holder,
                action: entry.action,
                note,
            });
        }
        Ok(trail)
    }
}
