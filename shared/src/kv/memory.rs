//! An in-memory store that behaves like Spin's, weaknesses included, for unit tests.
//!
//! It reproduces what code must not rely on: a swap from an absent key upserts, and in
//! [`CasMode::RedisLike`] every applied swap still reports a conflict. It counts
//! operations, so tests and notes can state the store cost of a request, and it can
//! fail writes (all of them, or only swaps), so tests can prove that nothing half-done
//! is left behind.

use super::{KeyValue, StoreError, Swap};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// How compare-and-swap reports success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CasMode {
    /// As Spin's SQLite store: an applied swap reports success.
    #[default]
    SqliteLike,
    /// As Spin's Redis store: an applied swap reports `cas-failed`.
    RedisLike,
}

/// Spin-like store in memory. Thread-safe, so concurrency tests can share one.
#[derive(Debug, Default)]
pub struct MemoryStore {
    data: Mutex<BTreeMap<String, Vec<u8>>>,
    mode: CasMode,
    fail_writes: AtomicBool,
    fail_swaps: AtomicBool,
    ops: AtomicU64,
}

/// What `cas_begin` read.
#[derive(Debug)]
pub struct MemoryCas {
    key: String,
    current: Option<Vec<u8>>,
}

impl MemoryStore {
    /// An empty store that behaves like Spin's SQLite default.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with the given CAS reporting.
    pub fn with_mode(mode: CasMode) -> Self {
        MemoryStore { mode, ..Self::default() }
    }

    /// Makes every write fail (reads still work), like a store that lost its disk.
    pub fn fail_writes(&self, fail: bool) {
        self.fail_writes.store(fail, Ordering::SeqCst);
    }

    /// Makes every compare-and-swap fail (everything else still works): a failure at
    /// the commit point, after whatever was written before the swap.
    pub fn fail_swaps(&self, fail: bool) {
        self.fail_swaps.store(fail, Ordering::SeqCst);
    }

    /// Every key and value, for tests that inspect what was stored.
    pub fn dump(&self) -> BTreeMap<String, Vec<u8>> {
        self.data.lock().unwrap().clone()
    }

    /// Host calls Spin would make for the operations served so far: one per port call,
    /// except `get_many`, which the Spin adapter serves with one `get` per key.
    pub fn ops(&self) -> u64 {
        self.ops.load(Ordering::SeqCst)
    }

    /// Resets the operation count.
    pub fn reset_ops(&self) {
        self.ops.store(0, Ordering::SeqCst);
    }

    fn count(&self) {
        self.ops.fetch_add(1, Ordering::SeqCst);
    }

    fn check_write(&self) -> Result<(), StoreError> {
        if self.fail_writes.load(Ordering::SeqCst) {
            Err(StoreError("injected write failure".into()))
        } else {
            Ok(())
        }
    }
}

