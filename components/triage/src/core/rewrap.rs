//! The re-wrap step of the sweep: after the case keyring (`case_keys`) is rotated, it
//! wraps every case's data key under the new current key, so the old key can really
//! be removed.
//!
//! It walks `idx/case_keys` (one entry per case with a data key, see
//! [`shared::case_keys`]) from a position kept in `triage/rewrap` (a
//! [`RewrapProgress`]), at most [`REWRAP_BATCH`] entries per sweep. The position
//! belongs to one current key id: when the current key changes, the walk starts again
//! at the first slot. Cases filed meanwhile are wrapped under the current key already;
//! the walk follows the list as it grows. A data key that cannot be re-wrapped (its key
//! id is not in the keyring) stops the walk there, so health keeps showing it until an
//! operator puts the key back. Purged cases have no key left and are skipped.
//!
//! Health shows `case_keys_rewrap`: the current key id and how many entries are still
//! unchecked under it; 0 means no data key is wrapped under an older key any more.

use crate::context::Ctx;
use crate::core::deferred;
use serde::{Deserialize, Serialize};
use shared::case_keys::{key_slots_reserved, rewrap, wrapped_keys_log, Rewrap, WrappedKeyEntry};
use shared::kv::versioned::{self, Change, UpdateError, Versioned};
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::problem::Problem;

/// Most data keys one sweep looks at.
pub const REWRAP_BATCH: u64 = 200;

/// Where the walk stands.
const PROGRESS: &str = "triage/rewrap";

/// How far the walk has come under the current key id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewrapProgress {
    /// The current key id the walk re-wraps under.
    pub kid: String,
    /// The next slot of `idx/case_keys` to look at (1-based).
    pub next_slot: u64,
    /// Data keys re-wrapped under `kid` so far.
    pub rewrapped: u64,
    /// Whether the last step stopped at a key it could not re-wrap.
    #[serde(default)]
    pub stuck: bool,
}

/// What the re-wrap step of one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rewrapped {
    /// Data keys re-wrapped.
    pub keys: u32,
    /// Data keys that could not be (the walk waits at the first).
    pub failed: u32,
}

/// Re-wraps at most [`REWRAP_BATCH`] data keys under the current key.
pub fn rewrap_keys<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>) -> Result<Rewrapped, Problem> {
    let kid = ctx.config.keyring.current_kid().to_string();
    let stored = versioned::read::<_, RewrapProgress>(ctx.store, PROGRESS)?.map(|doc| doc.data);
    let start = match &stored {
        Some(progress) if progress.kid == kid => progress.next_slot,
        _ => 1,
    };
    let log = wrapped_keys_log();
    let last = key_slots_reserved(ctx.store)?.min(start + REWRAP_BATCH - 1);
    if last < start && stored.as_ref().is_some_and(|p| p.kid == kid && !p.stuck) {
        // Caught up under the current key, and no new case since: nothing to write.
        return Ok(Rewrapped::default());
    }
    let mut done = Rewrapped::default();
    let mut next = start;
    for (slot, value) in log.read_slots(ctx.store, &(start..=last).collect::<Vec<_>>())? {
        if let Some(bytes) = value {
            let rewrapped = serde_json::from_slice::<WrappedKeyEntry>(&bytes)
                .map_err(|e| anyhow::anyhow!("undecodable entry in slot {slot}: {e}"))
                .and_then(|entry| rewrap(ctx.store, &ctx.config.keyring, &entry.case_id, ctx.random));
            match rewrapped {
                Ok(Rewrap::Rewrapped) => done.keys += 1,
                Ok(Rewrap::Current | Rewrap::Gone) => {}
                Err(e) => {
                    deferred(ctx, "rewrap-failed", &format!("{e}"));
                    done.failed += 1;
                    break;
                }
            }
        }
        next = slot + 1;
    }
    record_progress(ctx, &kid, next, done)?;
    Ok(done)
}

/// Moves the position forward (never back: two sweeps at once both walked it).
fn record_progress<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    kid: &str,
    next: u64,
    done: Rewrapped,
) -> Result<(), StoreError> {
    let fresh = RewrapProgress { kid: kid.to_string(), next_slot: next, rewrapped: 0, stuck: false };
    let changed = versioned::update(ctx.store, PROGRESS, ctx.random, |p: &mut RewrapProgress, _| {
        if p.kid != kid {
            *p = fresh.clone();
        }
        p.next_slot = p.next_slot.max(next);
        p.rewrapped += u64::from(done.keys);
        p.stuck = done.failed > 0;
        Ok::<_, ()>(Change::Write(()))
    });
    match changed {
        Ok(_) => Ok(()),
        Err(UpdateError::NotFound) => {
            let first = RewrapProgress { rewrapped: done.keys.into(), stuck: done.failed > 0, ..fresh };
            // Two first sweeps at once: either write is a fine starting point.
            ctx.store.set(PROGRESS, &Versioned::first(first, ctx.random).encode())
        }
        Err(UpdateError::Store(e)) => Err(e),
        // Contended: another sweep moved it; this one's walk is repeated next time.
        Err(UpdateError::Contended | UpdateError::Rejected(())) => Ok(()),
    }
}

/// How far the re-wrap walk is, as health shows it (`case_keys_rewrap`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RewrapHealth {
    /// The key id data keys are being re-wrapped under (the first of `case_keys`).
    pub current_kid: String,
    /// Entries of `idx/case_keys` the walk has not checked yet under `current_kid`:
    /// 0 means no data key is wrapped under an older key.
    pub unchecked: u64,
    /// Data keys re-wrapped under `current_kid` so far.
    pub rewrapped: u64,
    /// The walk waits at a data key it cannot re-wrap (see the log, `rewrap-failed`).
    pub stuck: bool,
}

/// The health details of the walk for the current key id `kid`.
pub fn health<S: KeyValue>(store: &S, kid: &str) -> Result<RewrapHealth, StoreError> {
    let last = key_slots_reserved(store)?;
    let progress = versioned::read::<_, RewrapProgress>(store, PROGRESS)?.map(|d| d.data);
    let (next, rewrapped, stuck) = match progress {
        Some(p) if p.kid == kid => (p.next_slot, p.rewrapped, p.stuck),
        _ => (1, 0, false),
    };
    Ok(RewrapHealth { current_kid: kid.to_string(), unchecked: (last + 1).saturating_sub(next), rewrapped, stuck })
}
