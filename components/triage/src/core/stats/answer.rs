//! The answer of `GET /triage/stats`: published cells (a count, or withheld below the
//! threshold), first-contact performance, and the same cells as CSV.

use serde::{Serialize, Serializer};
use shared::domain::{Organisation, Priority};

/// A published count: its value, or that it is below the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Value(u64),
    /// Withheld; carries the threshold it is reported against (`"<5"`).
    Suppressed(u64),
}

impl Count {
    /// The value, if published.
    pub fn value(self) -> Option<u64> {
        match self {
            Count::Value(v) => Some(v),
            Count::Suppressed(_) => None,
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Count::Value(v) => write!(f, "{v}"),
            Count::Suppressed(t) => write!(f, "<{t}"),
        }
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Value(v) => s.serialize_u64(*v),
            Count::Suppressed(_) => s.collect_str(self),
        }
    }
}

/// One published cell: also one row of the CSV answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellView {
    pub month: String,
    pub organisation: Organisation,
    pub table: &'static str,
    pub row: String,
    /// `P1`..`P4`, or `total`.
    pub column: String,
    pub value: Count,
}

/// First-contact performance of one priority in one month of one organisation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstContactView {
    pub month: String,
    pub organisation: Organisation,
    pub priority: Priority,
    pub triaged: Count,
    pub acknowledged: Count,
    pub acknowledged_within_deadline: Count,
    pub acknowledged_after_deadline: Count,
    pub escalated: Count,
    /// Within-deadline share of acknowledgements, when both counts are published.
    pub within_deadline_percent: Option<f64>,
    /// Upper bound (minutes) of the histogram bucket holding the median, when every
    /// bucket is published; `null` also when it is the open last bucket.
    pub p50_minutes: Option<i64>,
    /// Likewise for the 90th percentile.
    pub p90_minutes: Option<i64>,
    /// First confidant messages to the reporter.
    pub replied: Count,
    /// Like `p50_minutes`, for the time from assignment to the first confidant message.
    pub reply_p50_minutes: Option<i64>,
    /// Like `p90_minutes`, for the time from assignment to the first confidant message.
    pub reply_p90_minutes: Option<i64>,
}

/// The answer of `GET /triage/stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsAnswer {
    pub from: String,
    pub to: String,
    pub organisations: Vec<Organisation>,
    /// Cells below this are reported as `"<threshold"`.
    pub threshold: u64,
    /// `region` when every cell of the answer clears the threshold, else `province`.
    pub geography: &'static str,
    pub first_contact: Vec<FirstContactView>,
    pub cells: Vec<CellView>,
}

/// The columns of the CSV answer, in order (also in `openapi.yaml`).
pub const CSV_COLUMNS: &[&str] = &["month", "organisation", "table", "row", "column", "value"];

impl StatsAnswer {
    /// One line per cell, for a spreadsheet or the ministry's monitor.
    pub fn csv(&self) -> String {
        let mut out = CSV_COLUMNS.join(",");
        out.push_str("\r\n");
        for c in &self.cells {
            // Every field is a closed-set word, a month or a number: nothing to quote.
            out.push_str(&format!("{},{},{},{},{},{}\r\n", c.month, c.organisation, c.table, c.row, c.column, c.value));
        }
        out
    }
}
