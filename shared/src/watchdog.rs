//! The watchdog: a sweep that stops running is seen, not silently missed.
//!
//! Escalation, webhook retries and expiry all depend on sweeps that something outside
//! the app must call. Each sweep records when it ran and what it did under
//! `watchdog/sweep/<name>`, with the interval it is meant to run at. Health answers
//! report every sweep of their component with `late: true` once it has missed
//! [`LATE_AFTER_INTERVALS`] intervals (then `"status": "degraded"`, still a 200 while
//! the store answers: a probe must not restart pods because a scheduler died), and
//! notification's health raises an `operator.sweep_late` webhook for any sweep of the
//! app that is late, at most once an hour per sweep ([`alert_due`]).

use crate::kv::versioned::{self, Change, Versioned};
use crate::kv::{claim, KeyValue, StoreError};
use crate::random::Random;
use crate::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};

/// A sweep is late once this many of its intervals passed without a run.
pub const LATE_AFTER_INTERVALS: i64 = 3;

/// How often one late sweep is reported to the operators.
pub const ALERT_EVERY: Duration = Duration::hours(1);

/// Every sweep of the app, by component.
pub const SWEEPS: [&str; 3] = ["intake", "triage", "notification"];

/// What the store holds about one sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    /// The interval it is meant to run at (its component's `sweep_interval_seconds`).
    pub interval_seconds: i64,
    /// Since when anyone has looked: a sweep that never ran is late counted from here.
    pub watching_since: Timestamp,
    pub last_run_at: Option<Timestamp>,
    /// What the last run did (its counts; never anything personal).
    #[serde(default)]
    pub last_run: serde_json::Value,
}

/// The answer to a tick: whether it ran the sweep (nothing else: an unauthenticated
/// caller learns nothing of the line's work).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ticked {
    pub swept: bool,
}

/// How one sweep stands, as health answers show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepStatus {
    pub sweep: String,
    pub interval_seconds: i64,
    pub last_run_at: Option<Timestamp>,
    pub late: bool,
}

fn key(sweep: &str) -> String {
    format!("watchdog/sweep/{sweep}")
}

/// Reads a sweep's record.
pub fn read<S: KeyValue>(store: &S, sweep: &str) -> Result<Option<SweepRecord>, StoreError> {
    crate::kv::get_json(store, &key(sweep))
}

/// Records a run of `sweep` that just ended (one read, one write).
pub fn record_run<S: KeyValue>(
    store: &S,
    sweep: &str,
    interval: Duration,
    now: Timestamp,
    did: &impl Serialize,
) -> Result<(), StoreError> {
    let watching_since = read(store, sweep)?.map_or(now, |r| r.watching_since);
    let record = SweepRecord {
        interval_seconds: interval.whole_seconds(),
        watching_since,
        last_run_at: Some(now),
        last_run: serde_json::to_value(did).unwrap_or_default(),
    };
    store.set(&key(sweep), &crate::kv::to_json(&record))
}

impl SweepRecord {
    /// Whether the sweep has missed [`LATE_AFTER_INTERVALS`] intervals by `now`.
    pub fn status(&self, sweep: &str, now: Timestamp) -> SweepStatus {
        let since = self.last_run_at.unwrap_or(self.watching_since);
        let allowed = Duration::seconds(self.interval_seconds.max(1) * LATE_AFTER_INTERVALS);
        SweepStatus {
            sweep: sweep.to_string(),
            interval_seconds: self.interval_seconds,
            last_run_at: self.last_run_at,
            late: since.until(now) > allowed,
        }
    }
}

/// How `sweep`, meant to run every `interval`, stands now. The first look at a sweep
/// that never ran starts watching it (so a scheduler that was never set up turns late
/// after three intervals, too).
pub fn watch<S: KeyValue>(
    store: &S,
    sweep: &str,
    interval: Duration,
    now: Timestamp,
) -> Result<(SweepRecord, SweepStatus), StoreError> {
    let mut record = match read(store, sweep)? {
        Some(r) => r,
        None => {
            let r = SweepRecord {
                interval_seconds: interval.whole_seconds(),
                watching_since: now,
                last_run_at: None,
                last_run: serde_json::Value::Null,
            };
            store.set(&key(sweep), &crate::kv::to_json(&r))?;
            r
        }
    };
    // The configured interval wins over the one recorded (it may have been changed).
    record.interval_seconds = interval.whole_seconds();
    let status = record.status(sweep, now);
    Ok((record, status))
}

