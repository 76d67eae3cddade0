//! Where a sweep resumes in a [`SlotLog`](super::slots::SlotLog), so that no entry
//! ever hides the ones after it.
//!
//! A list's [`ListMark`] is a low-water mark plus the slots at or below it that must be
//! read again: entries whose work is still waiting (a case not yet acknowledged, a
//! purge that had to be deferred) and slots that are not settled yet (empty, or naming
//! a record that does not hold them: a writer may have reserved the slot and not yet
//! written, or not yet committed). Each sweep reads the held slots and a budget of
//! slots past the mark, then moves the mark to the end of what it read. So a held entry
//! costs one read per sweep and never pins the mark, and a stalled writer is waited for
//! by time ([`STALL_WAIT`]), not by a count of slots.

use super::versioned::{self, Change, Versioned};
use super::{claim, KeyValue, StoreError};
use crate::random::Random;
use crate::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How long an unsettled slot is read again before it is given up: far longer than a
/// request that reserves a slot takes to write its entry and commit its case.
pub const STALL_WAIT: Duration = Duration::minutes(10);

/// A list's low-water mark and the slots below it still to be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListMark {
    /// Every slot up to here was read; those not done are in `held`.
    pub mark: u64,
    #[serde(default)]
    pub held: BTreeMap<u64, Held>,
}

/// Why a slot at or below the mark is read again, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub since: Timestamp,
    /// A live entry whose work is waiting: held until done. Otherwise the slot is
    /// unsettled: held until [`STALL_WAIT`] has passed.
    pub live: bool,
}

/// What the sweep found at a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing more to do here.
    Done,
    /// A live entry whose work waits for a later sweep.
    Waiting,
    /// Empty, or not (yet) held by its case.
    Unsettled,
}

/// One sweep's pass over one list.
#[derive(Debug)]
pub struct Pass {
    prior: ListMark,
    end: u64,
    now: Timestamp,
    held: BTreeMap<u64, Held>,
}

impl Pass {
    /// A pass over a list whose last reserved slot is `last`, reading at most `budget`
    /// slots past the mark (and every held one).
    pub fn new(prior: ListMark, last: u64, now: Timestamp, budget: u64) -> Pass {
        let end = last.min(prior.mark + budget).max(prior.mark);
        Pass { prior, end, now, held: BTreeMap::new() }
    }

    /// Ends the pass before `slot`, one of the new slots: in a list kept in due order,
    /// the first entry not yet due says that everything after it is not due either.
    pub fn stop_before(&mut self, slot: u64) {
        self.end = self.end.min(slot.saturating_sub(1)).max(self.prior.mark);
    }

    /// Whether `slot` was held from an earlier pass (rather than new in this one).
    pub fn was_held(&self, slot: u64) -> bool {
        self.prior.held.contains_key(&slot)
    }

    /// The last slot this pass covers.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The slots to read, oldest first: the held ones, then the new ones.
    pub fn slots(&self) -> Vec<u64> {
        self.prior.held.keys().copied().chain(self.prior.mark + 1..=self.end).collect()
    }

    /// What was found at `slot` (one of [`Pass::slots`]).
    pub fn record(&mut self, slot: u64, outcome: Outcome) {
        let since = self.prior.held.get(&slot).map_or(self.now, |h| h.since);
        let held = match outcome {
            Outcome::Done => None,
            Outcome::Waiting => Some(Held { since, live: true }),
            Outcome::Unsettled if since + STALL_WAIT > self.now => Some(Held { since, live: false }),
            Outcome::Unsettled => None,
        };
        if let Some(h) = held {
            self.held.insert(slot, h);
        }
    }

    /// The list's new mark, and the slots this pass covered (for merging with a
    /// concurrent sweep's mark: see [`merge`]).
    pub fn finish(self) -> (ListMark, BTreeSet<u64>) {
        // extend, not collect: collect sorts with its own copy of the stable sort.
        let mut read = BTreeSet::new();
        read.extend(self.slots());
        (ListMark { mark: self.end, held: self.held }, read)
    }
}

/// Merges a pass's result into the stored mark of a list. Another sweep may have run
/// meanwhile: the mark only moves forward, a slot this pass read takes this pass's
/// verdict, and a slot it did not read keeps the stored one. So two sweeps at once can
/// only read a slot once more, never lose one.
pub fn merge(stored: &ListMark, pass: &ListMark, read: &BTreeSet<u64>) -> ListMark {
    let mut held = BTreeMap::new();
    held.extend(stored.held.iter().filter(|(slot, _)| !read.contains(slot)).map(|(s, h)| (*s, *h)));
    held.extend(pass.held.iter().map(|(s, h)| (*s, *h)));
    ListMark { mark: stored.mark.max(pass.mark), held }
}

/// The oldest waiting or unsettled slot's age: what the watchdog reports for a list.
pub fn oldest_hold(mark: &ListMark, now: Timestamp) -> Option<Duration> {
    mark.held.values().map(|h| h.since.until(now)).max()
}

