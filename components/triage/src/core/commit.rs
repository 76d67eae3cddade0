//! The one way a case changes: read, decide, prepare index and outbox entries, swap.
//!
//! 1. Read the case; with `If-Match`, a different version is 412 and nothing is written.
//! 2. Apply the change to a copy (pure; may say "nothing to do").
//! 3. Reserve slots for the index lists the case joins, one outbox slot for all its
//!    events and slots for its audit entries, and write those entries in one
//!    `set_many`. The audit entries extend the case's record chain (see
//!    [`crate::core::audit`]) from the head the record being replaced names.
//! 4. Compare-and-swap the case, which now names its new slots, event ids and audit
//!    head: the commit point. A change without its audit entry cannot happen, nor an
//!    entry without its change: an entry no head reaches does not count. If another
//!    writer got in first, the prepared entries are deleted, and the change is 412
//!    (with `If-Match`) or is decided again on the fresh case.
//! 5. Send the events: nothing else stands between the commit point and them.
//! 6. Then, in one `delete_many`, the outbox entry (when every event was accepted), the
//!    entries of lists the case left and whatever the caller no longer needs (the
//!    pending-triage entry of a case just triaged). Each is harmless if left: the sweep
//!    sends the outbox again, readers skip an entry the case does not hold.
//! 7. After the answer ([`shared::service::Context::after_response`]): the programme
//!    counters ([`crate::core::stats::count`], best effort as before).

use crate::context::Ctx;
use crate::core::audit::{
    activity_claim_key, activity_head_key, audit_entry, audit_log, seal_note, ActivityHead, By, Chain,
};
use crate::core::index::{self, IndexEntry};
use crate::core::outbox::{self, outbox_log, send_committed, OutboxEntry};
use crate::core::work::{remember_events, set_work, try_work_of, work_of, CaseWork, HeldSlot};
use shared::case::{case_key, CaseRecord};
use shared::domain::Organisation;
use shared::events::{CaseEvent, EventType};
use shared::id::{CaseId, EventId};
use shared::kv::slots::SlotLog;
use shared::kv::versioned::{self, Change, UpdateError, Versioned};
use shared::kv::{to_json, KeyValue};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::Timestamp;

/// Which version a change is based on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The version the client read (`If-Match`): anything else is 412.
    Exact(u64),
    /// Whatever is stored now (triage's own changes); re-decided on a conflict.
    Latest,
}

/// How often a `Latest` change is decided again when other writers keep winning.
const ATTEMPTS: usize = 5;

/// What a change decided: `None` = nothing to do; else what it emits and records.
pub type Decided = Option<Decision>;

/// A change's events and the audit entries that record it (at least one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub events: Vec<EventType>,
    /// `(action, note)`: the note is free text, sealed in the entry. Never empty.
    audit: Vec<(String, Option<String>)>,
}

impl Decision {
    /// A change recorded as `action`, emitting `events`.
    pub fn new(action: impl Into<String>, events: Vec<EventType>) -> Decision {
        Decision { events, audit: vec![(action.into(), None)] }
    }

    /// The same, with a note on the (last) entry.
    pub fn noted(mut self, note: Option<&str>) -> Decision {
        if let Some(last) = self.audit.last_mut() {
            last.1 = note.map(str::to_string);
        }
        self
    }

    /// One more entry recording the same change.
    pub fn and(mut self, action: impl Into<String>, note: Option<&str>) -> Decision {
        self.audit.push((action.into(), note.map(str::to_string)));
        self
    }
}

/// The case after a change, and whether this change wrote it.
pub struct Committed {
    pub doc: Versioned<CaseRecord>,
    pub changed: bool,
}

/// Changes case `id` with `decide` (only if `owner`, when given, owns it), which gets the record, triage's bookkeeping and
/// the time, and may be called again on a fresher record. The change is audited as
/// done `by`, with the entries `decide` names.
pub fn commit<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    id: &CaseId,
    owner: Option<Organisation>,
    base: Base,
    by: &By,
    decide: impl FnMut(&mut CaseRecord, &mut CaseWork, Timestamp) -> Result<Decided, Problem>,
) -> Result<Committed, Problem> {
    commit_from(ctx, id, Taken { read: None, forget: Vec::new() }, owner, base, by, decide)
}