/// Every sweep of the app that has a record, judged by the interval it recorded.
pub fn all<S: KeyValue>(store: &S, now: Timestamp) -> Result<Vec<(SweepRecord, SweepStatus)>, StoreError> {
    let keys: Vec<String> = SWEEPS.iter().map(|s| key(s)).collect();
    let mut found = Vec::new();
    for (sweep, value) in SWEEPS.iter().zip(store.get_many(&keys)?) {
        let Some(bytes) = value else { continue };
        if let Ok(record) = serde_json::from_slice::<SweepRecord>(&bytes) {
            let status = record.status(sweep, now);
            found.push((record, status));
        }
    }
    Ok(found)
}

/// Whether this caller is the one to report `sweep` late now: true for exactly one
/// caller per [`ALERT_EVERY`], decided by compare-and-swap on `watchdog/alert/<sweep>`.
pub fn alert_due<S: KeyValue>(store: &S, sweep: &str, now: Timestamp, random: &dyn Random) -> Result<bool, StoreError> {
    once_every(store, &format!("watchdog/alert/{sweep}"), ALERT_EVERY, now, random)
}

/// An unauthenticated tick (`GET /<component>/sweep/tick`, for platform schedulers
/// that cannot send a header): runs `sweep` and records the run (what `sweep` returns
/// is what the record keeps) if a tick is due, which it is for exactly one caller per
/// half of the interval, so a flood of ticks runs it no more often than a scheduler
/// would.
pub fn tick<S: KeyValue, R: Serialize>(
    store: &S,
    name: &str,
    interval: Duration,
    now: Timestamp,
    random: &dyn Random,
    sweep: impl FnOnce() -> Result<R, crate::problem::Problem>,
) -> Result<Ticked, crate::problem::Problem> {
    let swept = tick_due(store, name, interval, now, random)?;
    if swept {
        record_run(store, name, interval, now, &sweep()?)?;
    }
    Ok(Ticked { swept })
}

fn tick_due<S: KeyValue>(
    store: &S,
    sweep: &str,
    interval: Duration,
    now: Timestamp,
    random: &dyn Random,
) -> Result<bool, StoreError> {
    once_every(store, &format!("watchdog/tick/{sweep}"), interval / 2, now, random)
}

/// True for exactly one caller per `every`, decided by compare-and-swap on `key`.
fn once_every<S: KeyValue>(
    store: &S,
    key: &str,
    every: Duration,
    now: Timestamp,
    random: &dyn Random,
) -> Result<bool, StoreError> {
    if versioned::read::<_, Option<Timestamp>>(store, key)?.is_none() && claim(store, &format!("{key}/claim"))? {
        store.set(key, &Versioned::first(None::<Timestamp>, random).encode())?;
    }
    let decided = versioned::update(store, key, random, |last: &mut Option<Timestamp>, _| {
        if last.is_some_and(|t| t + every > now) {
            return Ok::<_, ()>(Change::Keep(false));
        }
        *last = Some(now);
        Ok(Change::Write(true))
    });
    match decided {
        Ok((_, due)) => Ok(due),
        // Created by whoever won the claim, a moment from now: that caller reports.
        Err(versioned::UpdateError::NotFound) => Ok(false),
        Err(versioned::UpdateError::Store(e)) => Err(e),
        Err(e) => Err(StoreError(format!("watchdog claim: {e}"))),
    }
}

/// The interval a component's sweep is meant to run at: its `sweep_interval_seconds`
/// variable (a whole number of seconds above 0), else `default_seconds`.
pub fn interval(variables: &dyn crate::config::Variables, default_seconds: i64) -> Duration {
    let seconds = variables.get("sweep_interval_seconds").and_then(|v| v.trim().parse::<i64>().ok());
    Duration::seconds(seconds.filter(|s| *s > 0).unwrap_or(default_seconds))
}

