//! The sweep: triages what is left in `idx/pending_triage`, takes in the reporter
//! messages left in `idx/pending_messages`, matches again what was
//! triaged with the directory down, escalates overdue cases, re-sends unsent events and
//! announces check-ins due and overdue ([`crate::core::agenda`]) and purges closed cases
//! whose retention has ended ([`crate::core::retention`]).
//! Called by a cron trigger or an external scheduler (see `docs/triage.md`).
//!
//! Safe when two sweeps run at once: triage and escalation are compare-and-swap
//! changes that happen once, and the notification component delivers a re-sent event
//! once. Each list is read from its mark (`triage/sweep/marks`, see [`shared::kv::marks`]):
//! the slots still waiting below it, then the next ones, so old history is not read
//! again and no waiting entry hides the ones after it.

use crate::context::Ctx;
use crate::core::agenda::sweep_check_ins;
use crate::core::conversation::take_in_message;
use crate::core::escalation::escalate;
use crate::core::index::{self, IndexEntry};
use crate::core::outbox::{outbox_log, resend};
use crate::core::retention::purge_due;
use crate::core::rewrap::rewrap_keys;
use crate::core::triage::triage;
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::case::{pending_messages_log, pending_triage_log, CaseRecord, PendingMessage, PendingTriage};
use shared::domain::{Organisation, Priority};
use shared::kv::marks::{self, ListMark, Outcome, Pass};
use shared::kv::slots::{SlotLog, SlotValue};
use shared::kv::versioned::{self, Change, Versioned};
use shared::kv::{claim, KeyValue};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::Timestamp;
use shared::watchdog::{Details, SweepRecord};
use std::collections::{BTreeMap, BTreeSet};

/// New slots read per list per sweep, at most (bounded work per request).
pub const SWEEP_BUDGET: u64 = 1000;
/// The marks of every list the sweep walks.
const MARKS: &str = "triage/sweep/marks";
/// Plain low-water marks of earlier releases, read once when `MARKS` does not exist.
const OLD_CURSORS: &str = "triage/sweep/cursors";

/// Each list's new mark, with the slots its pass read.
pub(crate) type Moved = BTreeMap<String, (ListMark, BTreeSet<u64>)>;

/// A slot of an index list as the sweep found it.
pub(crate) enum Found {
    /// Empty: removed, or reserved by a writer that has not written (yet).
    Empty,
    /// An entry, with the case it names if that exists.
    Entry(IndexEntry, Option<Box<CaseRecord>>),
}

/// What a sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub triaged: u32,
    /// Reporter messages taken in that intake's handoff missed.
    pub messages_taken_in: u32,
    pub rematched: u32,
    pub escalated: u32,
    pub events_sent: u32,
    pub events_unsent: u32,
    pub events_dropped: u32,
    pub failures: u32,
    /// Closed cases purged because their retention ended.
    pub cases_purged: u32,
    /// Scheduled purges dropped because the case was reopened (or closed again later).
    pub purges_cancelled: u32,
    /// Case data keys re-wrapped under the current key of `case_keys`.
    pub keys_rewrapped: u32,
    /// Check-ins announced due (`case.check_in_due`).
    pub check_ins_due: u32,
    /// Check-ins announced overdue (`case.check_in_overdue`).
    pub check_ins_overdue: u32,
    /// The first-contact deadline of the longest overdue case nobody acknowledged:
    /// for the watchdog, not part of the answer.
    #[serde(skip)]
    pub oldest_overdue_unacknowledged_since: Option<Timestamp>,
}

impl SweepReport {
    /// What the watchdog keeps of a run: the counts, and the oldest overdue deadline.
    pub fn for_watchdog(&self) -> serde_json::Value {
        let mut did = serde_json::to_value(self).unwrap_or_default();
        did["oldest_overdue_unacknowledged_since"] = serde_json::json!(self.oldest_overdue_unacknowledged_since);
        did
    }
}

