//! Append-only index lists as numbered slot keys: race-free appends on every backend.
//!
//! A list `idx/pending_triage` lives in a counter `idx/pending_triage/n` and entry keys
//! `idx/pending_triage/s/<slot>`. An appender reserves a slot with an atomic increment
//! (no two writers ever get the same one) and writes the entry in the same `set_many`
//! as the record it indexes. Removing an entry deletes its slot key. Readers walk slot
//! ranges with `get_many` and skip empty slots (removed, or reserved by a write that
//! failed). Nothing ever lists keys.

use super::{read_counter, KeyValue, StoreError};

/// A slot and what it holds (`None`: empty).
pub type SlotValue = (u64, Option<Vec<u8>>);

/// An append-only list of small entries under one key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotLog {
    prefix: String,
}

impl SlotLog {
    /// The list stored under `prefix` (no trailing slash).
    pub fn new(prefix: impl Into<String>) -> Self {
        SlotLog { prefix: prefix.into() }
    }

    fn counter_key(&self) -> String {
        format!("{}/n", self.prefix)
    }

    /// The key of a slot's entry. Zero-padded so keys sort like slots.
    pub fn key(&self, slot: u64) -> String {
        format!("{}/s/{slot:012}", self.prefix)
    }

    /// Reserves the next slot (1-based). Write its entry at [`SlotLog::key`].
    pub fn reserve<S: KeyValue>(&self, store: &S) -> Result<u64, StoreError> {
        Ok(store.increment(&self.counter_key(), 1)? as u64)
    }

    /// Reserves `count` consecutive slots with one increment and returns the first
    /// (1-based); the block is `first..first + count`. For imports that append many
    /// entries to one list: one store operation instead of `count`.
    pub fn reserve_many<S: KeyValue>(&self, store: &S, count: u64) -> Result<u64, StoreError> {
        let last = store.increment(&self.counter_key(), count as i64)? as u64;
        Ok(last + 1 - count)
    }

    /// The highest slot reserved so far (0 for an empty list, and nothing is created).
    pub fn last_slot<S: KeyValue>(&self, store: &S) -> Result<u64, StoreError> {
        Ok(read_counter(store, &self.counter_key())?.max(0) as u64)
    }

    /// The entries in slots `from..=to` that exist, oldest first, in one `get_many`.
    pub fn read<S: KeyValue>(&self, store: &S, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        if from > to {
            return Ok(Vec::new());
        }
        let slots: Vec<u64> = (from.max(1)..=to).collect();
        let keys: Vec<String> = slots.iter().map(|s| self.key(*s)).collect();
        let values = store.get_many(&keys)?;
        Ok(slots.into_iter().zip(values).filter_map(|(slot, value)| value.map(|v| (slot, v))).collect())
    }

    /// What each of `slots` holds, in the order asked (`None`: empty).
    pub fn read_slots<S: KeyValue>(&self, store: &S, slots: &[u64]) -> Result<Vec<SlotValue>, StoreError> {
        let keys: Vec<String> = slots.iter().map(|s| self.key(*s)).collect();
        Ok(slots.iter().copied().zip(store.get_many(&keys)?).collect())
    }

    /// Every key this list owns for slots up to `last`: for purging the whole list.
    pub fn all_keys(&self, last: u64) -> Vec<String> {
        let mut keys: Vec<String> = (1..=last).map(|s| self.key(s)).collect();
        keys.push(self.counter_key());
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::memory::MemoryStore;

    #[test]
    fn appended_entries_read_back_in_order_and_removed_ones_are_skipped() {
        let s = MemoryStore::new();
        let log = SlotLog::new("idx/test");
        for word in ["a", "b", "c"] {
            let slot = log.reserve(&s).unwrap();
            s.set_many(&[(log.key(slot), word.as_bytes().to_vec())]).unwrap();
        }
        s.delete(&log.key(2)).unwrap();
        let last = log.last_slot(&s).unwrap();
        assert_eq!(last, 3);
        let entries = log.read(&s, 1, last).unwrap();
        assert_eq!(entries, vec![(1, b"a".to_vec()), (3, b"c".to_vec())]);
    }

    #[test]
    fn a_reserved_block_follows_earlier_slots() {
        let s = MemoryStore::new();
        let log = SlotLog::new("idx/block");
        assert_eq!(log.reserve(&s).unwrap(), 1);
        assert_eq!(log.reserve_many(&s, 3).unwrap(), 2);
        assert_eq!(log.reserve(&s).unwrap(), 5);
    }

    #[test]
    fn concurrent_appends_get_distinct_slots() {
        let s = std::sync::Arc::new(MemoryStore::new());
        let log = SlotLog::new("idx/x");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (s, log) = (s.clone(), log.clone());
                std::thread::spawn(move || (0..50).map(|_| log.reserve(&*s).unwrap()).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<u64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 400);
    }
}
