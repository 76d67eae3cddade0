//! What weerbaar's four components really share.
//!
//! - [`domain`]: the vocabulary of the support line (roles, regions, priorities, ...),
//!   as types that can only hold valid values.
//! - [`id`], [`receipt`]: typed identifiers and the reporter's receipt code.
//! - [`problem`]: the one error type, rendered as RFC 9457 problem details.
//! - [`kv`]: the key-value port, with exactly the guarantees real Spin gives,
//!   an in-memory fake that reproduces them, and the Spin adapter.
//! - [`crypto`], [`auth`]: confidential fields at rest, keyed hashes, tokens.
//! - [`web`]: strict JSON input, responses and correlation ids for thin handlers.
//! - [`case`], [`events`], [`calls`]: the case record, the events components exchange,
//!   and the request and answer of every call between them.
//! - [`service`]: the one skeleton every component follows ([`service::Service`],
//!   [`service::Context`]); [`text`]: bounded free text.
//! - [`clock`], [`random`], [`outbound`], [`config`]: the remaining ports.

pub mod auth;
pub mod calls;
pub mod case;
pub mod case_keys;
pub mod clock;
pub mod config;
#[cfg(feature = "contract")]
pub mod contract;
pub mod crypto;
pub mod domain;
pub mod events;
pub mod id;
pub mod kv;
pub mod log;
pub mod order;
pub mod outbound;
pub mod problem;
pub mod random;
pub mod receipt;
pub mod service;
pub mod text;
pub mod time;
pub mod watchdog;
pub mod web;

#[cfg(target_arch = "wasm32")]
pub mod spin;
