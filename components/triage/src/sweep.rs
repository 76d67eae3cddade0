//! The sweep: triages what is left in `idx/pending_triage`, takes in the reporter
//! messages left in `idx/pending_messages`, matches again what was
//! triaged with the directory down, escalates overdue cases, re-sends unsent events and
//! announces check-ins due and overdue ([`crate::agenda`]) and purges closed cases
//! whose retention has ended ([`crate::retention`]).
//! Called by a cron trigger or an external scheduler (see `docs/triage.md`).
//!
//! Safe when two sweeps run at once: triage and escalation are compare-and-swap
//! changes that happen once, and the notification component delivers a re-sent event
//! once. Each list is read from a low-water mark (`triage/sweep/cursors`) that only
//! moves forward, past slots that are done, so old history is not read again.

use crate::context::Triage;
use crate::index::{self, IndexEntry};
use crate::outbox::outbox_log;
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::case::{pending_messages_log, pending_triage_log, CaseRecord, PendingMessage, PendingTriage};
use shared::domain::{Organisation, Priority};
use shared::kv::slots::SlotLog;
use shared::kv::versioned::{self, Change, Versioned};
use shared::kv::{claim, KeyValue};
use shared::outbound::Outbound;
use shared::problem::Problem;
use std::collections::BTreeMap;

/// Slots read per list per sweep, at most (bounded work per request).
pub const SWEEP_BUDGET: u64 = 1000;
/// Slots per `get_many`.
const CHUNK: u64 = 100;
const CURSORS: &str = "triage/sweep/cursors";

/// The newest slots of a list are always read again: a writer may have reserved one
/// and not yet written its entry (or not yet committed the case that holds it).
const TAIL_GUARD: u64 = 50;

/// The new low-water mark: just before the first slot still waiting, never into the tail.
pub(crate) fn guarded(first_waiting: Option<u64>, last: u64) -> u64 {
    first_waiting.map(|s| s - 1).unwrap_or(last).min(last.saturating_sub(TAIL_GUARD))
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
    /// Check-ins announced due (`case.check_in_due`).
    pub check_ins_due: u32,
    /// Check-ins announced overdue (`case.check_in_overdue`).
    pub check_ins_overdue: u32,
}

