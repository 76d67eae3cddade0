//! intake: the public, confidential front door of weerbaar.
//!
//! An office holder (or someone on their behalf) files a report; it is stored sealed,
//! durable before the answer, and handed to triage. The reporter gets a receipt code,
//! shown once, to follow the case and to talk to the confidant.

pub mod advice;
pub mod client;
pub mod config;
pub mod handoff;
pub mod intake;
pub mod limits;
pub mod lookup;
pub mod pages;
pub mod proof_of_work;
pub mod report;
pub mod routes;
pub mod submit;
pub mod sweep;

/// The Spin entry point: the Spin adapters around the pure router.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
fn handle(req: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    routes::handle(req, shared::spin::SpinStore::open_default, shared::spin::ports())
}
