//! The store itself: SQLite with Spin's table layout and Spin's semantics,
//! including its weaknesses (see `shared/docs/spin-kv.md`).

use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Where the key-value data lives.
#[derive(Debug, Clone, Default)]
pub enum StoreBacking {
    /// A private in-memory database, gone when the app stops.
    #[default]
    Memory,
    /// A SQLite file; several apps opening the same file share data, as
    /// several Spin instances share one Redis.
    File(PathBuf),
}

/// How a store reports compare-and-swap, mirroring one of Spin's backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CasFlavour {
    /// Spin's default SQLite store.
    #[default]
    Sqlite,
    /// Spin's Redis store: counters are ASCII digits, a swap from an observed
    /// absent key is a real create-if-absent, and every swap reports
    /// `cas-failed`, even one that applied.
    RedisLike,
}

/// What a swap must find in the store to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// `current()` was never called: no condition.
    Unread,
    /// `current()` saw no value.
    Absent,
    /// `current()` saw this value.
    Value(Vec<u8>),
}

/// Whether a swap wrote its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapOutcome {
    Applied,
    Stale,
}

/// Why an increment did not produce a number.
#[derive(Debug)]
pub enum IncrementError {
    /// A store error the guest sees as `other(..)`.
    Store(String),
    /// The key holds something that is not a counter. Spin's SQLite store
    /// panics on this, so the host traps the request.
    NotACounter(String),
}

/// Fault injection: which writes the store refuses with `other(..)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WriteFault {
    #[default]
    None,
    /// Every write (set, set_many, delete, delete_many, swap, increment).
    All,
    /// Writes of keys starting with this prefix; a batch holding one such key
    /// fails after writing the others, so only its transaction keeps them out.
    KeysStartingWith(String),
}

/// A key with its value, if it has one (`get-many`).
pub type Found = (String, Option<Vec<u8>>);

/// Spin's `spin_key_value` table behind one connection.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    flavour: CasFlavour,
    fault: Mutex<WriteFault>,
}

impl SqliteStore {
    pub fn open(backing: &StoreBacking, flavour: CasFlavour) -> Result<SqliteStore> {
        let conn = match backing {
            StoreBacking::Memory => Connection::open_in_memory()?,
            StoreBacking::File(path) => {
                let conn =
                    Connection::open(path).with_context(|| format!("cannot open key-value file {}", path.display()))?;
                // Two apps on one file take turns instead of failing at once.
                conn.busy_timeout(Duration::from_secs(10))?;
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn
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
        Ok(SqliteStore { conn: Mutex::new(conn), flavour, fault: Mutex::new(WriteFault::None) })
    }

    pub fn flavour(&self) -> CasFlavour {
        self.flavour
    }

    /// Fault hook: which writes fail from now on.
    pub fn set_write_fault(&self, fault: WriteFault) {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = fault;
    }

    /// The injected error for writing `key`, if the fault covers it.
    fn refusal(&self, key: &str) -> Option<String> {
        match &*self.fault.lock().unwrap_or_else(|e| e.into_inner()) {
            WriteFault::None => None,
            WriteFault::All => Some("injected fault: the store refuses writes".to_string()),
            WriteFault::KeysStartingWith(p) if key.starts_with(p.as_str()) => {
                Some(format!("injected fault: the store refuses writes to {key:?}"))
            }
            WriteFault::KeysStartingWith(_) => None,
        }
    }

    fn refuse_write(&self, key: &str) -> Result<(), String> {
        match self.refusal(key) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, String> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conn).map_err(|e| e.to_string())
    }

    pub fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.with_conn(|c| read(c, store, key))
    }

    pub fn exists(&self, store: &str, key: &str) -> Result<bool, String> {
        Ok(self.get(store, key)?.is_some())
    }

