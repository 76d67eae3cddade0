//! The closed sets the counters are named by: months, tables, their rows, priorities.
//! A query enumerates cells from these sets; nothing ever lists keys.

use shared::domain::{IncidentKind, Organisation, Priority, RegionCode, RequestKind, Role};
use shared::time::Timestamp;
use std::fmt;

/// A calendar month in UTC, written `yyyy-mm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u8,
}

impl Month {
    /// The month an instant falls in.
    pub fn of(at: Timestamp) -> Month {
        let (year, month) = at.year_month();
        Month { year, month }
    }

    /// Parses `yyyy-mm` (years 2000 to 2999).
    pub fn parse(text: &str) -> Result<Month, String> {
        let bad = || "must be a month written yyyy-mm, e.g. 2026-11".to_string();
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let (year, month): (i32, u8) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if !(2000..=2999).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    /// The month after this one.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month { year: self.year + 1, month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
    }

    /// The month before this one.
    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month { year: self.year - 1, month: 12 }
        } else {
            Month { year: self.year, month: self.month - 1 }
        }
    }

    /// Every month from `self` to `to`, both included.
    pub fn through(self, to: Month) -> Vec<Month> {
        let mut months = Vec::new();
        let mut m = self;
        while m <= to {
            months.push(m);
            m = m.next();
        }
        months
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

shared::domain::wire_enum!(
    /// The marginal tables, each something × priority for one month and organisation.
    Table {
        /// Transitions counted as they happen ([`EventRow`]).
        Event => "event",
        /// Cases triaged, by the office holder's role.
        Role => "role",
        /// Cases triaged, by safety region (published by province unless every cell clears).
        Region => "region",
        /// Cases triaged, by what the reporter asked for.
        Request => "request",
        /// Cases triaged that name an incident kind (a case may name several).
        Incident => "incident",
        /// Acknowledgements, by minutes from triage to acknowledgement ([`ACK_BUCKETS`]).
        Ack => "ack",
        /// First confidant messages, by minutes from assignment (same buckets).
        Reply => "reply",
    }
);

shared::domain::wire_enum!(
    /// The rows of the event table: transitions of a case.
    EventRow {
        Triaged => "triaged",
        AcknowledgedWithin => "acknowledged_within_deadline",
        AcknowledgedLate => "acknowledged_after_deadline",
        Escalated => "escalated",
        HandedOverIn => "handed_over_in",
        HandedOverOut => "handed_over_out",
        Closed => "closed",
        Reopened => "reopened",
        /// A planned check-in (aftercare, prevention) done.
        CheckInCompleted => "check_in_completed",
    }
);

/// The upper bounds (minutes, inclusive) of the time-to-acknowledgement histogram, and
/// the name of each bucket; the last bucket holds everything longer.
pub const ACK_BUCKETS: &[(i64, &str)] = &[
    (1, "le_1"),
    (5, "le_5"),
    (15, "le_15"),
    (30, "le_30"),
    (60, "le_60"),
    (240, "le_240"),
    (1440, "le_1440"),
    (4320, "le_4320"),
];

/// The bucket of everything longer than the last bound.
pub const ACK_OVER: &str = "over_4320";

/// The histogram bucket of a time to acknowledgement.
pub fn ack_bucket(minutes: i64) -> &'static str {
    ACK_BUCKETS.iter().find(|(bound, _)| minutes <= *bound).map_or(ACK_OVER, |(_, name)| name)
}

/// The upper bound (minutes) of a bucket; `None` for the open last one.
pub fn ack_bound(bucket: &str) -> Option<i64> {
    ACK_BUCKETS.iter().find(|(_, name)| *name == bucket).map(|(bound, _)| *bound)
}

/// The rows of a table, in order.
pub fn rows(table: Table) -> Vec<&'static str> {
    match table {
        Table::Event => EventRow::ALL.iter().map(|r| r.as_str()).collect(),
        Table::Role => Role::ALL.iter().map(|r| r.as_str()).collect(),
        Table::Region => RegionCode::ALL.iter().map(|r| r.as_str()).collect(),
        Table::Request => RequestKind::ALL.iter().map(|r| r.as_str()).collect(),
        Table::Incident => IncidentKind::ALL.iter().map(|r| r.as_str()).collect(),
        Table::Ack | Table::Reply => ACK_BUCKETS.iter().map(|(_, n)| *n).chain([ACK_OVER]).collect(),
    }
}

/// The counter key of one cell.
pub fn key(month: Month, org: Organisation, table: Table, row: &str, p: Priority) -> String {
    format!("stats/{month}/{org}/{table}/{row}/{p}")
}

/// How many counters one month of one organisation has: what a query reads per unit.
pub const CELLS_PER_UNIT: usize = (9 + 8 + 25 + 3 + 10 + 9 + 9) * 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_per_unit_is_every_row_of_every_table_by_priority() {
        let rows: usize = Table::ALL.iter().map(|t| rows(*t).len()).sum();
        assert_eq!(rows * Priority::ALL.len(), CELLS_PER_UNIT);
    }

    #[test]
    fn months_parse_and_step() {
        let m = Month::parse("2026-12").unwrap();
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.next().previous(), m);
        assert_eq!(Month::parse("2026-01").unwrap().through(m).len(), 12);
        for bad in ["2026-13", "2026-00", "26-01", "2026-1", "2026/01", "abcd-ef", "2026-01x"] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn buckets_bound_inclusively() {
        assert_eq!(ack_bucket(0), "le_1");
        assert_eq!(ack_bucket(15), "le_15");
        assert_eq!(ack_bucket(16), "le_30");
        assert_eq!(ack_bucket(4321), ACK_OVER);
        assert_eq!(ack_bound("le_240"), Some(240));
        assert_eq!(ack_bound(ACK_OVER), None);
    }
}
