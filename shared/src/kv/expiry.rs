//! Keys that must disappear after a while (abuse counters, idempotency records), found
//! again without ever listing keys, and the walk of any list kept in due order.
//!
//! Each class of expiring keys has a [`SlotLog`] of [`Expiring`] entries, appended in
//! time order by the writers, walked as a [`DueList`]: from its mark, deleting what
//! has expired, stopping at the first entry that has not (entries of one class share
//! one lifetime, so everything after it expires later). An empty slot (a writer that
//! reserved it and has not written yet) is read again for a while
//! ([`marks::STALL_WAIT`]), so an entry written late is still purged. Two sweeps at
//! once delete the same keys (harmless) and merge their marks, never backwards.

use super::marks::{MarkDoc, Outcome, Pass};
use super::slots::SlotLog;
use super::{KeyValue, StoreError};
use crate::random::Random;
use crate::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One batch of keys that expire together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiring {
    pub keys: Vec<String>,
    pub expires_at: Timestamp,
}

/// A list whose entries are appended in due order (expiries, scheduled purges) and
/// worked through from a mark ([`marks`]): a due entry that must wait (its work was
/// deferred) is held without holding up the ones after it.
#[derive(Debug, Clone)]
pub struct DueList {
    log: SlotLog,
    mark: MarkDoc,
}

impl DueList {
    pub fn new(log: SlotLog, mark: MarkDoc) -> Self {
        DueList { log, mark }
    }

    /// Works through the entries due by `now`, at most `budget` slots past the mark
    /// (plus the held ones): `work` answers [`Outcome::Done`] (the entry's slot is
    /// deleted) or [`Outcome::Waiting`] (tried again next time). An undecodable entry
    /// is deleted. Returns whether due entries may be left beyond the budget.
    pub fn walk<S: KeyValue, T: DeserializeOwned>(
        &self,
        store: &S,
        now: Timestamp,
        budget: u64,
        random: &dyn Random,
        due_of: impl Fn(&T) -> Timestamp,
        mut work: impl FnMut(T) -> Result<Outcome, StoreError>,
    ) -> Result<bool, StoreError> {
        let last = self.log.last_slot(store)?;
        let mut pass = Pass::new(self.mark.read(store)?, last, now, budget);
        let mut stopped = false;
        for (slot, bytes) in self.log.read_slots(store, &pass.slots())? {
            let Some(bytes) = bytes else {
                pass.record(slot, Outcome::Unsettled);
                continue;
            };
            let Ok(entry) = serde_json::from_slice::<T>(&bytes) else {
                store.delete(&self.log.key(slot))?;
                pass.record(slot, Outcome::Done);
                continue;
            };
            if due_of(&entry) > now {
                if pass.was_held(slot) {
                    pass.record(slot, Outcome::Waiting);
                    continue;
                }
                // In due order: nothing after it is due either.
                pass.stop_before(slot);
                stopped = true;
                break;
            }
            let outcome = work(entry)?;
            if outcome == Outcome::Done {
                store.delete(&self.log.key(slot))?;
            }
            pass.record(slot, outcome);
        }
        let more = !stopped && pass.end() < last;
        self.mark.save(store, &pass.finish(), random)?;
        Ok(more)
    }
}

/// A class of keys with one lifetime, e.g. `limit` or `idem`.
#[derive(Debug, Clone)]
pub struct ExpiryClass {
    log: SlotLog,
    list: DueList,
}

/// What one sweep of a class did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Entries whose keys were deleted.
    pub purged: u64,
    /// True when the sweep stopped at its batch limit with expired entries left.
    pub more: bool,
}

impl ExpiryClass {
    /// The class `name` (keys under `idx/expiring/<name>`).
    pub fn new(name: &str) -> Self {
        let log = SlotLog::new(format!("idx/expiring/{name}"));
        let mark = MarkDoc::new(format!("idx/expiring/{name}/marks"), Some(format!("idx/expiring/{name}/mark")));
        ExpiryClass { list: DueList::new(log.clone(), mark), log }
    }

    /// Reserves a slot for `entry`; write the returned pair in the same `set_many` as
    /// the keys it names, so they can never exist unlisted.
    pub fn schedule<S: KeyValue>(&self, store: &S, entry: &Expiring) -> Result<(String, Vec<u8>), StoreError> {
        let slot = self.log.reserve(store)?;
        Ok((self.log.key(slot), super::to_json(entry)))
    }

