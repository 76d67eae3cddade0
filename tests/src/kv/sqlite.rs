//! Spin's default store: SQLite with Spin's table layout and Spin's semantics,
//! including its weaknesses (see `docs/spin-kv.md`, "The facts, and what the code does about them").
//!
//! It runs as Spin runs it (`crates/key-value-spin/src/store.rs` in Spin's source):
//! ONE connection for the whole app, behind one mutex, and every operation inside
//! `tokio::task::block_in_place` on the calling request's worker thread. So every
//! request of every component, service-chained callees included, queues for that
//! connection, and a file store pays SQLite's commit (journal and fsync) per write
//! while holding it. `docs/spin-host.md`, "Concurrency and timing", says what follows.

use super::{Expectation, Found, HostError, Refusal};
use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;

/// Spin's `spin_key_value` table behind one connection (Spin too holds one
/// connection per app behind a mutex, shared by every label).
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// A private in-memory database, or a file several apps may share.
    ///
    /// A file is opened as Spin opens `.spin/sqlite_key_value.db`: a plain
    /// `Connection::open`, so SQLite's defaults (rollback journal, `synchronous=FULL`:
    /// each committed write syncs the file) and rusqlite's 5 s busy timeout, with
    /// which two apps on one file take turns instead of failing at once.
    pub fn open(file: Option<&Path>) -> Result<SqliteStore> {
        let conn = match file {
            None => Connection::open_in_memory()?,
            Some(path) => {
                Connection::open(path).with_context(|| format!("cannot open key-value file {}", path.display()))?
            }
        };
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL,
                key   TEXT NOT NULL,
                value BLOB NOT NULL,
                PRIMARY KEY (store, key)
            )",
        )?;
        Ok(SqliteStore { conn: Mutex::new(conn) })
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, String> {
        blocking(|| {
            let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn).map_err(|e| e.to_string())
        })
    }

    pub fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.with_conn(|c| read(c, store, key))
    }

    pub fn exists(&self, store: &str, key: &str) -> Result<bool, String> {
        Ok(self.get(store, key)?.is_some())
    }

    pub fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), String> {
        self.with_conn(|c| upsert(c, store, key, value))
    }

    pub fn delete(&self, store: &str, key: &str) -> Result<(), String> {
        self.with_conn(|c| {
            c.execute("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2", params![store, key]).map(drop)
        })
    }

    /// Every key of the store: a full scan, as on every Spin backend.
    pub fn keys(&self, store: &str) -> Result<Vec<String>, String> {
        self.with_conn(|c| {
            let mut stmt = c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            let rows = stmt.query_map(params![store], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Every entry of the store, for tests to inspect.
    pub fn dump(&self, store: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        self.with_conn(|c| {
            let mut stmt = c.prepare_cached("SELECT key, value FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            let rows = stmt.query_map(params![store], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// Every key asked for, with its value if any: SQLite answers this right.
    pub fn get_many(&self, store: &str, keys: &[String]) -> Result<Vec<Found>, String> {
        self.with_conn(|c| keys.iter().map(|k| Ok((k.clone(), read(c, store, k)?))).collect())
    }

    /// All pairs or none: one transaction, as Spin's SQLite store. A pair the
    /// fault hook refuses fails the batch after the earlier pairs were written,
    /// so only the transaction keeps them out.
    pub fn set_many(&self, store: &str, pairs: &[(String, Vec<u8>)], refusal: Refusal) -> Result<(), String> {
        let mut fault = None;
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (k, v) in pairs {
                if let Some(e) = refusal(k) {
                    // Dropping the transaction rolls back the pairs written so far.
                    fault = Some(e);
                    return Ok(());
                }
                upsert(&tx, store, k, v)?;
            }
            tx.commit()
        })?;
        fault.map_or(Ok(()), Err)
    }

    pub fn delete_many(&self, store: &str, keys: &[String]) -> Result<(), String> {
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for k in keys {
                tx.execute("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2", params![store, k])?;
            }
            tx.commit()
        })
    }

    /// Atomically adds `delta` to the counter at `key` (absent counts as 0).
    /// Counters are 8 bytes little-endian; Spin panics on anything else there.
    pub fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, HostError> {
        blocking(|| self.increment_locked(store, key, delta))
    }

    fn increment_locked(&self, store: &str, key: &str, delta: i64) -> Result<i64, HostError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let store_err = |e: rusqlite::Error| HostError::Guest(e.to_string());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(store_err)?;
        let current = match read(&tx, store, key).map_err(store_err)? {
            None => 0,
            Some(bytes) => i64::from_le_bytes(bytes.as_slice().try_into().map_err(|_| {
                HostError::Trap(format!(
                    "increment: key {key:?} holds {} bytes that are not a little-endian i64 counter",
                    bytes.len()
                ))
            })?),
        };
        let next = current.checked_add(delta).ok_or_else(|| HostError::Guest("increment overflows i64".to_string()))?;
        upsert(&tx, store, key, &next.to_le_bytes()).map_err(store_err)?;
        tx.commit().map_err(store_err)?;
        Ok(next)
    }

    /// Writes `value` at `key` if the store still holds what `expected` says.
    /// Without an observed value (never read, or read absent) the swap is a
    /// plain upsert, even when another writer created the key in between.
    pub fn swap(&self, store: &str, key: &str, expected: &Expectation, value: &[u8]) -> Result<bool, String> {
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = match expected {
                Expectation::Unread | Expectation::Absent => {
                    upsert(&tx, store, key, value)?;
                    1
                }
                Expectation::Value(old) => tx.execute(
                    "UPDATE spin_key_value SET value = ?4 WHERE store = ?1 AND key = ?2 AND value = ?3",
                    params![store, key, old, value],
                )?,
            };
            tx.commit()?;
            Ok(changed == 1)
        })
    }
}

