//! Instants in UTC, serialised as RFC 3339.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, Sub};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use time::Duration;

/// A UTC instant with millisecond precision, written as RFC 3339 (`2026-11-28T12:00:00.000Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub fn from_unix_millis(millis: i64) -> Self {
        let nanos = i128::from(millis) * 1_000_000;
        Timestamp(OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// Whole seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Parses RFC 3339 (any offset), normalised to UTC and milliseconds.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|_| "must be an RFC 3339 date-time, e.g. 2026-11-28T09:30:00Z".to_string())?;
        Ok(Self::from_unix_millis((parsed.unix_timestamp_nanos() / 1_000_000) as i64))
    }

    /// The calendar year and month (1 to 12), in UTC.
    pub fn year_month(self) -> (i32, u8) {
        (self.0.year(), u8::from(self.0.month()))
    }

    /// The time until `later`, zero if `later` is not after `self`.
    pub fn until(self, later: Timestamp) -> Duration {
        if later > self {
            later.0 - self.0
        } else {
            Duration::ZERO
        }
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        Timestamp(self.0 + rhs)
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Duration) -> Timestamp {
        Timestamp(self.0 - rhs)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second(),
            d.millisecond()
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_rfc3339_in_utc() {
        let t = Timestamp::parse("2026-11-28T13:30:15.250+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-28T12:30:15.250Z");
        assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        assert_eq!(Timestamp::from_unix_millis(t.unix_millis()), t);
    }

    #[test]
    fn rejects_what_is_not_a_date_time() {
        assert!(Timestamp::parse("yesterday").is_err());
        assert!(Timestamp::parse("2026-13-01T00:00:00Z").is_err());
    }

    #[test]
    fn until_is_never_negative() {
        let t = Timestamp::from_unix_millis(10_000);
        assert_eq!(t.until(t + Duration::seconds(5)), Duration::seconds(5));
        assert_eq!((t + Duration::seconds(5)).until(t), Duration::ZERO);
    }
}