    /// Purges up to `batch` expired entries, oldest first.
    pub fn sweep<S: KeyValue>(
        &self,
        store: &S,
        now: Timestamp,
        batch: u64,
        random: &dyn Random,
    ) -> Result<Swept, StoreError> {
        let mut purged = 0;
        let more = self.list.walk(
            store,
            now,
            batch,
            random,
            |e: &Expiring| e.expires_at,
            |entry| {
                store.delete_many(&entry.keys)?;
                purged += 1;
                Ok(Outcome::Done)
            },
        )?;
        Ok(Swept { purged, more })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::marks;
    use crate::kv::memory::{CasMode, MemoryStore};
    use crate::random::SeededRandom;
    use crate::time::Duration;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_unix_millis(0) + Duration::minutes(minutes)
    }

    fn schedule(store: &MemoryStore, class: &ExpiryClass, key: &str, expires: i64) {
        let entry = Expiring { keys: vec![key.to_string()], expires_at: at(expires) };
        let pair = class.schedule(store, &entry).unwrap();
        store.set_many(&[pair, (key.to_string(), b"x".to_vec())]).unwrap();
    }

    #[test]
    fn expired_keys_are_purged_and_later_ones_kept() {
        for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
            let s = MemoryStore::with_mode(mode);
            let r = SeededRandom::new(1);
            let class = ExpiryClass::new("test");
            schedule(&s, &class, "a", 10);
            schedule(&s, &class, "b", 20);
            schedule(&s, &class, "c", 30);
            let swept = class.sweep(&s, at(25), 100, &r).unwrap();
            assert_eq!(swept, Swept { purged: 2, more: false });
            let keys: Vec<String> = s.dump().into_keys().collect();
            assert!(!keys.contains(&"a".to_string()) && !keys.contains(&"b".to_string()));
            assert!(keys.contains(&"c".to_string()));
            assert_eq!(class.sweep(&s, at(25), 100, &r).unwrap().purged, 0, "{mode:?}: nothing twice");
            assert_eq!(class.sweep(&s, at(31), 100, &r).unwrap().purged, 1);
            assert!(!s.dump().contains_key("c"));
        }
    }

    #[test]
    fn a_batch_limit_leaves_the_rest_for_the_next_sweep() {
        let s = MemoryStore::new();
        let r = SeededRandom::new(1);
        let class = ExpiryClass::new("test");
        for i in 0..5 {
            schedule(&s, &class, &format!("k{i}"), 1);
        }
        assert_eq!(class.sweep(&s, at(2), 3, &r).unwrap(), Swept { purged: 3, more: true });
        assert_eq!(class.sweep(&s, at(2), 3, &r).unwrap(), Swept { purged: 2, more: false });
        assert!(s.dump().keys().all(|k| k.starts_with("idx/expiring/test/")));
    }

    #[test]
    fn an_entry_written_after_a_sweep_passed_its_slot_is_still_purged() {
        let s = MemoryStore::new();
        let r = SeededRandom::new(1);
        let class = ExpiryClass::new("test");
        // A writer reserves a slot, a sweep runs, then the writer's entry lands.
        let (slot_key, entry) = class.schedule(&s, &Expiring { keys: vec!["late".into()], expires_at: at(1) }).unwrap();
        schedule(&s, &class, "on-time", 1);
        assert_eq!(class.sweep(&s, at(2), 10, &r).unwrap().purged, 1);
        s.set_many(&[(slot_key, entry), ("late".to_string(), b"x".to_vec())]).unwrap();
        assert_eq!(class.sweep(&s, at(3), 10, &r).unwrap().purged, 1, "read again while unsettled");
        assert!(!s.dump().contains_key("late"));
        // After marks::STALL_WAIT an empty slot is given up: nothing is read again.
        let (gone, _) = class.schedule(&s, &Expiring { keys: vec![], expires_at: at(3) }).unwrap();
        class.sweep(&s, at(4), 10, &r).unwrap();
        class.sweep(&s, at(4) + marks::STALL_WAIT + Duration::minutes(1), 10, &r).unwrap();
        s.reset_ops();
        class.sweep(&s, at(30), 10, &r).unwrap();
        assert!(s.ops() <= 6, "{} operations: the empty slot {gone} is no longer read", s.ops());
    }

    #[test]
    fn empty_slots_from_failed_writes_do_not_stop_the_sweep() {
        let s = MemoryStore::new();
        let r = SeededRandom::new(1);
        let class = ExpiryClass::new("test");
        class.schedule(&s, &Expiring { keys: vec!["lost".into()], expires_at: at(1) }).unwrap();
        schedule(&s, &class, "kept-until-2", 2);
        assert_eq!(class.sweep(&s, at(3), 10, &r).unwrap().purged, 1);
        assert!(!s.dump().contains_key("kept-until-2"));
    }
}
