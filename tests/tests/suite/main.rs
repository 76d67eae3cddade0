//! Every test of the test host and every end-to-end story, in one test binary, so the
//! host (wasmtime) is compiled into one executable and linked once, not once per file
//! (the layout of zero2prod's `tests/api/main.rs`). One module per story or host
//! feature; run one with its module path, e.g.
//! `cargo test -p weerbaar-tests --test suite need_to_know::`.
//!
//! Helpers: `common` (the probe app of `tests/fixtures/probe`), `e2e` (the project's
//! app with test secrets, a client that holds every answer to `openapi.yaml`, webhook
//! receivers, callers of each kind), `pages` (reading and posting HTML forms).

mod common;
mod e2e;
mod pages;

// The benchmark of issue 16 (ignored; `tests/bench` runs it).
mod bench;

// The host itself, on the probe app: what Spin does, observed.
mod guest_io;
mod key_value;
mod outbound;
mod redis_store;
mod routing;
mod throughput;
mod variables;
mod variables_env;

// The repository's manifests and guides.
mod deploy_manifests;

// End-to-end stories on the real components.
mod access_table;
mod audit_e2e;
mod conversation_e2e;
mod directory_e2e;
mod faults;
mod hostile_input;
mod intake_e2e;
mod key_rotation;
mod load;
mod need_to_know;
mod notification_e2e;
mod openapi_contract;
mod p1_path;
mod reporter_pages;
mod reporter_pages_browser;
mod retention;
mod split_deployment;
mod stats_report;
mod sweeper;
mod token_records;
mod triage_e2e;
