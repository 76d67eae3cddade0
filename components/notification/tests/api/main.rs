//! The notification component's tests, one module per behaviour, in one test binary (the
//! layout of zero2prod's `tests/api/main.rs`): they call the component's routes
//! in-process, with the in-memory store and a manual clock from `common`. Run one with
//! its module path, e.g. `cargo test -p notification --test api bad_input::`.

mod common;

mod bad_input;
mod batch;
mod contract;
mod delivery;
mod props;
mod retention;
mod store_ops;
