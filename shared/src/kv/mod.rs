//! The key-value port: exactly what real Spin guarantees, no more.
//!
//! Spin's store (see `docs/spin-kv.md`) is narrower than its interface suggests,
//! and this port's contract is written down to what it really does:
//!
//! - `set_many` is atomic (one SQLite transaction, one Redis `MSET`): write a record
//!   together with its index entries in one call.
//! - `increment` is atomic, but backends encode counters differently: keep counters in
//!   keys of their own and read them with [`read_counter`], which decodes both encodings
//!   from a plain `get` (no write transaction, no key created).
//! - Compare-and-swap guards only a key that exists: a swap from an absent value is an
//!   unconditional upsert. Claim new keys with [`claim`] (`increment(..) == 1`).
//! - A swap can report a conflict although it applied (Redis): [`Swap::Conflict`] is
//!   ambiguous, so every CAS-written value must identify its write and the writer
//!   re-reads to find out ([`versioned`] does this).
//! - Listing keys is a full scan: the port has no such operation. Keep index keys
//!   ([`slots`]).
//! - `batch::get_many` is broken on Spin's Redis store (it sends `KEYS k1 k2 ...`), so
//!   [`KeyValue::get_many`] is served with one `get` per key on Spin, on every backend:
//!   every key is answered, and a present key is never reported absent.

pub mod expiry;
pub mod marks;
pub mod memory;
pub mod slots;
pub mod versioned;

use std::fmt;

/// The store failed or refused; the operation may or may not have happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key-value store error: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// What a swap reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    /// The value was written.
    Applied,
    /// The store says the value changed since it was read. On Redis this is also reported
    /// for swaps that applied: re-read and compare with what you wrote.
    Conflict,
}

/// A key-value store with Spin's semantics.
pub trait KeyValue {
    /// A compare-and-swap handle, holding what `cas_begin` read.
    type Cas;

    /// The value of `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Sets `key`, unconditionally.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Deletes `key` (absent is fine).
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Whether `key` has a value.
    fn exists(&self, key: &str) -> Result<bool, StoreError>;
    /// The values of `keys`, in the same order: one answer per key asked, a repeated key
    /// answered each time. An adapter may never report a present key as absent.
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError>;
    /// Sets every entry, atomically: all or none.
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError>;
    /// Deletes every key.
    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError>;
    /// Adds `delta` to the counter at `key` (absent counts as 0) and returns the new value.
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;
    /// Starts a compare-and-swap: reads the current value (always read before a swap).
    fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), StoreError>;
    /// Writes `value` if the key still holds what `cas_begin` read. If it read nothing,
    /// this is an unconditional upsert: never rely on it to create a key exclusively.
    fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<Swap, StoreError>;
}

/// Claims `key` for exactly one caller: true for the first, false for everyone after.
/// The only race-free way to create a key exclusively on every Spin backend.
pub fn claim<S: KeyValue>(store: &S, key: &str) -> Result<bool, StoreError> {
    Ok(store.increment(key, 1)? == 1)
}

/// Reads a counter without changing it: one plain `get`, never a write.
///
/// `increment(key, 0)` would read it too, but on Spin's SQLite store that is a write
/// transaction (a file sync under the app's one connection), and it creates the key.
/// A `get` returns the backend's own encoding, which [`decode_counter`] reads.
pub fn read_counter<S: KeyValue>(store: &S, key: &str) -> Result<i64, StoreError> {
    match store.get(key)? {
        None => Ok(0),
        Some(bytes) => decode_counter(&bytes)
            .ok_or_else(|| StoreError(format!("a {} key holds a value that is not a counter", key_kind(key)))),
    }
}

/// A counter as a backend stores it: Spin's SQLite store keeps 8 bytes little-endian,
/// Redis (`INCRBY`) ASCII decimal digits. The two never look alike for the counters we
/// keep (|n| < 2^56): the top byte of such a little-endian value is 0x00 or 0xFF, while
/// every byte of a decimal number is a digit or a minus sign.
pub fn decode_counter(bytes: &[u8]) -> Option<i64> {
    if let Ok(raw) = <[u8; 8]>::try_from(bytes) {
        if raw[7] == 0x00 || raw[7] == 0xFF {
            return Some(i64::from_le_bytes(raw));
        }
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// Reads a JSON document.
pub fn get_json<S: KeyValue, T: serde::de::DeserializeOwned>(store: &S, key: &str) -> Result<Option<T>, StoreError> {
    match store.get(key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| undecodable(key, e)),
    }
}

/// The error of [`get_json`], compiled once rather than once per document type.
#[inline(never)]
fn undecodable(key: &str, e: serde_json::Error) -> StoreError {
    StoreError(format!("undecodable document at a {} key: {e}", key_kind(key)))
}

/// Encodes a document for storage.
pub fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("stored documents serialise")
}

/// The first segment of a key (`case`, `idx`, ...): enough to say what failed without
/// writing an id, or anything derived from personal data, into a log.
pub fn key_kind(key: &str) -> &str {
    key.split('/').next().unwrap_or("")
}

impl<S: KeyValue + ?Sized> KeyValue for &S {
    type Cas = S::Cas;
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        (**self).delete(key)
    }
    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        (**self).exists(key)
    }
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        (**self).get_many(keys)
    }
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        (**self).set_many(entries)
    }
    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        (**self).delete_many(keys)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        (**self).increment(key, delta)
    }
    fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), StoreError> {
        (**self).cas_begin(key)
    }
    fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<Swap, StoreError> {
        (**self).cas_swap(cas, value)
    }
}

#[cfg(test)]
mod tests {
    use super::decode_counter;

    #[test]
    fn counters_decode_from_either_backend() {
        for n in [0i64, 1, 9, 10, 12_345_678, 1_800_000_000, -1, -42, (1 << 55) - 1, -(1 << 55)] {
            assert_eq!(decode_counter(&n.to_le_bytes()), Some(n), "SQLite's encoding of {n}");
            assert_eq!(decode_counter(n.to_string().as_bytes()), Some(n), "Redis's encoding of {n}");
        }
        // Eight ASCII digits are Redis's, not a little-endian number.
        assert_eq!(decode_counter(b"12345678"), Some(12_345_678));
        assert_eq!(decode_counter(b"{}"), None);
        assert_eq!(decode_counter(b""), None);
    }
}