impl SqliteStore {
    /// Runs `f` inside one write transaction on the app's connection and commits it:
    /// for a test filling the store with prepared data (thousands of writes, one file
    /// sync). Guests wait for the connection meanwhile.
    pub fn in_transaction<R>(&self, f: impl FnOnce(&Connection) -> R) -> Result<R, String> {
        blocking(|| {
            let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| e.to_string())?;
            let r = f(&tx);
            tx.commit().map_err(|e| e.to_string())?;
            Ok(r)
        })
    }
}

/// Runs a store operation as Spin does: `block_in_place` on a worker of the
/// multi-threaded runtime (the worker blocks on the mutex and on SQLite; tokio
/// hands that worker's other tasks to a new thread meanwhile). Elsewhere (a test's
/// own thread, a single-threaded runtime, where `block_in_place` would panic) the
/// operation simply runs.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

pub(super) fn read(c: &Connection, store: &str, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
        .query_row(params![store, key], |r| r.get(0))
        .optional()
}

pub(super) fn upsert(c: &Connection, store: &str, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![store, key, value])
    .map(drop)
}

/// Deletes `key` on a connection (inside a caller's transaction).
pub(super) fn remove(c: &Connection, store: &str, key: &str) -> rusqlite::Result<()> {
    c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?.execute(params![store, key]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> SqliteStore {
        SqliteStore::open(None).unwrap()
    }

    #[test]
    fn stale_swap_does_not_apply() {
        let s = store();
        s.set("default", "k", b"v1").unwrap();
        s.set("default", "k", b"v2").unwrap();
        assert!(!s.swap("default", "k", &Expectation::Value(b"v1".to_vec()), b"v3").unwrap());
        assert_eq!(s.get("default", "k").unwrap().unwrap(), b"v2");
    }

    #[test]
    fn swap_from_absent_overwrites_a_concurrent_create() {
        let s = store();
        s.set("default", "k", b"theirs").unwrap();
        assert!(s.swap("default", "k", &Expectation::Absent, b"mine").unwrap());
        assert_eq!(s.get("default", "k").unwrap().unwrap(), b"mine");
    }

    #[test]
    fn counters_are_little_endian_and_anything_else_traps() {
        let s = store();
        assert_eq!(s.increment("default", "c", 5).unwrap(), 5);
        assert_eq!(s.get("default", "c").unwrap().unwrap(), 5i64.to_le_bytes());
        s.set("default", "x", b"abc").unwrap();
        assert!(matches!(s.increment("default", "x", 1), Err(HostError::Trap(_))));
    }

    #[test]
    fn set_many_writes_nothing_when_one_key_fails() {
        let s = store();
        let pairs = vec![("a".to_string(), b"1".to_vec()), ("bad".to_string(), b"2".to_vec())];
        let refuse = |k: &str| (k == "bad").then(|| "injected".to_string());
        assert!(s.set_many("default", &pairs, &refuse).is_err());
        assert_eq!(s.get("default", "a").unwrap(), None);
    }

    #[test]
    fn labels_are_separate_stores() {
        let s = store();
        s.set("a", "k", b"1").unwrap();
        assert_eq!(s.get("b", "k").unwrap(), None);
    }
}