impl KeyValue for MemoryStore {
    type Cas = MemoryCas;

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.count();
        Ok(self.data.lock().unwrap().get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.count();
        self.check_write()?;
        self.data.lock().unwrap().insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.count();
        self.check_write()?;
        self.data.lock().unwrap().remove(key);
        Ok(())
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.count();
        Ok(self.data.lock().unwrap().contains_key(key))
    }

    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.ops.fetch_add(keys.len() as u64, Ordering::SeqCst);
        let data = self.data.lock().unwrap();
        Ok(keys.iter().map(|k| data.get(k).cloned()).collect())
    }

    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.count();
        self.check_write()?;
        let mut data = self.data.lock().unwrap();
        for (k, v) in entries {
            data.insert(k.clone(), v.clone());
        }
        Ok(())
    }

    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.count();
        self.check_write()?;
        let mut data = self.data.lock().unwrap();
        for k in keys {
            data.remove(k);
        }
        Ok(())
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.count();
        self.check_write()?;
        let mut data = self.data.lock().unwrap();
        let current = match data.get(key) {
            None => 0,
            Some(bytes) => {
                // Spin's SQLite store panics the request here; so do we, loudly.
                let raw: [u8; 8] = bytes.as_slice().try_into().unwrap_or_else(|_| {
                    panic!("increment on a key that holds a non-counter value ({} bytes)", bytes.len())
                });
                i64::from_le_bytes(raw)
            }
        };
        let next = current + delta;
        data.insert(key.to_string(), next.to_le_bytes().to_vec());
        Ok(next)
    }

    fn cas_begin(&self, key: &str) -> Result<(MemoryCas, Option<Vec<u8>>), StoreError> {
        self.count();
        let current = self.data.lock().unwrap().get(key).cloned();
        Ok((MemoryCas { key: key.to_string(), current: current.clone() }, current))
    }

    fn cas_swap(&self, cas: MemoryCas, value: &[u8]) -> Result<Swap, StoreError> {
        self.count();
        self.check_write()?;
        if self.fail_swaps.load(Ordering::SeqCst) {
            return Err(StoreError("injected swap failure".into()));
        }
        let mut data = self.data.lock().unwrap();
        let applies = match &cas.current {
            // What real Spin does: a swap from "absent" guards nothing.
            None => true,
            Some(read) => data.get(&cas.key) == Some(read),
        };
        if !applies {
            return Ok(Swap::Conflict);
        }
        data.insert(cas.key, value.to_vec());
        Ok(match self.mode {
            CasMode::SqliteLike => Swap::Applied,
            CasMode::RedisLike => Swap::Conflict,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{claim, read_counter};

    #[test]
    fn a_stale_swap_does_not_apply() {
        let s = MemoryStore::new();
        s.set("k", b"a").unwrap();
        let (cas, current) = s.cas_begin("k").unwrap();
        assert_eq!(current.as_deref(), Some(&b"a"[..]));
        s.set("k", b"b").unwrap();
        assert_eq!(s.cas_swap(cas, b"c").unwrap(), Swap::Conflict);
        assert_eq!(s.get("k").unwrap().as_deref(), Some(&b"b"[..]));
    }

    #[test]
    fn a_swap_from_absent_overwrites_a_concurrent_create_like_spin() {
        let s = MemoryStore::new();
        let (cas, current) = s.cas_begin("k").unwrap();
        assert!(current.is_none());
        s.set("k", b"theirs").unwrap();
        assert_eq!(s.cas_swap(cas, b"mine").unwrap(), Swap::Applied);
        assert_eq!(s.get("k").unwrap().as_deref(), Some(&b"mine"[..]));
    }

    #[test]
    fn redis_like_mode_reports_conflict_for_an_applied_swap() {
        let s = MemoryStore::with_mode(CasMode::RedisLike);
        s.set("k", b"a").unwrap();
        let (cas, _) = s.cas_begin("k").unwrap();
        assert_eq!(s.cas_swap(cas, b"b").unwrap(), Swap::Conflict);
        assert_eq!(s.get("k").unwrap().as_deref(), Some(&b"b"[..]));
    }

    #[test]
    fn claims_are_won_once() {
        let s = MemoryStore::new();
        assert!(claim(&s, "c").unwrap());
        assert!(!claim(&s, "c").unwrap());
        assert_eq!(read_counter(&s, "c").unwrap(), 2);
    }

    #[test]
    #[should_panic(expected = "non-counter")]
    fn increment_on_a_document_panics_like_spin_sqlite() {
        let s = MemoryStore::new();
        s.set("k", b"{}").unwrap();
        let _ = s.increment("k", 1);
    }

    #[test]
    fn failed_writes_change_nothing() {
        let s = MemoryStore::new();
        s.fail_writes(true);
        assert!(s.set_many(&[("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())]).is_err());
        assert!(s.increment("n", 1).is_err());
        assert!(s.dump().is_empty());
    }
}
