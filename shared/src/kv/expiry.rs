//! Keys that must disappear after a while (abuse counters, idempotency records), found
//! again without ever listing keys.
//!
//! Each class of expiring keys has a [`SlotLog`] of [`Expiring`] entries, appended in
//! time order by the writers, and a low-water mark (a versioned document) below which
//! every entry has been purged. A sweep walks forward from the mark, deletes what has
//! expired, and stops at the first entry that has not: entries of one class share one
//! lifetime, so everything after it expires later. Two sweeps at once delete the same
//! keys (harmless) and move the mark with compare-and-swap, never backwards.

use super::slots::SlotLog;
use super::versioned::{self, Change, Versioned};
use super::{claim, KeyValue, StoreError};
use crate::random::Random;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// One batch of keys that expire together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiring {
    pub keys: Vec<String>,
    pub expires_at: Timestamp,
}

/// A class of keys with one lifetime, e.g. `limit` or `idem`.
#[derive(Debug, Clone)]
pub struct ExpiryClass {
    log: SlotLog,
    mark: LowWaterMark,
}

/// The slot of a list below which every entry is done: a versioned document created
/// once (by a claim) and moved forward only, by compare-and-swap, so two sweeps at once
/// never move it back. For lists walked like an [`ExpiryClass`] whose entries need a
/// decision of their own (retention purges that re-read what they purge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowWaterMark {
    key: String,
}

impl LowWaterMark {
    /// The mark stored at `key` (and its creation claim at `<key>/claim`).
    pub fn new(key: impl Into<String>) -> Self {
        LowWaterMark { key: key.into() }
    }

    /// The mark (0 before the first sweep), created if absent.
    pub fn read<S: KeyValue>(&self, store: &S, random: &dyn Random) -> Result<u64, StoreError> {
        if let Some(mark) = versioned::read::<_, u64>(store, &self.key)? {
            return Ok(mark.data);
        }
        // Create the mark exactly once (CAS cannot guard an absent key).
        if claim(store, &format!("{}/claim", self.key))? {
            store.set(&self.key, &Versioned::first(0u64, random).encode())?;
            return Ok(0);
        }
        Ok(versioned::read::<_, u64>(store, &self.key)?.map(|m| m.data).unwrap_or(0))
    }

    /// Moves the mark to `to` if that is forward.
    pub fn advance<S: KeyValue>(&self, store: &S, to: u64, random: &dyn Random) -> Result<(), StoreError> {
        let moved = versioned::update(store, &self.key, random, |mark: &mut u64, _| {
            if to > *mark {
                *mark = to;
                Ok::<_, ()>(Change::Write(()))
            } else {
                Ok(Change::Keep(()))
            }
        });
        match moved {
            Ok(_) | Err(versioned::UpdateError::NotFound) => Ok(()),
            Err(versioned::UpdateError::Store(e)) => Err(e),
            Err(other) => Err(StoreError(format!("moving the low-water mark: {other}"))),
        }
    }
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
        ExpiryClass {
            log: SlotLog::new(format!("idx/expiring/{name}")),
            mark: LowWaterMark::new(format!("idx/expiring/{name}/mark")),
        }
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
        let mark = self.mark.read(store, random)?;
        let last = self.log.last_slot(store)?;
        let until = last.min(mark + batch);
        let mut done_up_to = mark;
        let mut swept = Swept::default();
        for (slot, bytes) in self.log.read(store, mark + 1, until)? {
            let entry: Expiring =
                serde_json::from_slice(&bytes).map_err(|e| StoreError(format!("undecodable expiry entry: {e}")))?;
            if entry.expires_at > now {
                return self.mark.advance(store, done_up_to, random).map(|_| swept);
            }
            let mut keys = entry.keys;
            keys.push(self.log.key(slot));
            store.delete_many(&keys)?;
            swept.purged += 1;
            done_up_to = slot;
        }
        // Every slot up to `until` is purged or empty (a reservation whose write failed).
        swept.more = until < last;
        self.mark.advance(store, until, random)?;
        Ok(swept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