/// Fields a component adds to its health answer.
pub type Details = serde_json::Map<String, serde_json::Value>;

/// `GET /<component>/health` of a component with a sweep: the version, whether the
/// component is configured (503 `misconfigured` if not: `sweep_interval` is its loaded
/// configuration's), whether the store answers (503 if not), and how its sweep stands
/// (`"status": "degraded"` once it is late, still 200), plus what `details` adds.
pub fn health<S: KeyValue>(
    component: &str,
    version: &str,
    sweep_interval: Result<Duration, crate::config::ConfigError>,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    now: Timestamp,
    details: impl FnOnce(&S, &SweepRecord) -> Details,
) -> crate::web::Response {
    let interval = match sweep_interval {
        Ok(interval) => interval,
        Err(e) => return crate::web::health_misconfigured(component, version, &e),
    };
    let watched = open_store().and_then(|store| {
        store.exists("health/probe")?;
        let (record, status) = watch(&store, component, interval, now)?;
        Ok((details(&store, &record), status))
    });
    let Ok((details, status)) = watched else {
        return crate::web::health_unavailable(component, version);
    };
    let mut body = Details::new();
    body.insert("component".into(), component.into());
    body.insert("version".into(), version.into());
    body.insert("store".into(), "ok".into());
    body.insert("status".into(), (if status.late { "degraded" } else { "ok" }).into());
    body.insert("sweeps".into(), serde_json::to_value([status]).unwrap_or_default());
    body.extend(details);
    crate::web::json(200, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::memory::{CasMode, MemoryStore};
    use crate::random::SeededRandom;

    fn t(minutes: i64) -> Timestamp {
        Timestamp::from_unix_millis((1_800_000_000 + minutes * 60) * 1000)
    }

    #[test]
    fn a_sweep_is_late_after_three_missed_intervals() {
        let s = MemoryStore::new();
        let every = Duration::minutes(1);
        assert!(!watch(&s, "triage", every, t(0)).unwrap().1.late, "watching starts now");
        assert!(!watch(&s, "triage", every, t(3)).unwrap().1.late);
        assert!(watch(&s, "triage", every, t(4)).unwrap().1.late, "never ran in three intervals");
        record_run(&s, "triage", every, t(4), &serde_json::json!({"escalated": 0})).unwrap();
        let (record, status) = watch(&s, "triage", every, t(5)).unwrap();
        assert!(!status.late);
        assert_eq!((record.last_run_at, record.watching_since), (Some(t(4)), t(0)));
        assert!(watch(&s, "triage", every, t(8)).unwrap().1.late);
        assert_eq!(all(&s, t(8)).unwrap().len(), 1);
    }

    #[test]
    fn ticks_run_a_sweep_at_most_once_per_half_interval() {
        let s = MemoryStore::with_mode(CasMode::RedisLike);
        let r = SeededRandom::new(2);
        let every = Duration::minutes(2);
        assert!(tick_due(&s, "triage", every, t(0), &r).unwrap());
        assert!(!tick_due(&s, "triage", every, t(0), &r).unwrap(), "a second tick at once does nothing");
        assert!(tick_due(&s, "triage", every, t(1), &r).unwrap());
    }

    #[test]
    fn a_late_sweep_is_reported_once_an_hour_on_either_backend() {
        for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
            let s = MemoryStore::with_mode(mode);
            let r = SeededRandom::new(1);
            assert!(alert_due(&s, "intake", t(0), &r).unwrap(), "{mode:?}");
            assert!(!alert_due(&s, "intake", t(1), &r).unwrap(), "{mode:?}");
            assert!(alert_due(&s, "triage", t(1), &r).unwrap(), "{mode:?}: per sweep");
            assert!(!alert_due(&s, "intake", t(59), &r).unwrap(), "{mode:?}");
            assert!(alert_due(&s, "intake", t(60), &r).unwrap(), "{mode:?}: again after an hour");
        }
    }
}
