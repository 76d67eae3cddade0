//! Abuse limits of the public endpoints, per client, in fixed windows.
//!
//! Counters live in their own keys (`limit/<purpose>/<client>/<window>`) and change
//! only through atomic increment. The client is stored only as a keyed hash: an IP
//! address is personal data. Every counter key is listed in the `limit` expiry class
//! when it is created, so the sweep deletes it once the window has passed.
//!
//! Two ways of counting ([`Counting`]):
//! - every request is counted *before* the work it guards, then compared: concurrent
//!   requests can never get more than the limit through (report submissions);
//! - only failures are counted, *after* they failed (receipt lookups): the counter is
//!   read first (a plain `get`, no write) and a client at its limit is refused; a
//!   failure is counted and answered as a failure only while the count is within the
//!   limit, past it as a refusal. So a successful lookup writes nothing, at most `max`
//!   failures per window are ever answered as such (also under parallel requests),
//!   and once the count reaches `max` every request is refused until the window ends.
//!   What this gives up: requests of one client that run at the same time all read the
//!   count before any of them failed, so a right code among them is answered although
//!   the others used up the limit. The bound on an attacker per window is `max` +
//!   the requests it has in flight at the moment its `max`-th failure is counted
//!   (`docs/decisions.md`, "Throttling").

use crate::core::client::Client;
use shared::crypto::KeyedHasher;
use shared::kv::expiry::{Expiring, ExpiryClass};
use shared::kv::{read_counter, KeyValue, StoreError};
use shared::time::Timestamp;

/// A fixed-window limit for one purpose.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub purpose: &'static str,
    pub max: u32,
    pub window_seconds: u32,
    pub counting: Counting,
}

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Every request, before the work: [`Window::take`].
    Every,
    /// Failures only, after the work: [`Window::open`] reads the count first,
    /// [`Window::count_failure`] counts a failure. A success writes nothing.
    Failures,
}

/// The expiry class of limit counters.
pub fn expiring_counters() -> ExpiryClass {
    ExpiryClass::new("limit")
}

/// The counter of one client in the current window.
pub struct Window {
    /// `None` for a client without an address: a bucket of its own, never stored.
    key: Option<String>,
    max: u32,
    counting: Counting,
    ends_at: Timestamp,
    /// Seconds until the window ends: the `Retry-After` of a refusal.
    pub retry_after: u64,
}

impl Limit {
    /// The window `now` falls in, for this client.
    pub fn window(&self, hasher: &KeyedHasher, client: &Client, now: Timestamp) -> Window {
        let window = u64::from(self.window_seconds);
        let seconds = now.unix_seconds().max(0) as u64;
        let index = seconds / window;
        let key = client.bucket().map(|bucket| {
            let client = hasher.hex("client-address", bucket.as_bytes());
            format!("limit/{}/{}/{index}", self.purpose, &client[..32])
        });
        Window {
            key,
            max: self.max,
            counting: self.counting,
            ends_at: Timestamp::from_unix_millis(((index + 1) * window * 1000) as i64),
            retry_after: (index + 1) * window - seconds,
        }
    }
}

impl Window {
    /// Counts one more request; true if it is still within the limit
    /// ([`Counting::Every`]).
    pub fn take<S: KeyValue>(&self, store: &S) -> Result<bool, StoreError> {
        debug_assert_eq!(self.counting, Counting::Every, "failures are counted after the fact");
        self.count(store)
    }

    /// Whether the client may still try ([`Counting::Failures`]): its failures so far
    /// are below the limit. A read only: nothing is written.
    pub fn open<S: KeyValue>(&self, store: &S) -> Result<bool, StoreError> {
        debug_assert_eq!(self.counting, Counting::Failures, "only failures are read first");
        match &self.key {
            Some(key) => Ok(read_counter(store, key)? < i64::from(self.max)),
            None => Ok(self.max >= 1),
        }
    }

    /// Counts a failed attempt ([`Counting::Failures`]); true if it is still within the
    /// limit (answer it as a failure), false if others of the same client used up the
    /// limit meanwhile (answer it as refused).
    pub fn count_failure<S: KeyValue>(&self, store: &S) -> Result<bool, StoreError> {
        debug_assert_eq!(self.counting, Counting::Failures, "only failures are counted after the fact");
        self.count(store)
    }

    /// Adds one to the window's count; true if it is still within the limit. Counts
    /// only ever add, so a count reaches 1 once per window: then it is listed for expiry.
    fn count<S: KeyValue>(&self, store: &S) -> Result<bool, StoreError> {
        let Some(key) = &self.key else {
            // Its own bucket: this request is the only one in it.
            return Ok(self.max >= 1);
        };
        let count = store.increment(key, 1)?;
        if count == 1 {
            self.list_for_expiry(store, key)?;
        }
        Ok(count <= i64::from(self.max))
    }

    /// Lists a new counter for expiry.
    fn list_for_expiry<S: KeyValue>(&self, store: &S, key: &str) -> Result<(), StoreError> {
        let entry = Expiring { keys: vec![key.to_string()], expires_at: self.ends_at };
        store.set_many(&[expiring_counters().schedule(store, &entry)?])
    }
}