/// Triage's health details: how long the longest overdue unacknowledged case has
/// waited, as the last sweep saw it (growing while no sweep runs), and per list the
/// entries the sweep keeps reading again and the oldest one's age: a triage that keeps
/// failing, or a purge deferred for days, shows here instead of staying silent.
///
/// With the case keyring's current key id (`None`: `case_keys` is not usable), also how
/// far the re-wrap of data keys under it is ([`crate::core::rewrap`]).
pub fn health_details<S: KeyValue>(
    store: &S,
    record: &SweepRecord,
    now: Timestamp,
    current_kid: Option<&str>,
) -> Details {
    let mut details = overdue_details(record, now);
    if let Some(rewrap) = current_kid.and_then(|kid| crate::core::rewrap::health(store, kid).ok()) {
        details.insert("case_keys_rewrap".into(), serde_json::to_value(rewrap).unwrap_or_default());
    }
    let marks = versioned::read::<_, BTreeMap<String, ListMark>>(store, MARKS).ok().flatten().map(|d| d.data);
    // extend, not collect: collect sorts with its own copy of the stable sort (shared::order).
    let mut backlog = serde_json::Map::new();
    backlog.extend(marks.unwrap_or_default().into_iter().filter(|(_, mark)| !mark.held.is_empty()).map(
        |(list, mark)| {
            let oldest = marks::oldest_hold(&mark, now).map(|d| d.whole_seconds());
            (list, serde_json::json!({"held": mark.held.len(), "oldest_seconds": oldest}))
        },
    ));
    details.insert("sweep_backlog".into(), backlog.into());
    details
}

fn overdue_details(record: &SweepRecord, now: Timestamp) -> Details {
    let since =
        record.last_run.get("oldest_overdue_unacknowledged_since").and_then(|v| Timestamp::parse(v.as_str()?).ok());
    let mut details = Details::new();
    details.insert(
        "oldest_overdue_unacknowledged_seconds".into(),
        serde_json::json!(since.map(|due| due.until(now).whole_seconds())),
    );
    details
}

/// Runs one sweep.
pub fn sweep<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>) -> Result<SweepReport, Problem> {
    let mut report = SweepReport::default();
    let cursors = marks(ctx)?;
    let mut moved = Moved::new();

    let (triaged, failed) = drain(ctx, &cursors, &mut moved, "pending", &pending_triage_log(), |e: PendingTriage| {
        triage(ctx, &e.case_id).map(|_| ())
    })?;
    report.triaged = triaged;
    report.failures += failed;
    // After triage: a follow-up to a case triaged just now is taken in this sweep.
    let (taken, failed) =
        drain(ctx, &cursors, &mut moved, "messages", &pending_messages_log(), |e: PendingMessage| {
            take_in_message(ctx, &e.case_id, e.slot).map(|_| ())
        })?;
    report.messages_taken_in = taken;
    report.failures += failed;

    let rematch = SlotLog::new(index::REMATCH_LOG);
    let (mut pass, found) = begin(ctx, &cursors, index::REMATCH_LOG, &rematch)?;
    for (slot, found) in with_cases(ctx, found)? {
        let outcome = match found {
            // An entry its case does not hold is stale, or its change is still in
            // flight: read again for a while, never deleted here.
            Found::Entry(_, record) if !record.as_ref().is_some_and(|r| index::holds(r, index::REMATCH_LOG, slot)) => {
                Outcome::Unsettled
            }
            Found::Empty => Outcome::Unsettled,
            Found::Entry(entry, _) => match crate::core::workflow::rematch(ctx, &entry.case_id) {
                Ok(true) => {
                    report.rematched += 1;
                    Outcome::Done
                }
                _ => Outcome::Waiting,
            },
        };
        pass.record(slot, outcome);
    }
    moved.insert("rematch".to_string(), pass.finish());

    let now = ctx.clock.now();
    for org in Organisation::ALL {
        for priority in Priority::ALL.iter().filter(|p| ctx.config.escalation.get(**p).is_some()) {
            // An entry stays while its case is unacknowledged.
            walk_live(ctx, &cursors, &mut moved, &index::unacked_log(*org, *priority), |entry, _| {
                let Some(due) = entry.due.filter(|due| *due <= now) else { return };
                let oldest = &mut report.oldest_overdue_unacknowledged_since;
                *oldest = Some(oldest.map_or(due, |o| o.min(due)));
                match escalate(ctx, &entry.case_id) {
                    Ok(true) => report.escalated += 1,
                    Ok(false) => {}
                    Err(_) => report.failures += 1,
                }
            })?;
        }
    }

    sweep_check_ins(ctx, &cursors, &mut moved, &mut report)?;

    let outbox = outbox_log();
    let (mut pass, found) = begin(ctx, &cursors, "outbox", &outbox)?;
    let mut empty = BTreeSet::new();
    let mut entries = Vec::new();
    for (slot, bytes) in found {
        match bytes {
            Some(bytes) => entries.push((slot, bytes)),
            None => {
                empty.insert(slot);
            }
        }
    }
    let resent = resend(ctx, entries)?;
    report.events_sent += resent.sent;
    report.events_unsent += resent.unsent;
    report.events_dropped += resent.dropped;
    let mut waiting = BTreeSet::new();
    waiting.extend(resent.waiting);
    for slot in pass.slots() {
        let outcome = if waiting.contains(&slot) {
            Outcome::Waiting
        } else if empty.contains(&slot) {
            Outcome::Unsettled
        } else {
            Outcome::Done
        };
        pass.record(slot, outcome);
    }
    moved.insert("outbox".to_string(), pass.finish());

    advance(ctx, moved)?;

    let purged = purge_due(ctx)?;
    report.cases_purged = purged.cases;
    report.purges_cancelled = purged.cancelled;
    report.failures += purged.deferred;
    // After the purge: a key purged this sweep is not re-wrapped first.
    let rewrapped = rewrap_keys(ctx)?;
    report.keys_rewrapped = rewrapped.keys;
    report.failures += rewrapped.failed;
    Ok(report)
}