/// What a caller of [`commit_from`] brings: the case as it just read it (the first
/// attempt decides on that instead of reading it again), and keys to delete once the
/// change committed and its events went out.
pub struct Taken {
    pub read: Option<Versioned<CaseRecord>>,
    pub forget: Vec<String>,
}

/// [`commit`], starting from what the caller already has.
pub fn commit_from<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    id: &CaseId,
    taken: Taken,
    owner: Option<Organisation>,
    base: Base,
    by: &By,
    mut decide: impl FnMut(&mut CaseRecord, &mut CaseWork, Timestamp) -> Result<Decided, Problem>,
) -> Result<Committed, Problem> {
    commit_dyn(ctx, id, taken, owner, base, by, &mut decide)
}

/// The body of [`commit_from`], compiled once: a `dyn` decision instead of one copy of
/// this whole loop per caller's closure (15 copies, 61 KB of triage.wasm).
#[inline(never)]
fn commit_dyn<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    id: &CaseId,
    taken: Taken,
    owner: Option<Organisation>,
    base: Base,
    by: &By,
    decide: &mut dyn FnMut(&mut CaseRecord, &mut CaseWork, Timestamp) -> Result<Decided, Problem>,
) -> Result<Committed, Problem> {
    let key = case_key(id);
    let Taken { mut read, forget } = taken;
    for _ in 0..ATTEMPTS {
        let doc: Versioned<CaseRecord> = match read.take() {
            Some(doc) => doc,
            None => versioned::read(ctx.store, &key)?.ok_or_else(Problem::not_found)?,
        };
        // Ownership before the version: another organisation's case is 404, never 412.
        if owner.is_some() && owner != doc.data.assessment.as_ref().map(|a| a.organisation) {
            return Err(Problem::not_found());
        }
        // A case the retention sweep is purging is gone for every change (a reopen
        // racing the purge must not bring back half a case).
        if work_of(&doc.data).purging.is_some() {
            return Err(Problem::not_found());
        }
        if let Base::Exact(v) = base {
            if doc.version != v {
                return Err(shared::web::stale(doc.version));
            }
        }
        let now = ctx.clock.now();
        let mut record = doc.data.clone();
        let mut work = try_work_of(&record)
            .map_err(|e| Problem::internal(anyhow::anyhow!("undecodable triage bookkeeping on a case: {e}")))?;
        let Some(decision) = decide(&mut record, &mut work, now)? else {
            return Ok(Committed { doc, changed: false });
        };
        crate::core::stats::mark_counted(&mut work, now);
        let (target, prepared, events, leave) = prepare(ctx, record, work, &decision, by, now)?;
        let expected = doc.version;
        let swapped = versioned::update(ctx.store, &key, ctx.random, |data: &mut CaseRecord, version| {
            if version != expected {
                return Err(version);
            }
            *data = target.clone();
            Ok(Change::Write(()))
        });
        match swapped {
            Ok((swapped, ())) => {
                let mut done = leave;
                if let Some((slot, events)) = &events {
                    done.extend(send_committed(ctx, *slot, events));
                }
                done.extend(forget);
                if !done.is_empty() {
                    // Best effort: each key left behind is harmless (see the module doc).
                    if let Err(e) = ctx.store.delete_many(&done) {
                        crate::core::deferred(ctx, "cleanup-deferred", &format!("{e}"));
                    }
                }
                let (before, after, kinds) = (doc.data, swapped.data.clone(), decision.events);
                ctx.after_response(move |ctx| {
                    crate::core::stats::count(ctx.store, &before, &after, &kinds, now, ctx.correlation_id);
                });
                return Ok(Committed { doc: swapped, changed: true });
            }
            Err(UpdateError::Rejected(current)) => {
                let _ = ctx.store.delete_many(&prepared);
                if let Base::Exact(_) = base {
                    return Err(shared::web::stale(current));
                }
            }
            Err(UpdateError::Contended) => {
                let _ = ctx.store.delete_many(&prepared);
            }
            Err(UpdateError::NotFound) => {
                // The case was purged since we read it: nothing we prepared may outlive
                // it, nor the audit counter and chain head the preparation recreated.
                let mut leftovers = prepared;
                leftovers.extend(audit_log(id).all_keys(0));
                leftovers.extend([activity_head_key(id), activity_claim_key(id)]);
                let _ = ctx.store.delete_many(&leftovers);
                return Err(Problem::not_found());
            }
            Err(UpdateError::Store(e)) => return Err(e.into()),
        }
    }
    Err(Problem::contended())
}

