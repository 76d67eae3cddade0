//! Abuse limits of the public endpoints, per client, in fixed windows.
//!
//! Counters live in their own keys (`limit/<purpose>/<client>/<window>`) and change
//! only through atomic increment, and a request is counted *before* the work it
//! guards, then compared: concurrent requests can never get more than the limit
//! through. The client is stored only as a keyed hash: an IP address is personal data.
//! Every counter key is listed in the `limit` expiry class when it is created, so the
//! sweep deletes it once the window has passed.

use crate::core::client::Client;
use shared::crypto::KeyedHasher;
use shared::kv::expiry::{Expiring, ExpiryClass};
use shared::kv::{claim, KeyValue, StoreError};
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
    /// Every request.
    Every,
    /// Failures only: every attempt is counted up front and a success is given back
    /// ([`Window::give_back`]), so parallel attempts cannot overtake the count.
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
    /// Counts one more request; true if it is still within the limit.
    pub fn take<S: KeyValue>(&self, store: &S) -> Result<bool, StoreError> {
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

    /// Gives back the count [`Window::take`] took, for a request that turned out not
    /// to count (a lookup with a right receipt code).
    pub fn give_back<S: KeyValue>(&self, store: &S) -> Result<(), StoreError> {
        debug_assert_eq!(self.counting, Counting::Failures, "only failures are given back");
        match &self.key {
            Some(key) => store.increment(key, -1).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Lists a new counter for expiry. A counter whose counts are given back reaches 1
    /// again and again; a claim lists it only once.
    fn list_for_expiry<S: KeyValue>(&self, store: &S, key: &str) -> Result<(), StoreError> {
        let mut keys = vec![key.to_string()];
        if self.counting == Counting::Failures {
            let listed = format!("{key}/listed");
            if !claim(store, &listed)? {
                return Ok(());
            }
            keys.push(listed);
        }
        let entry = Expiring { keys, expires_at: self.ends_at };
        store.set_many(&[expiring_counters().schedule(store, &entry)?])
    }
}