    pub fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), String> {
        self.refuse_write(key)?;
        self.with_conn(|c| upsert(c, store, key, value))
    }

    pub fn delete(&self, store: &str, key: &str) -> Result<(), String> {
        self.refuse_write(key)?;
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

    pub fn get_many(&self, store: &str, keys: &[String]) -> Result<Vec<Found>, String> {
        self.with_conn(|c| keys.iter().map(|k| Ok((k.clone(), read(c, store, k)?))).collect())
    }

    /// All pairs or none: one transaction, as Spin's SQLite store (Redis: MSET).
    pub fn set_many(&self, store: &str, pairs: &[(String, Vec<u8>)]) -> Result<(), String> {
        let mut fault = None;
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (k, v) in pairs {
                if let Some(e) = self.refusal(k) {
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
        for k in keys {
            self.refuse_write(k)?;
        }
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for k in keys {
                tx.execute("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2", params![store, k])?;
            }
            tx.commit()
        })
    }

    /// Atomically adds `delta` to the counter at `key` (absent counts as 0).
    pub fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, IncrementError> {
        self.refuse_write(key).map_err(IncrementError::Store)?;
        let flavour = self.flavour;
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let store_err = |e: rusqlite::Error| IncrementError::Store(e.to_string());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(store_err)?;
        let current = match read(&tx, store, key).map_err(store_err)? {
            None => 0,
            Some(bytes) => decode_counter(flavour, &bytes).ok_or_else(|| {
                IncrementError::NotACounter(format!(
                    "key {key:?} holds {} bytes that are not a {} counter",
                    bytes.len(),
                    match flavour {
                        CasFlavour::Sqlite => "little-endian i64",
                        CasFlavour::RedisLike => "decimal",
                    }
                ))
            })?,
        };
        let next =
            current.checked_add(delta).ok_or_else(|| IncrementError::Store("increment overflows i64".to_string()))?;
        upsert(&tx, store, key, &encode_counter(flavour, next)).map_err(store_err)?;
        tx.commit().map_err(store_err)?;
        Ok(next)
    }

    /// Writes `value` at `key` if the store still holds what `expected` says,
    /// with the flavour's idea of what an unread or absent expectation means.
    pub fn swap(&self, store: &str, key: &str, expected: &Expectation, value: &[u8]) -> Result<SwapOutcome, String> {
        self.refuse_write(key)?;
        let flavour = self.flavour;
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = match (expected, flavour) {
                // SQLite: without an observed value the swap is a plain upsert,
                // even when another writer created the key in between.
                (Expectation::Unread, _) | (Expectation::Absent, CasFlavour::Sqlite) => {
                    upsert(&tx, store, key, value)?;
                    1
                }
                (Expectation::Absent, CasFlavour::RedisLike) => tx.execute(
                    "INSERT OR IGNORE INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)",
                    params![store, key, value],
                )?,
                (Expectation::Value(old), _) => tx.execute(
                    "UPDATE spin_key_value SET value = ?4 WHERE store = ?1 AND key = ?2 AND value = ?3",
                    params![store, key, old, value],
                )?,
            };
            tx.commit()?;
            Ok(if changed == 1 { SwapOutcome::Applied } else { SwapOutcome::Stale })
        })
    }
}

fn read(c: &Connection, store: &str, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
        .query_row(params![store, key], |r| r.get(0))
        .optional()
}

fn upsert(c: &Connection, store: &str, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![store, key, value])
    .map(drop)
}

fn decode_counter(flavour: CasFlavour, bytes: &[u8]) -> Option<i64> {
    match flavour {
        CasFlavour::Sqlite => Some(i64::from_le_bytes(bytes.try_into().ok()?)),
        CasFlavour::RedisLike => std::str::from_utf8(bytes).ok()?.parse().ok(),
    }
}

fn encode_counter(flavour: CasFlavour, n: i64) -> Vec<u8> {
    match flavour {
        CasFlavour::Sqlite => n.to_le_bytes().to_vec(),
        CasFlavour::RedisLike => n.to_string().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(flavour: CasFlavour) -> SqliteStore {
        SqliteStore::open(&StoreBacking::Memory, flavour).unwrap()
    }

    #[test]
    fn stale_swap_does_not_apply() {
        let s = store(CasFlavour::Sqlite);
        s.set("default", "k", b"v1").unwrap();
        s.set("default", "k", b"v2").unwrap();
        let out = s.swap("default", "k", &Expectation::Value(b"v1".to_vec()), b"v3").unwrap();
        assert_eq!(out, SwapOutcome::Stale);
        assert_eq!(s.get("default", "k").unwrap().unwrap(), b"v2");
    }

    #[test]
    fn sqlite_swap_from_absent_overwrites_a_concurrent_create() {
        let s = store(CasFlavour::Sqlite);
        s.set("default", "k", b"theirs").unwrap();
        let out = s.swap("default", "k", &Expectation::Absent, b"mine").unwrap();
        assert_eq!(out, SwapOutcome::Applied);
        assert_eq!(s.get("default", "k").unwrap().unwrap(), b"mine");
    }

    #[test]
    fn redis_like_swap_from_absent_is_create_only() {
        let s = store(CasFlavour::RedisLike);
        s.set("default", "k", b"theirs").unwrap();
        let out = s.swap("default", "k", &Expectation::Absent, b"mine").unwrap();
        assert_eq!(out, SwapOutcome::Stale);
    }

    #[test]
    fn counters_use_the_flavours_encoding() {
        let s = store(CasFlavour::Sqlite);
        assert_eq!(s.increment("default", "c", 5).unwrap(), 5);
        assert_eq!(s.get("default", "c").unwrap().unwrap(), 5i64.to_le_bytes());
        s.set("default", "x", b"abc").unwrap();
        assert!(matches!(s.increment("default", "x", 1), Err(IncrementError::NotACounter(_))));
        let r = store(CasFlavour::RedisLike);
        assert_eq!(r.increment("default", "c", 7).unwrap(), 7);
        assert_eq!(r.get("default", "c").unwrap().unwrap(), b"7");
    }

    #[test]
    fn set_many_writes_nothing_when_one_key_fails() {
        let s = store(CasFlavour::Sqlite);
        s.set_write_fault(WriteFault::KeysStartingWith("bad".into()));
        let pairs = vec![("a".to_string(), b"1".to_vec()), ("bad".to_string(), b"2".to_vec())];
        assert!(s.set_many("default", &pairs).is_err());
        assert_eq!(s.get("default", "a").unwrap(), None);
    }

    #[test]
    fn labels_are_separate_stores() {
        let s = store(CasFlavour::Sqlite);
        s.set("a", "k", b"1").unwrap();
        assert_eq!(s.get("b", "k").unwrap(), None);
    }
}
