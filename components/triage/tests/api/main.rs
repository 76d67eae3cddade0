//! The triage component's tests, one module per behaviour, in one test binary (the
//! layout of zero2prod's `tests/api/main.rs`): they call the component's routes
//! in-process, with the in-memory store and a manual clock from `common`. Run one with
//! its module path, e.g. `cargo test -p triage --test api audit_chain::`.

mod common;

mod audit_chain;
mod case_keys;
mod check_ins;
mod confidant;
mod contract;
mod conversation;
mod escalation_and_listing;
mod handover;
mod priority_rules;
mod props;
mod retention;
mod stats;
mod store_ops;
