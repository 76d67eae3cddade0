//! Triage's HTTP edge: request forms, typed views and the statistics report page.

pub mod stats_report;
pub mod views;
