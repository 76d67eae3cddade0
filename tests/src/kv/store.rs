//! The app's store: one of Spin's backends, behind the fault hook tests aim at
//! it. Guests reach it through the interfaces of `mod.rs`; tests read it with
//! `dump`.

use super::redis::{RedisCas, RedisStore};
use super::sqlite::SqliteStore;
use anyhow::Result;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Where the key-value data lives, and so which of Spin's backends answers.
#[derive(Debug, Clone, Default)]
pub enum StoreBacking {
    /// Spin's default SQLite store, in a private in-memory database.
    #[default]
    Memory,
    /// Spin's default SQLite store in a file; several apps opening the same
    /// file share data.
    File(PathBuf),
    /// Spin's Redis store on a real redis-server (`redis://host:port[/db]`);
    /// several apps on one URL share data, as Spin instances on several nodes.
    Redis(String),
}

impl StoreBacking {
    /// A database of its own on the test process's redis-server.
    pub fn fresh_redis() -> Result<StoreBacking> {
        Ok(StoreBacking::Redis(super::RedisServer::shared()?.fresh_database()?))
    }
}

/// Fault injection: which writes the store refuses with `other(..)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WriteFault {
    #[default]
    None,
    /// Every write (set, set_many, delete, delete_many, swap, increment).
    All,
    /// Writes of keys starting with this prefix; a batch holding one such key
    /// is refused whole (SQLite: after writing the others, so only its
    /// transaction keeps them out).
    KeysStartingWith(String),
    /// Writes of keys starting with this prefix trap the guest instead (Spin's host
    /// failing hard mid-request): the request dies with nothing of that write stored.
    TrapKeysStartingWith(String),
}

/// A key with its value, if it has one (`get-many`).
pub type Found = (String, Option<Vec<u8>>);

/// The fault hook's verdict on writing a key.
pub type Refusal<'a> = &'a dyn Fn(&str) -> Option<String>;

/// How a store operation failed, as Spin would let the guest see it.
#[derive(Debug)]
pub enum HostError {
    /// An error value the guest receives (`other(..)`).
    Guest(String),
    /// Spin's host panics: the request dies (a bare 500).
    Trap(String),
}

impl From<String> for HostError {
    fn from(e: String) -> Self {
        HostError::Guest(e)
    }
}

/// What a swap must find in the store to apply (SQLite's view of `current()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// `current()` was never called: no condition.
    Unread,
    /// `current()` saw no value.
    Absent,
    /// `current()` saw this value.
    Value(Vec<u8>),
}

/// A compare-and-swap in progress, per backend.
pub enum CasState {
    Sqlite(Expectation),
    Redis(RedisCas),
}

/// What a swap reports to the guest.
pub enum SwapReport {
    Ok,
    /// `cas-failed`, with the state of the fresh handle the guest gets back.
    CasFailed(CasState),
}

/// Direct access to one label of the store for a test that fills it with prepared data
/// ([`KvStore::session`]): on SQLite every operation runs inside one transaction,
/// committed when the session ends; on Redis each is its own command. Not a guest's
/// view: nothing is recorded, no fault applies. Counters are encoded as the backend
/// encodes them for `increment`.
pub struct StoreSession<'a> {
    label: &'a str,
    inner: SessionInner<'a>,
}

enum SessionInner<'a> {
    Sqlite(&'a rusqlite::Connection),
    Redis(&'a RedisStore),
}

impl StoreSession<'_> {
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        match &self.inner {
            SessionInner::Sqlite(c) => super::sqlite::read(c, self.label, key).map_err(|e| e.to_string()),
            SessionInner::Redis(r) => r.get(key),
        }
    }

    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        match &self.inner {
            SessionInner::Sqlite(c) => super::sqlite::upsert(c, self.label, key, value).map_err(|e| e.to_string()),
            SessionInner::Redis(r) => r.set(key, value),
        }
    }

    pub fn delete(&self, key: &str) -> Result<(), String> {
        match &self.inner {
            SessionInner::Sqlite(c) => super::sqlite::remove(c, self.label, key).map_err(|e| e.to_string()),
            SessionInner::Redis(r) => r.delete(key),
        }
    }

    /// Adds `delta` to the counter at `key` and returns the new value.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
        match &self.inner {
            SessionInner::Sqlite(c) => {
                let current = match super::sqlite::read(c, self.label, key).map_err(|e| e.to_string())? {
                    None => 0,
                    Some(bytes) => i64::from_le_bytes(
                        bytes.as_slice().try_into().map_err(|_| format!("{key:?} holds no counter"))?,
                    ),
                };
                let next = current + delta;
                super::sqlite::upsert(c, self.label, key, &next.to_le_bytes()).map_err(|e| e.to_string())?;
                Ok(next)
            }
            SessionInner::Redis(r) => r.increment(key, delta).map_err(|e| match e {
                HostError::Guest(e) | HostError::Trap(e) => e,
            }),
        }
    }
}

