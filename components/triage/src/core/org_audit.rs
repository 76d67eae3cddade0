//! An organisation's audit of what no case keeps: the cases purged (the case's own
//! trail goes with it) and the lists its staff read. Two slot logs per organisation:
//! - `triage/org-audit/<org>/purged`: `{case_id, purged_at}` and nothing else, written
//!   by the retention sweep before it deletes the case;
//! - `triage/org-audit/<org>/lists`: who listed what and when (the listing by name, no
//!   query text, no case data), written before the list is answered; a reader's
//!   repeat of a listing within five minutes is covered by their entry.
//!
//! Admins read their organisation's, programme admins every organisation's, at
//! `GET /triage/audit`; that read is itself a list read.

use crate::context::Ctx;
use crate::core::audit::{COVER_LOOKBACK, REPEAT_COVER};
use crate::core::work::Actor;
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::domain::Organisation;
use shared::id::CaseId;
use shared::kv::slots::SlotLog;
use shared::kv::{to_json, KeyValue};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::Timestamp;

/// How many of the latest entries of each log are shown, per organisation.
pub const ORG_AUDIT_SHOWN: u64 = 100;

/// The cases an organisation's retention purged.
pub fn purged_log(organisation: Organisation) -> SlotLog {
    SlotLog::new(format!("triage/org-audit/{organisation}/purged"))
}

/// The list reads of an organisation's staff.
pub fn lists_log(organisation: Organisation) -> SlotLog {
    SlotLog::new(format!("triage/org-audit/{organisation}/lists"))
}

/// What was listed: a closed set, so no free text reaches the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    /// `GET /triage/cases`
    Cases,
    /// `GET /triage/check-ins`
    CheckIns,
    /// `GET /triage/tokens`
    Tokens,
    /// `GET /triage/tokens/audit`
    TokenAudit,
    /// `GET /triage/audit`
    OrganisationAudit,
}

/// A purged case, as its organisation keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgedEntry {
    pub organisation: Organisation,
    pub case_id: CaseId,
    pub purged_at: Timestamp,
}

/// A list read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRead {
    pub organisation: Organisation,
    pub at: Timestamp,
    pub actor: Actor,
    pub holder: String,
    pub listed: Listing,
}

/// What `GET /triage/audit` answers.
#[derive(Debug, Clone, Serialize)]
pub struct OrganisationAudit {
    pub purged: Vec<PurgedEntry>,
    pub list_reads: Vec<ListRead>,
}

fn latest<S: KeyValue, T: serde::de::DeserializeOwned>(store: &S, log: &SlotLog) -> Result<Vec<T>, Problem> {
    let last = log.last_slot(store)?;
    let first = last.saturating_sub(ORG_AUDIT_SHOWN - 1).max(1);
    Ok(log.read(store, first, last)?.into_iter().filter_map(|(_, b)| serde_json::from_slice(&b).ok()).collect())
}

/// Records that `who` listed `listed` (of their organisation); answer only after.
/// A repeat is covered by the reader's own entry: when one of the organisation's
/// latest [`COVER_LOOKBACK`] list reads is the same listing by the same token and
/// holder, at most [`REPEAT_COVER`] old, nothing is written (reads only: the log's
/// counter and its entries newest first, stopping at an older one).
pub fn audit_list_read<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    listed: Listing,
) -> Result<(), Problem> {
    let log = lists_log(who.organisation);
    let now = ctx.clock.now();
    let entry =
        ListRead { organisation: who.organisation, at: now, actor: Actor::of(who), holder: who.holder.clone(), listed };
    if recently_listed(ctx.store, &log, &entry, now - REPEAT_COVER)? {
        return Ok(());
    }
    let slot = log.reserve(ctx.store)?;
    ctx.store.set_many(&[(log.key(slot), to_json(&entry))])?;
    Ok(())
}

/// Whether the latest entries of `log` hold `entry`'s listing by the same reader, no
/// older than `since`.
fn recently_listed<S: KeyValue>(store: &S, log: &SlotLog, entry: &ListRead, since: Timestamp) -> Result<bool, Problem> {
    let last = log.last_slot(store)?;
    for slot in (1..=last).rev().take(COVER_LOOKBACK) {
        let Some(bytes) = store.get(&log.key(slot))? else { continue };
        let Ok(read) = serde_json::from_slice::<ListRead>(&bytes) else { continue };
        if read.at < since {
            return Ok(false);
        }
        if read.listed == entry.listed && read.actor == entry.actor && read.holder == entry.holder {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Records that case `id` of `organisation` is being purged; returns the
/// organisation and the entry's key (to remove if the purge does not go ahead).
pub fn audit_purge<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    organisation: Organisation,
    id: &CaseId,
) -> Result<(Organisation, String), Problem> {
    let log = purged_log(organisation);
    let slot = log.reserve(ctx.store)?;
    let entry = PurgedEntry { organisation, case_id: id.clone(), purged_at: ctx.clock.now() };
    ctx.store.set_many(&[(log.key(slot), to_json(&entry))])?;
    Ok((organisation, log.key(slot)))
}

/// The latest purges and list reads of the organisations `admin` manages (admins
/// only); the read is recorded first.
pub fn organisation_audit<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    admin: &Principal,
) -> Result<OrganisationAudit, Problem> {
    admin.require_admin()?;
    audit_list_read(ctx, admin, Listing::OrganisationAudit)?;
    let organisations = if admin.is_programme_admin() { Organisation::ALL.to_vec() } else { vec![admin.organisation] };
    let mut audit = OrganisationAudit { purged: Vec::new(), list_reads: Vec::new() };
    for organisation in organisations {
        audit.purged.extend(latest::<_, PurgedEntry>(ctx.store, &purged_log(organisation))?);
        audit.list_reads.extend(latest::<_, ListRead>(ctx.store, &lists_log(organisation))?);
    }
    shared::order::sort_by_key(&mut audit.purged, |e| e.purged_at);
    shared::order::sort_by_key(&mut audit.list_reads, |e| e.at);
    Ok(audit)
}
