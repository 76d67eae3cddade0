//! intake: the public, confidential front door of weerbaar.
//!
//! An office holder (or someone on their behalf) files a report; it is stored sealed,
//! durable before the answer, and handed to triage. The reporter gets a receipt code,
//! shown once, to follow the case and to talk to the confidant.

pub mod config;
pub mod context;
pub mod core;
pub mod http;
pub mod routes;

/// The Spin entry point: the Spin adapters around the pure router.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(req: ::http::Request<Vec<u8>>, out: spin_sdk::http::ResponseOutparam) {
    shared::spin::serve::<routes::Intake>(req, out)
}