/// Reserves and writes the index, outbox and audit entries of a change. Returns the
/// record to swap in, the keys written, the events with their outbox slot, and the
/// keys of index entries to delete after the swap.
#[allow(clippy::type_complexity)]
fn prepare<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    mut record: CaseRecord,
    mut work: CaseWork,
    decision: &Decision,
    by: &By,
    now: Timestamp,
) -> Result<(CaseRecord, Vec<String>, Option<(u64, Vec<CaseEvent>)>, Vec<String>), Problem> {
    record.next_check_in = crate::core::checkins::next_check_in(&record, &work);
    set_work(&mut record, &work);
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();

    let change = index::change(&work.slots, &record);
    work.slots.retain(|h| !change.leave.contains(h));
    for index::Wanted { log, due, check_in } in change.join {
        let list = SlotLog::new(log.clone());
        let slot = list.reserve(ctx.store)?;
        let entry = IndexEntry { case_id: record.id.clone(), due, check_in: check_in.clone() };
        entries.push((list.key(slot), to_json(&entry)));
        work.slots.push(HeldSlot { log, slot, due, check_in });
    }
    let leave: Vec<String> = change.leave.iter().map(index::entry_key).collect();

    let mut events = None;
    if !decision.events.is_empty() {
        // One slot and one entry for all of the change's events.
        let slot = outbox_log().reserve(ctx.store)?;
        let emitted: Vec<CaseEvent> = decision
            .events
            .iter()
            .map(|kind| outbox::event(*kind, &record, &work, EventId::generate(ctx.random), now))
            .collect();
        remember_events(&mut work, emitted.iter().map(|e| e.id.clone()));
        if let Some(entry) = OutboxEntry::new(emitted.clone(), now) {
            entries.push((outbox_log().key(slot), to_json(&entry)));
        }
        events = Some((slot, emitted));
    }

    // Each entry extends the chain from the head of the record this change replaces.
    let first = audit_log(&record.id).reserve_many(ctx.store, decision.audit.len() as u64)?;
    if first == 1 {
        // The case's first audited change (its triage) also starts its activity chain,
        // so a read never pays for creating it. Slot 1 of the log goes to exactly one
        // writer ever and no read comes before a change commits, so slot 1 is the claim
        // (the separate claim increment this replaced guarded no more: either way a
        // racing triage that lost its swap but writes late could reset the head).
        // Kept whatever the swap does (it is empty).
        let head = Versioned::first(ActivityHead::default(), ctx.random);
        entries.push((activity_head_key(&record.id), head.encode()));
    }
    for (i, (action, note)) in decision.audit.iter().enumerate() {
        let prev = work.audit_head.take();
        let slot = first + i as u64;
        let note = note.as_deref().map(|text| seal_note(ctx, &record.id, slot, text)).transpose()?;
        let entry = audit_entry(ctx, &record.id, slot, (Chain::Record, prev), by, action, note);
        entries.push((entry.key, entry.bytes));
        work.audit_head = Some(entry.link);
    }
    set_work(&mut record, &work);
    ctx.store.set_many(&entries)?;
    let head_key = activity_head_key(&record.id);
    let written = entries.into_iter().map(|(k, _)| k).filter(|k| *k != head_key).collect();
    Ok((record, written, events, leave))
}
