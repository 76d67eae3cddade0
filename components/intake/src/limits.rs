//! Abuse limits of the public endpoints, per client address, in fixed windows.
//!
//! Counters live in their own keys (`limit/<purpose>/<client>/<window>`) and change
//! only through atomic increment, so concurrent requests count exactly. The client
//! address is stored only as a keyed hash: an IP address is personal data. The first
//! count of a window lists the counter in the `limit` expiry class, so the sweep can
//! delete it once the window has passed.

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
}

/// The expiry class of limit counters.
pub fn expiring_counters() -> ExpiryClass {
    ExpiryClass::new("limit")
}

/// The counter of one client in the current window.
pub struct Window {
    key: String,
    max: u32,
    ends_at: Timestamp,
    /// Seconds until the window ends: the `Retry-After` of a refusal.
    pub retry_after: u64,
}

impl Limit {
    /// The window `now` falls in, for this client.
    pub fn window(&self, hasher: &KeyedHasher, client_ip: Option<&str>, now: Timestamp) -> Window {
        let window = u64::from(self.window_seconds);
        let seconds = now.unix_seconds().max(0) as u64;
        let index = seconds / window;
        let client = hasher.hex("client-address", client_ip.unwrap_or("unknown").as_bytes());
        Window {
            key: format!("limit/{}/{}/{index}", self.purpose, &client[..32]),
            max: self.max,
            ends_at: Timestamp::from_unix_millis(((index + 1) * window * 1000) as i64),
            retry_after: (index + 1) * window - seconds,
        }
    }
}

impl Window {
    /// Counts one more request; true if it is still within the limit.
    pub fn take<S: KeyValue>(&self, store: &S) -> Result<bool, StoreError> {
        let count = store.increment(&self.key, 1)?;
        if count == 1 {
            let entry = Expiring { keys: vec![self.key.clone()], expires_at: self.ends_at };
            store.set_many(&[expiring_counters().schedule(store, &entry)?])?;
        }
        Ok(count <= i64::from(self.max))
    }

    /// Whether the limit is already used up, without counting.
    pub fn exhausted<S: KeyValue>(&self, store: &S) -> Result<bool, StoreError> {
        Ok(read_counter(store, &self.key)? >= i64::from(self.max))
    }
}