impl<S: KeyValue, O: Outbound> Triage<'_, S, O> {
    /// Runs one sweep.
    pub fn sweep(&self) -> Result<SweepReport, Problem> {
        let mut report = SweepReport::default();
        let cursors = self.cursors()?;
        let mut moved = BTreeMap::new();

        let (triaged, failed) =
            self.drain(&cursors, &mut moved, "pending", &pending_triage_log(), |e: PendingTriage| {
                self.triage(&e.case_id).map(|_| ())
            })?;
        report.triaged = triaged;
        report.failures += failed;
        // After triage: a follow-up to a case triaged just now is taken in this sweep.
        let (taken, failed) =
            self.drain(&cursors, &mut moved, "messages", &pending_messages_log(), |e: PendingMessage| {
                self.take_in_message(&e.case_id, e.slot).map(|_| ())
            })?;
        report.messages_taken_in = taken;
        report.failures += failed;

        let rematch = SlotLog::new(index::REMATCH_LOG);
        let (low, last) = self.window(&cursors, "rematch", &rematch)?;
        let mut remaining = None;
        for (slot, entry, record) in self.entries_with_cases(&rematch, low, last)? {
            // An entry its case does not hold is stale, or its change is still in flight
            // (the tail guard reads it again): skipped, never deleted here.
            if !record.as_ref().is_some_and(|r| index::holds(r, index::REMATCH_LOG, slot)) {
                continue;
            }
            match self.rematch(&entry.case_id) {
                Ok(true) => report.rematched += 1,
                _ => remaining = remaining.or(Some(slot)),
            }
        }
        moved.insert("rematch".to_string(), guarded(remaining, last));

        let now = self.clock.now();
        for org in Organisation::ALL {
            for priority in Priority::ALL.iter().filter(|p| self.config.escalation.get(**p).is_some()) {
                let name = index::unacked_log(*org, *priority);
                let log = SlotLog::new(name.clone());
                let (low, last) = self.window(&cursors, &name, &log)?;
                let mut remaining = None;
                for (slot, entry, record) in self.entries_with_cases(&log, low, last)? {
                    if !record.as_ref().is_some_and(|r| index::holds(r, &name, slot)) {
                        continue;
                    }
                    remaining = remaining.or(Some(slot));
                    if entry.due.is_some_and(|due| due <= now) {
                        match self.escalate(&entry.case_id) {
                            Ok(true) => report.escalated += 1,
                            Ok(false) => {}
                            Err(_) => report.failures += 1,
                        }
                    }
                }
                moved.insert(name, guarded(remaining, last));
            }
        }

        self.sweep_check_ins(&cursors, &mut moved, &mut report)?;

        let outbox = outbox_log();
        let (low, last) = self.window(&cursors, "outbox", &outbox)?;
        let mut from = low + 1;
        while from <= last {
            let to = (from + CHUNK - 1).min(last);
            let (sent, unsent, dropped) = self.resend(from, to)?;
            report.events_sent += sent;
            report.events_unsent += unsent;
            report.events_dropped += dropped;
            from = to + 1;
        }
        // The outbox cursor moves to just before the first entry still waiting.
        let first_left = outbox.read(self.store, low + 1, last)?.first().map(|(s, _)| *s);
        moved.insert("outbox".to_string(), guarded(first_left, last));

        self.advance(moved)?;

        let purged = self.purge_due()?;
        report.cases_purged = purged.cases;
        report.purges_cancelled = purged.cancelled;
        report.failures += purged.deferred;
        Ok(report)
    }

    /// Works through a pending list from its low-water mark: an entry whose work is done
    /// (or whose case or message is gone) is deleted, one that failed stays for the
    /// next sweep. Returns (done, failed).
    fn drain<T: DeserializeOwned>(
        &self,
        cursors: &BTreeMap<String, u64>,
        moved: &mut BTreeMap<String, u64>,
        name: &str,
        log: &SlotLog,
        work: impl Fn(T) -> Result<(), Problem>,
    ) -> Result<(u32, u32), Problem> {
        let (low, last) = self.window(cursors, name, log)?;
        let (mut done, mut failed) = (0, 0);
        let mut remaining = None;
        for (slot, bytes) in self.read_window(log, low, last)? {
            let Ok(entry) = serde_json::from_slice::<T>(&bytes) else { continue };
            match work(entry) {
                Ok(()) => {
                    done += 1;
                    let _ = self.store.delete(&log.key(slot));
                }
                Err(p) if p.kind == shared::problem::ProblemKind::NotFound => {
                    let _ = self.store.delete(&log.key(slot));
                }
                Err(_) => {
                    failed += 1;
                    remaining = remaining.or(Some(slot));
                }
            }
        }
        moved.insert(name.to_string(), guarded(remaining, last));
        Ok((done, failed))
    }

    /// The slots to read this time: after the list's low-water mark, within budget.
    pub(crate) fn window(
        &self,
        cursors: &BTreeMap<String, u64>,
        name: &str,
        log: &SlotLog,
    ) -> Result<(u64, u64), Problem> {
        let low = cursors.get(name).copied().unwrap_or(0);
        let last = log.last_slot(self.store)?.min(low + SWEEP_BUDGET);
        Ok((low, last.max(low)))
    }

    pub(crate) fn read_window(&self, log: &SlotLog, low: u64, last: u64) -> Result<Vec<(u64, Vec<u8>)>, Problem> {
        let mut all = Vec::new();
        let mut from = low + 1;
        while from <= last {
            let to = (from + CHUNK - 1).min(last);
            all.extend(log.read(self.store, from, to)?);
            from = to + 1;
        }
        Ok(all)
    }

    /// Index entries in a window with the cases they point to (one `get_many` each way
    /// per chunk).
    #[allow(clippy::type_complexity)]
    pub(crate) fn entries_with_cases(
        &self,
        log: &SlotLog,
        low: u64,
        last: u64,
    ) -> Result<Vec<(u64, IndexEntry, Option<CaseRecord>)>, Problem> {
        let entries: Vec<(u64, IndexEntry)> = self
            .read_window(log, low, last)?
            .into_iter()
            .filter_map(|(slot, bytes)| serde_json::from_slice(&bytes).ok().map(|e| (slot, e)))
            .collect();
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let cases = index::read_cases(self.store, entries.iter().map(|(_, e)| e.case_id.clone()))?;
        Ok(entries
            .into_iter()
            .map(|(slot, entry)| {
                let record = cases.get(&entry.case_id).map(|d| d.data.clone());
                (slot, entry, record)
            })
            .collect())
    }

    pub(crate) fn cursors(&self) -> Result<BTreeMap<String, u64>, Problem> {
        Ok(versioned::read::<_, BTreeMap<String, u64>>(self.store, CURSORS)?.map(|d| d.data).unwrap_or_default())
    }

    /// Moves low-water marks forward (never back: a slower concurrent sweep cannot undo
    /// a faster one's progress).
    fn advance(&self, moved: BTreeMap<String, u64>) -> Result<(), Problem> {
        if claim(self.store, &format!("{CURSORS}/claim"))? {
            self.store.set(CURSORS, &Versioned::first(BTreeMap::<String, u64>::new(), self.random).encode())?;
        }
        let updated = versioned::update(self.store, CURSORS, self.random, |marks: &mut BTreeMap<String, u64>, _| {
            let mut changed = false;
            for (name, mark) in &moved {
                let entry = marks.entry(name.clone()).or_insert(0);
                if *mark > *entry {
                    *entry = *mark;
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
            Err(e) => Err(Problem::internal(anyhow::anyhow!("sweep cursors: {e}"))),
        }
    }
}