/// Works through a pending list from its low-water mark: an entry whose work is done
/// (or whose case or message is gone) is deleted, one that failed stays for the
/// next sweep. Returns (done, failed).
fn drain<S: KeyValue, O: Outbound, T: DeserializeOwned>(
    ctx: &Ctx<'_, S, O>,
    marks: &BTreeMap<String, ListMark>,
    moved: &mut Moved,
    name: &str,
    log: &SlotLog,
    work: impl Fn(T) -> Result<(), Problem>,
) -> Result<(u32, u32), Problem> {
    let (mut pass, found) = begin(ctx, marks, name, log)?;
    let (mut done, mut failed) = (0, 0);
    for (slot, bytes) in found {
        let Some(bytes) = bytes else {
            pass.record(slot, Outcome::Unsettled);
            continue;
        };
        // An entry nobody can read is nobody's work.
        let outcome = match serde_json::from_slice::<T>(&bytes).map(&work) {
            Err(_) => Outcome::Done,
            Ok(Ok(())) => {
                done += 1;
                let _ = ctx.store.delete(&log.key(slot));
                Outcome::Done
            }
            Ok(Err(p)) if p.kind == shared::problem::ProblemKind::NotFound => {
                let _ = ctx.store.delete(&log.key(slot));
                Outcome::Done
            }
            Ok(Err(_)) => {
                failed += 1;
                Outcome::Waiting
            }
        };
        pass.record(slot, outcome);
    }
    moved.insert(name.to_string(), pass.finish());
    Ok((done, failed))
}

/// Walks an index list whose entries stay while their case holds them (cases not
/// yet acknowledged, check-ins still open): `work` runs for each live entry, which
/// is held for the next sweep; the mark moves past them all.
pub(crate) fn walk_live<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    marks: &BTreeMap<String, ListMark>,
    moved: &mut Moved,
    name: &str,
    mut work: impl FnMut(&IndexEntry, &CaseRecord),
) -> Result<(), Problem> {
    let log = SlotLog::new(name.to_string());
    let (mut pass, found) = begin(ctx, marks, name, &log)?;
    for (slot, found) in with_cases(ctx, found)? {
        let outcome = match found {
            Found::Entry(entry, Some(record)) if index::holds(&record, name, slot) => {
                work(&entry, &record);
                Outcome::Waiting
            }
            _ => Outcome::Unsettled,
        };
        pass.record(slot, outcome);
    }
    moved.insert(name.to_string(), pass.finish());
    Ok(())
}

