//! Data retention: a closed case is purged `case_retention_days` (default 365) after
//! it was closed, with everything that holds its id, by the sweep.
//!
//! Found without listing keys: closing a case appends a [`PurgeEntry`] to the slot log
//! `triage/retention` (written before the close's compare-and-swap, with the close
//! time the swap records). Entries are appended in closing order, so they are in due
//! order; the sweep walks them from a low-water mark (`triage/retention/mark`) and stops
//! at the first entry not yet due.
//!
//! A due entry purges its case only if the case is still closed by *that* close
//! (status closed, last transition to closed at the recorded time): a reopened case,
//! or one closed again later (which has its own entry), only loses the stale entry.
//! The purge first marks the case `purging` by compare-and-swap, so a reopen racing it
//! finds no case; then it releases the members at the directory again (idempotent; a
//! failure leaves the case for the next sweep) and deletes, in this order:
//! - the index entries the case holds (`triage/idx/…`, from its held slots) and its
//!   pending-triage entry if it still has one;
//! - its messages (`case/<id>/messages`, every slot and the counter), its audit trail
//!   (`case/<id>/audit`, likewise, and the activity chain's head), its receipt
//!   (`receipt/<hmac>` and its claim, found through `case/<id>/receipt`) and that
//!   pointer, its wrapped data key (`case/<id>/key`, crypto-shredding every copy of the
//!   case) and its entry in `idx/case_keys`;
//! - the case record, then the purge entry itself.
//!
//! What outlives the case is one record in its organisation's purge log
//! ([`crate::core::org_audit`]): the case id and when. It is written before the mark, and
//! removed unless this sweep's mark lands, so a case purged by overlapping sweeps has
//! one record.
//!
//! Every step is idempotent: an entry whose case is already gone (a concurrent sweep,
//! or a purge that stopped half way) deletes the case-derived keys again and itself.
//! Outbox entries of events not yet sent are dropped by the sweep's outbox pass, which
//! only sends events a case lists. Two sweeps at once delete the same keys and move
//! the mark forward by compare-and-swap, never back.

use crate::context::Ctx;
use crate::core::audit::{activity_claim_key, activity_head_key, audit_log};
use crate::core::org_audit::audit_purge;
use crate::core::peers::release_member;
use crate::core::work::{set_work, work_of};
use crate::core::{deferred, index};
use serde::{Deserialize, Serialize};
use shared::calls::CallFailure;
use shared::case::{case_key, case_receipt_key, messages_log, pending_triage_log, CaseReceipt, CaseRecord};
use shared::case_keys::{data_key_key, wrapped_keys_log, WrappedKey};
use shared::domain::CaseStatus;
use shared::id::CaseId;
use shared::kv::expiry::DueList;
use shared::kv::marks::{MarkDoc, Outcome as Held};
use shared::kv::slots::SlotLog;
use shared::kv::versioned::{self, Change, UpdateError};
use shared::kv::{get_json, to_json, KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::Timestamp;

/// Most purge entries one sweep handles.
pub const PURGE_BATCH: u64 = 50;

/// [`purge_log`] as the sweep walks it: a slot reserved by a close that has not written
/// its entry yet is waited for by time, a deferred purge is tried again without
/// holding up the ones after it.
fn purges() -> DueList {
    DueList::new(purge_log(), MarkDoc::new("triage/retention/marks", Some("triage/retention/mark".into())))
}

/// The list of scheduled purges.
pub fn purge_log() -> SlotLog {
    SlotLog::new("triage/retention")
}

/// A scheduled purge: the case, the close it follows, and when it is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeEntry {
    pub case_id: CaseId,
    pub closed_at: Timestamp,
    pub due: Timestamp,
}

/// What the retention part of a sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Cases purged.
    pub cases: u32,
    /// Entries dropped because their case was reopened or closed again later.
    pub cancelled: u32,
    /// Due cases left for the next sweep (the directory could not release a member).
    pub deferred: u32,
}

enum Outcome {
    Purged,
    Cancelled,
    Deferred,
}

/// Why a purge does not mark its case.
#[derive(Debug)]
enum Refused {
    /// Reopened, or closed again later: the entry is stale.
    NotClosed,
    /// Its organisation changed after the purge record was written.
    Moved,
}

/// Whether `record` is still closed by the close at `closed_at`.
fn closed_by(record: &CaseRecord, closed_at: Timestamp) -> bool {
    record.status == CaseStatus::Closed
        && work_of(record).last_transition.is_some_and(|t| t.to == CaseStatus::Closed && t.at == closed_at)
}

/// Schedules the purge of case `id`, closed at `closed_at`. Called while deciding
/// the close, before its swap: a close that does not commit leaves an entry the
/// sweep drops when it is due (the case is not closed at that time).
pub fn schedule_purge<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    id: &CaseId,
    closed_at: Timestamp,
) -> Result<(), Problem> {
    let log = purge_log();
    let slot = log.reserve(ctx.store)?;
    let entry = PurgeEntry { case_id: id.clone(), closed_at, due: closed_at + ctx.config.case_retention };
    ctx.store.set_many(&[(log.key(slot), to_json(&entry))])?;
    Ok(())
}