/// A list's mark stored as its own versioned document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkDoc {
    key: String,
    /// Where an earlier release kept a plain low-water mark (`Versioned<u64>`), below
    /// which nothing waited: taken over as it is.
    legacy_key: Option<String>,
}

impl MarkDoc {
    pub fn new(key: impl Into<String>, legacy_key: Option<String>) -> Self {
        MarkDoc { key: key.into(), legacy_key }
    }

    /// The stored mark (an empty one before the first sweep).
    pub fn read<S: KeyValue>(&self, store: &S) -> Result<ListMark, StoreError> {
        if let Some(doc) = versioned::read::<_, ListMark>(store, &self.key)? {
            return Ok(doc.data);
        }
        let legacy = match &self.legacy_key {
            Some(key) => versioned::read::<_, u64>(store, key)?.map(|d| d.data),
            None => None,
        };
        Ok(ListMark { mark: legacy.unwrap_or(0), held: BTreeMap::new() })
    }

    /// Stores a pass's result, merged with what a concurrent sweep stored ([`merge`]).
    pub fn save<S: KeyValue>(
        &self,
        store: &S,
        (mark, read): &(ListMark, BTreeSet<u64>),
        random: &dyn Random,
    ) -> Result<(), StoreError> {
        // Created exactly once (compare-and-swap cannot guard an absent key).
        if versioned::read::<_, ListMark>(store, &self.key)?.is_none() && claim(store, &format!("{}/claim", self.key))?
        {
            let taken_over = self.read(store)?;
            store.set(&self.key, &Versioned::first(taken_over, random).encode())?;
        }
        let saved = versioned::update(store, &self.key, random, |stored: &mut ListMark, _| {
            let merged = merge(stored, mark, read);
            if merged == *stored {
                return Ok::<_, ()>(Change::Keep(()));
            }
            *stored = merged;
            Ok(Change::Write(()))
        });
        match saved {
            // Created by whoever won the claim, a moment from now: the next sweep saves.
            Ok(_) | Err(versioned::UpdateError::NotFound) => Ok(()),
            Err(versioned::UpdateError::Store(e)) => Err(e),
            Err(e) => Err(StoreError(format!("saving a sweep mark: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> Timestamp {
        Timestamp::from_unix_millis((1_800_000_000 + minutes * 60) * 1000)
    }

    #[test]
    fn a_waiting_entry_is_held_and_the_mark_moves_past_it() {
        let mut pass = Pass::new(ListMark::default(), 5, t(0), 1000);
        assert_eq!(pass.slots(), [1, 2, 3, 4, 5]);
        for slot in 1..=5 {
            pass.record(slot, if slot == 2 { Outcome::Waiting } else { Outcome::Done });
        }
        let (mark, _) = pass.finish();
        assert_eq!(mark.mark, 5);
        assert_eq!(mark.held.keys().copied().collect::<Vec<_>>(), [2]);
        // Next time: slot 2 again, then the new ones.
        let pass = Pass::new(mark, 7, t(1), 1000);
        assert_eq!(pass.slots(), [2, 6, 7]);
    }

    #[test]
    fn an_unsettled_slot_is_waited_for_by_time_then_given_up() {
        let mut pass = Pass::new(ListMark::default(), 1, t(0), 1000);
        pass.record(1, Outcome::Unsettled);
        let (mark, _) = pass.finish();
        let mut pass = Pass::new(mark, 1, t(9), 1000);
        pass.record(1, Outcome::Unsettled);
        let (mark, _) = pass.finish();
        assert_eq!(mark.held[&1].since, t(0), "held since it was first seen");
        let mut pass = Pass::new(mark, 1, t(10), 1000);
        pass.record(1, Outcome::Unsettled);
        assert!(pass.finish().0.held.is_empty(), "given up after STALL_WAIT");
    }

    #[test]
    fn the_budget_bounds_new_slots_but_never_held_ones() {
        let held = (1..=3).map(|s| (s, Held { since: t(0), live: true })).collect();
        let pass = Pass::new(ListMark { mark: 10, held }, 10 + 1000 + 500, t(1), 1000);
        let slots = pass.slots();
        assert_eq!(slots.len(), 3 + 1000);
        assert_eq!(*slots.last().unwrap(), 10 + 1000);
    }

    #[test]
    fn concurrent_sweeps_merge_without_losing_a_slot() {
        let h = |live| Held { since: t(0), live };
        // Stored by a faster sweep: mark 20, slot 4 and 15 held.
        let stored = ListMark { mark: 20, held: [(4, h(true)), (15, h(true))].into() };
        // A slower pass read 1..=10 (and had slot 4 held before): 4 is done now, 7 waits.
        let pass = ListMark { mark: 10, held: [(7, h(true))].into() };
        let read: BTreeSet<u64> = (1..=10).collect();
        let merged = merge(&stored, &pass, &read);
        assert_eq!(merged.mark, 20, "never backwards");
        assert_eq!(merged.held.keys().copied().collect::<Vec<_>>(), [7, 15]);
    }
}
