//! Triage's HTTP edge: the handlers, request forms, typed views and the statistics
//! report page. Everything below ([`crate::core`]) never sees a request.

pub mod endpoints;
pub mod forms;
pub mod stats_report;
pub mod views;
