//! The directory component's tests, one module per behaviour, in one test binary (the
//! layout of zero2prod's `tests/api/main.rs`): they call the component's routes
//! in-process, with the in-memory store and a manual clock from `common`. Run one with
//! its module path, e.g. `cargo test -p directory --test api assignment::`.

mod common;

mod assignment;
mod benchmark;
mod demo;
mod matching;
mod owners;
mod props;
mod register;