enum Backend {
    Sqlite(SqliteStore),
    Redis(RedisStore),
}

/// What a guest's store operation was, as the benchmark counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// `get`, `exists`, a CAS handle's `current()`, and each key of `get_many`.
    Read,
    /// `set`, `delete`, and each key of `set_many` / `delete_many`.
    Write,
    /// A compare-and-swap's `swap`.
    Cas,
    /// `increment` by a non-zero delta.
    Increment,
    /// `increment` by 0: how weerbaar reads a counter (`shared::kv::read_counter`);
    /// a read in effect, though the store runs it as an atomic update.
    CounterRead,
    /// `get_keys` / `list_keys`: a scan of the whole store.
    ListKeys,
}

impl OpKind {
    /// Whether the store runs this operation as a write transaction (SQLite: `BEGIN`,
    /// write, `COMMIT`, which syncs the file): writes, deletes, swaps and increments,
    /// increments by 0 included. Reads, `current()` and key listings are not.
    pub fn commits(self) -> bool {
        matches!(self, OpKind::Write | OpKind::Cas | OpKind::Increment | OpKind::CounterRead)
    }
}

/// One store operation of a guest, recorded while recording is on.
#[derive(Debug, Clone)]
pub struct StoreOp {
    /// The component id that did it.
    pub component: String,
    pub kind: OpKind,
    /// The key (empty for a key listing).
    pub key: String,
    /// Which host call it was part of, numbered from 1 per store: every key of one
    /// `get_many`, `set_many` or `delete_many` shares the call's number, every other
    /// operation has its own. One call of a committing kind is one store transaction.
    pub call: u64,
}

/// The store transactions (commits) among `ops`: one per host call of a committing
/// kind ([`OpKind::commits`]), however many keys the call wrote. A `set_many` of ten
/// keys is one commit; ten `set`s are ten.
pub fn count_commits(ops: &[StoreOp]) -> usize {
    let mut calls: Vec<u64> = ops.iter().filter(|op| op.kind.commits()).map(|op| op.call).collect();
    calls.sort_unstable();
    calls.dedup();
    calls.len()
}

/// One app's key-value data.
pub struct KvStore {
    backend: Backend,
    fault: Mutex<WriteFault>,
    recording: AtomicBool,
    log: Mutex<Vec<StoreOp>>,
    /// The number of the last host call noted ([`StoreOp::call`]).
    calls: AtomicU64,
}

impl KvStore {
    pub fn open(backing: &StoreBacking) -> Result<KvStore> {
        let backend = match backing {
            StoreBacking::Memory => Backend::Sqlite(SqliteStore::open(None)?),
            StoreBacking::File(path) => Backend::Sqlite(SqliteStore::open(Some(path))?),
            StoreBacking::Redis(url) => Backend::Redis(RedisStore::open(url)?),
        };
        Ok(KvStore {
            backend,
            fault: Mutex::new(WriteFault::None),
            recording: AtomicBool::new(false),
            log: Mutex::new(Vec::new()),
            calls: AtomicU64::new(0),
        })
    }