/// Purges the cases whose retention has ended, at most [`PURGE_BATCH`] entries.
pub fn purge_due<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>) -> Result<Purged, Problem> {
    let mut purged = Purged::default();
    let mut failure = None;
    purges().walk(
        ctx.store,
        ctx.clock.now(),
        PURGE_BATCH,
        ctx.random,
        |e: &PurgeEntry| e.due,
        |entry| match purge_case(ctx, &entry) {
            Ok(Outcome::Purged) => {
                purged.cases += 1;
                Ok(Held::Done)
            }
            Ok(Outcome::Cancelled) => {
                purged.cancelled += 1;
                Ok(Held::Done)
            }
            Ok(Outcome::Deferred) => {
                purged.deferred += 1;
                Ok(Held::Waiting)
            }
            Err(problem) => {
                // Kept for the next sweep; the problem is answered after the walk.
                failure = Some(problem);
                Ok(Held::Waiting)
            }
        },
    )?;
    match failure {
        Some(problem) => Err(problem),
        None => Ok(purged),
    }
}

fn purge_case<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, entry: &PurgeEntry) -> Result<Outcome, Problem> {
    let id = &entry.case_id;
    let key = case_key(id);
    let now = ctx.clock.now();
    // The organisation's record of the purge is written before the mark, like a
    // prepared entry: kept if this sweep marks the case, removed otherwise.
    let audited = match versioned::read::<_, CaseRecord>(ctx.store, &key)? {
        Some(doc) if closed_by(&doc.data, entry.closed_at) && work_of(&doc.data).purging.is_none() => {
            match doc.data.assessment.as_ref().map(|a| a.organisation) {
                Some(organisation) => Some(audit_purge(ctx, organisation, id)?),
                None => None,
            }
        }
        _ => None,
    };
    let marked = versioned::update(ctx.store, &key, ctx.random, |record: &mut CaseRecord, _| {
        if !closed_by(record, entry.closed_at) {
            return Err(Refused::NotClosed);
        }
        let owner = record.assessment.as_ref().map(|a| a.organisation);
        if audited.as_ref().is_some_and(|(o, _)| Some(*o) != owner) {
            // Handed over since it was read: the next sweep records it where it is.
            return Err(Refused::Moved);
        }
        let mut work = work_of(record);
        if work.purging.is_some() {
            return Ok(Change::Keep(false));
        }
        work.purging = Some(now);
        set_work(record, &work);
        Ok(Change::Write(true))
    });
    if let Some((_, written)) = &audited {
        if !matches!(marked, Ok((_, true))) {
            let _ = ctx.store.delete(written);
        }
    }
    let mut keys: Vec<String> = Vec::new();
    match marked {
        Ok((doc, _)) => {
            let record: &CaseRecord = &doc.data;
            let work = work_of(record);
            let members = work.assignment.map(|a| a.members).unwrap_or_default();
            for member in &members {
                match release_member(ctx, member, id, None) {
                    Ok(()) | Err(CallFailure::Status(404)) => {}
                    Err(failure) => {
                        deferred(ctx, "purge-deferred", &format!("{id}: release of {member}: directory {failure}"));
                        return Ok(Outcome::Deferred);
                    }
                }
            }
            keys.extend(work.slots.iter().map(index::entry_key));
            if let Some(slot) = record.pending_triage_slot {
                keys.push(pending_triage_log().key(slot));
            }
        }
        Err(UpdateError::Rejected(Refused::NotClosed)) => return Ok(Outcome::Cancelled),
        Err(UpdateError::Rejected(Refused::Moved)) => return Ok(Outcome::Deferred),
        // Gone already: clear what may be left of it.
        Err(UpdateError::NotFound) => {}
        Err(UpdateError::Store(e)) => return Err(e.into()),
        Err(UpdateError::Contended) => return Ok(Outcome::Deferred),
    }
    keys.extend(owned_keys(ctx, id)?);
    ctx.store.delete_many(&keys)?;
    ctx.store.delete(&key)?;
    // A reporter message or staff read that read the case before it was marked may
    // have written since the lists were read; it takes out its own entry when it
    // finds the case purging or gone, but a list it reserved in after the first pass
    // is found only now: the case is gone, so nothing is added after this pass.
    ctx.store.delete_many(&owned_keys(ctx, id)?)?;
    Ok(Outcome::Purged)
}

/// The keys under the case's own prefix and its receipt, found through counters and
/// the receipt pointer.
fn owned_keys<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, id: &CaseId) -> Result<Vec<String>, StoreError> {
    let mut keys = Vec::new();
    for log in [messages_log(id), audit_log(id)] {
        keys.extend(log.all_keys(log.last_slot(ctx.store)?));
    }
    keys.extend([activity_head_key(id), activity_claim_key(id)]);
    let pointer = case_receipt_key(id);
    if let Some(receipt) = get_json::<_, CaseReceipt>(ctx.store, &pointer)? {
        keys.extend(receipt.keys());
    }
    keys.push(pointer);
    // Crypto-shredding: without its data key nothing sealed for the case opens
    // again, in the store or in any copy of it.
    let data_key = data_key_key(id);
    if let Some(stored) = versioned::read::<_, WrappedKey>(ctx.store, &data_key)? {
        keys.push(wrapped_keys_log().key(stored.data.slot));
    }
    keys.push(data_key);
    Ok(keys)
}