/// Starts a pass over a list: what its held slots and its next slots hold.
pub(crate) fn begin<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    marks: &BTreeMap<String, ListMark>,
    name: &str,
    log: &SlotLog,
) -> Result<(Pass, Vec<SlotValue>), Problem> {
    let prior = marks.get(name).cloned().unwrap_or_default();
    let pass = Pass::new(prior, log.last_slot(ctx.store)?, ctx.clock.now(), SWEEP_BUDGET);
    let found = log.read_slots(ctx.store, &pass.slots())?;
    Ok((pass, found))
}

/// Index entries with the cases they name (each case read once).
pub(crate) fn with_cases<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    found: Vec<SlotValue>,
) -> Result<Vec<(u64, Found)>, Problem> {
    let entries: Vec<(u64, Option<IndexEntry>)> = found
        .into_iter()
        .filter_map(|(slot, bytes)| match bytes {
            None => Some((slot, None)),
            // An undecodable entry names nothing to work on: passed over.
            Some(b) => serde_json::from_slice(&b).ok().map(|e| (slot, Some(e))),
        })
        .collect();
    let cases =
        index::read_cases(ctx.store, entries.iter().filter_map(|(_, e)| e.as_ref()).map(|e| e.case_id.clone()))?;
    Ok(entries
        .into_iter()
        .map(|(slot, entry)| match entry {
            None => (slot, Found::Empty),
            Some(entry) => {
                let record = cases.get(&entry.case_id).map(|d| Box::new(d.data.clone()));
                (slot, Found::Entry(entry, record))
            }
        })
        .collect())
}

/// Every list's mark; marks of earlier releases, below which nothing waited, are
/// taken over as they are.
pub fn marks<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>) -> Result<BTreeMap<String, ListMark>, Problem> {
    if let Some(doc) = versioned::read::<_, BTreeMap<String, ListMark>>(ctx.store, MARKS)? {
        return Ok(doc.data);
    }
    let old = versioned::read::<_, BTreeMap<String, u64>>(ctx.store, OLD_CURSORS)?.map(|d| d.data);
    let mut marks = BTreeMap::new();
    marks.extend(
        old.unwrap_or_default().into_iter().map(|(name, mark)| (name, ListMark { mark, held: BTreeMap::new() })),
    );
    Ok(marks)
}

/// Stores the lists' new marks, merged with what a concurrent sweep stored
/// ([`marks::merge`]: never backwards, never losing a held slot).
fn advance<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, moved: Moved) -> Result<(), Problem> {
    if claim(ctx.store, &format!("{MARKS}/claim"))? {
        let taken_over = marks(ctx)?;
        ctx.store.set(MARKS, &Versioned::first(taken_over, ctx.random).encode())?;
    }
    let updated = versioned::update(ctx.store, MARKS, ctx.random, |stored: &mut BTreeMap<String, ListMark>, _| {
        let mut changed = false;
        for (name, (mark, read)) in &moved {
            let before = stored.get(name).cloned().unwrap_or_default();
            let after = marks::merge(&before, mark, read);
            if after != before {
                stored.insert(name.clone(), after);
                changed = true;
            }
        }
        Ok::<_, ()>(if changed { Change::Write(()) } else { Change::Keep(()) })
    });
    match updated {
        // The document is created by whoever won the claim; until it exists, the
        // marks simply stay where they are.
        Ok(_) | Err(versioned::UpdateError::NotFound) => Ok(()),
        Err(versioned::UpdateError::Store(e)) => Err(e.into()),
        Err(e) => Err(Problem::internal(anyhow::anyhow!("sweep marks: {e}"))),
    }
}
