//! The retry schedule and what a receiver's answer means, as data in one place.
//!
//! Standard Webhooks: an immediate attempt, then retries after 5 s, 5 min, 30 min,
//! 2 h, 5 h, 10 h, 14 h, 20 h and 24 h (about 3 days in all), each with jitter so a
//! recovering receiver is not hit by every message at once.

use shared::random::Random;
use shared::time::Duration;

/// Delays before retry 1, 2, …, 9 (after the first attempt failed).
pub const RETRY_DELAYS: [Duration; 9] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(14),
    Duration::hours(20),
    Duration::hours(24),
];

/// Attempts in one round: the first plus every retry.
pub const MAX_ATTEMPTS: u32 = RETRY_DELAYS.len() as u32 + 1;

/// Jitter: each delay is moved by up to this share of itself, either way.
pub const JITTER_PERCENT: i64 = 10;

/// A receiver's `Retry-After` is honoured up to this long; a longer one would stall
/// a P1 behind a misconfigured proxy.
pub const RETRY_AFTER_CAP: Duration = Duration::hours(6);

/// An endpoint failing for this long is disabled and the operator told.
pub const DISABLE_AFTER_FAILING: Duration = Duration::days(5);

/// What one attempt's result means for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: delivered.
    Delivered,
    /// 410 Gone: the receiver wants nothing more; disable the subscription.
    Gone,
    /// Anything else (3xx, 4xx, 5xx, no answer): try again later; `retry_after` is the
    /// receiver's own wish, for 429/502/503/504, already capped.
    Retry { retry_after: Option<Duration> },
}

/// Judges a response status (`None`: no response at all) and its `Retry-After`.
pub fn judge(status: Option<u16>, retry_after: Option<&str>) -> Verdict {
    match status {
        Some(200..=299) => Verdict::Delivered,
        Some(410) => Verdict::Gone,
        Some(429 | 502 | 503 | 504) => Verdict::Retry { retry_after: retry_after.and_then(parse_retry_after) },
        // Redirects are failures: we never follow them (the URL should be updated).
        _ => Verdict::Retry { retry_after: None },
    }
}

/// `Retry-After` in seconds (HTTP dates are rare from webhook receivers and ignored),
/// capped at [`RETRY_AFTER_CAP`].
fn parse_retry_after(value: &str) -> Option<Duration> {
    let seconds: i64 = value.trim().parse().ok()?;
    (seconds >= 0).then(|| Duration::seconds(seconds).min(RETRY_AFTER_CAP))
}

/// When to try again after attempt number `attempt_in_round` (1-based) failed, or
/// `None` when the round is exhausted.
pub fn next_delay(attempt_in_round: u32, retry_after: Option<Duration>, random: &dyn Random) -> Option<Duration> {
    let scheduled = *RETRY_DELAYS.get(attempt_in_round.checked_sub(1)? as usize)?;
    if let Some(wish) = retry_after {
        // The receiver asked for a pause: never sooner than it asked, nor sooner than 1 s.
        return Some(wish.max(Duration::seconds(1)));
    }
    Some(jittered(scheduled, random))
}

fn jittered(delay: Duration, random: &dyn Random) -> Duration {
    let millis = delay.whole_milliseconds() as i64;
    let span = millis * JITTER_PERCENT / 100;
    if span == 0 {
        return delay;
    }
    let offset = (random.next_u64() % (2 * span as u64 + 1)) as i64 - span;
    Duration::milliseconds(millis + offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::random::SeededRandom;

    #[test]
    fn the_schedule_is_the_standard_one_and_ends_after_ten_attempts() {
        let total: i64 = RETRY_DELAYS.iter().map(|d| d.whole_seconds()).sum();
        // "Time since start" of the last retry in the specification's table: 75:35:05.
        assert_eq!(total, 75 * 3600 + 35 * 60 + 5);
        assert_eq!(MAX_ATTEMPTS, 10);
        let r = SeededRandom::new(1);
        assert!(next_delay(9, None, &r).is_some());
        assert_eq!(next_delay(10, None, &r), None);
    }

    #[test]
    fn delays_are_jittered_within_ten_percent() {
        let r = SeededRandom::new(2);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let d = next_delay(2, None, &r).unwrap();
            assert!(d >= Duration::seconds(270) && d <= Duration::seconds(330), "{d}");
            seen.insert(d.whole_milliseconds());
        }
        assert!(seen.len() > 10, "jitter varies");
    }

    #[test]
    fn statuses_are_judged_as_standard_webhooks_recommends() {
        assert_eq!(judge(Some(204), None), Verdict::Delivered);
        assert_eq!(judge(Some(301), None), Verdict::Retry { retry_after: None });
        assert_eq!(judge(Some(410), None), Verdict::Gone);
        assert_eq!(judge(Some(500), Some("10")), Verdict::Retry { retry_after: None });
        assert_eq!(judge(None, None), Verdict::Retry { retry_after: None });
        assert_eq!(judge(Some(429), Some("120")), Verdict::Retry { retry_after: Some(Duration::seconds(120)) });
        assert_eq!(judge(Some(503), Some("999999")), Verdict::Retry { retry_after: Some(RETRY_AFTER_CAP) });
        assert_eq!(judge(Some(429), Some("Wed, 21 Oct 2026 07:28:00 GMT")), Verdict::Retry { retry_after: None });
    }

    #[test]
    fn retry_after_replaces_the_scheduled_delay() {
        let r = SeededRandom::new(3);
        assert_eq!(next_delay(1, Some(Duration::seconds(120)), &r), Some(Duration::seconds(120)));
        assert_eq!(next_delay(1, Some(Duration::ZERO), &r), Some(Duration::seconds(1)));
    }
}