    /// Starts (or stops) recording every guest operation, clearing the record.
    pub fn set_recording(&self, on: bool) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.recording.store(on, Ordering::SeqCst);
    }

    /// The operations recorded since recording started, emptying the record.
    pub fn take_recorded(&self) -> Vec<StoreOp> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Notes one host call of `kind` on `keys` by `component` (one operation per key, all
    /// with the call's number), if recording.
    pub(crate) fn note<'k>(&self, component: &str, kind: OpKind, keys: impl IntoIterator<Item = &'k str>) {
        if !self.recording.load(Ordering::Relaxed) {
            return;
        }
        let call = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            log.push(StoreOp { component: component.to_string(), kind, key: key.to_string(), call });
        }
    }

    /// Runs `f` with direct access to `label` ([`StoreSession`]); on SQLite in one
    /// transaction, committed when `f` returns.
    pub fn session<R>(&self, label: &str, f: impl FnOnce(&StoreSession) -> R) -> Result<R, String> {
        match &self.backend {
            Backend::Sqlite(s) => s.in_transaction(|c| f(&StoreSession { label, inner: SessionInner::Sqlite(c) })),
            Backend::Redis(r) => Ok(f(&StoreSession { label, inner: SessionInner::Redis(r) })),
        }
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
            WriteFault::KeysStartingWith(_) | WriteFault::TrapKeysStartingWith(_) => None,
        }
    }

    /// The trap injected for writing any of `keys`, if the fault covers one.
    pub fn trap<'k>(&self, keys: impl IntoIterator<Item = &'k String>) -> Option<String> {
        match &*self.fault.lock().unwrap_or_else(|e| e.into_inner()) {
            WriteFault::TrapKeysStartingWith(p) => keys
                .into_iter()
                .find(|k| k.starts_with(p.as_str()))
                .map(|k| format!("injected fault: the host traps writing {k:?}")),
            _ => None,
        }
    }

    fn refuse_any<'k>(&self, keys: impl IntoIterator<Item = &'k String>) -> Result<(), String> {
        keys.into_iter().find_map(|k| self.refusal(k)).map_or(Ok(()), Err)
    }

    pub fn get(&self, label: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        match &self.backend {
            Backend::Sqlite(s) => s.get(label, key),
            Backend::Redis(r) => r.get(key),
        }
    }

    pub fn exists(&self, label: &str, key: &str) -> Result<bool, String> {
        match &self.backend {
            Backend::Sqlite(s) => s.exists(label, key),
            Backend::Redis(r) => r.exists(key),
        }
    }

    pub fn set(&self, label: &str, key: &str, value: &[u8]) -> Result<(), String> {
        self.refusal(key).map_or(Ok(()), Err)?;
        match &self.backend {
            Backend::Sqlite(s) => s.set(label, key, value),
            Backend::Redis(r) => r.set(key, value),
        }
    }

    pub fn delete(&self, label: &str, key: &str) -> Result<(), String> {
        self.refusal(key).map_or(Ok(()), Err)?;
        match &self.backend {
            Backend::Sqlite(s) => s.delete(label, key),
            Backend::Redis(r) => r.delete(key),
        }
    }

    /// Every key: a full scan on every backend (Redis: of every label).
    pub fn keys(&self, label: &str) -> Result<Vec<String>, String> {
        match &self.backend {
            Backend::Sqlite(s) => s.keys(label),
            Backend::Redis(r) => r.keys(),
        }
    }

    /// Every entry under `label` (Redis: of the whole keyspace), sorted by key.
    pub fn dump(&self, label: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        match &self.backend {
            Backend::Sqlite(s) => s.dump(label),
            Backend::Redis(r) => r.dump(),
        }
    }

    pub fn get_many(&self, label: &str, keys: &[String]) -> Result<Vec<Found>, HostError> {
        match &self.backend {
            Backend::Sqlite(s) => Ok(s.get_many(label, keys)?),
            Backend::Redis(r) => r.get_many(keys),
        }
    }

    pub fn set_many(&self, label: &str, pairs: &[(String, Vec<u8>)]) -> Result<(), String> {
        match &self.backend {
            Backend::Sqlite(s) => s.set_many(label, pairs, &|k| self.refusal(k)),
            Backend::Redis(r) => {
                self.refuse_any(pairs.iter().map(|(k, _)| k))?;
                r.set_many(pairs)
            }
        }
    }

    pub fn delete_many(&self, label: &str, keys: &[String]) -> Result<(), String> {
        self.refuse_any(keys)?;
        match &self.backend {
            Backend::Sqlite(s) => s.delete_many(label, keys),
            Backend::Redis(r) => r.delete_many(keys),
        }
    }

    pub fn increment(&self, label: &str, key: &str, delta: i64) -> Result<i64, HostError> {
        self.refusal(key).map_or(Ok(()), Err)?;
        match &self.backend {
            Backend::Sqlite(s) => s.increment(label, key, delta),
            Backend::Redis(r) => r.increment(key, delta),
        }
    }

    /// `Cas::new`.
    pub fn cas_new(&self) -> Result<CasState, String> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(CasState::Sqlite(Expectation::Unread)),
            Backend::Redis(r) => Ok(CasState::Redis(r.cas_new()?)),
        }
    }

    /// `cas.current()`: reads the value and remembers what the swap must find.
    pub fn cas_current(&self, label: &str, key: &str, state: &mut CasState) -> Result<Option<Vec<u8>>, String> {
        match (&self.backend, state) {
            (Backend::Sqlite(s), CasState::Sqlite(seen)) => {
                let value = s.get(label, key)?;
                *seen = match &value {
                    Some(v) => Expectation::Value(v.clone()),
                    None => Expectation::Absent,
                };
                Ok(value)
            }
            (Backend::Redis(_), CasState::Redis(cas)) => cas.current(key),
            _ => Err("a compare-and-swap handle of another backend".to_string()),
        }
    }

    /// `atomics::swap`. SQLite reports what happened; Spin's Redis store
    /// reports `cas-failed` for every swap, applied or not.
    pub fn cas_swap(&self, label: &str, key: &str, state: CasState, value: &[u8]) -> Result<SwapReport, String> {
        self.refusal(key).map_or(Ok(()), Err)?;
        match (&self.backend, state) {
            (Backend::Sqlite(s), CasState::Sqlite(seen)) => Ok(if s.swap(label, key, &seen, value)? {
                SwapReport::Ok
            } else {
                SwapReport::CasFailed(CasState::Sqlite(Expectation::Unread))
            }),
            (Backend::Redis(_), CasState::Redis(mut cas)) => {
                cas.swap(key, value)?;
                Ok(SwapReport::CasFailed(CasState::Redis(cas)))
            }
            _ => Err("a compare-and-swap handle of another backend".to_string()),
        }
    }
}
