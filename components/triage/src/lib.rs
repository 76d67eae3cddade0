//! triage: decides how urgent a case is, what help it needs and which organisation's
//! confidants own it, and gives those confidants the API to work the case from first
//! contact to closure. Events go to the notification component through an outbox.

pub mod config;
pub mod context;
pub mod core;
pub mod http;
pub mod routes;

/// The Spin entry point: the Spin adapters around the pure router.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(req: ::http::Request<Vec<u8>>, out: spin_sdk::http::ResponseOutparam) {
    shared::spin::serve::<routes::Triage>(req, out)
}
