//! notification: signed webhooks to coordinators that never get lost.
//!
//! Case events arrive on an internal endpoint, are deduplicated and written to a
//! durable outbox (one message per interested subscription) before the caller hears
//! "accepted"; the first attempt happens in that same request, retries follow the
//! Standard Webhooks schedule from the sweep. Payloads carry only non-identifying
//! case facts, signed per Standard Webhooks.
//!
//! Layout, as in every component: [`routes`] (the route table and dispatch),
//! [`context`] (what a request is served with), [`config`], [`http`] (the edge: one
//! handler per endpoint, forms and views) and [`core`] (subscriptions, outbox,
//! delivery, sweep, recovery, retention).

pub mod config;
pub mod context;
pub mod core;
pub mod http;
pub mod routes;

/// The Spin entry point.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(req: ::http::Request<Vec<u8>>, out: spin_sdk::http::ResponseOutparam) {
    shared::spin::serve::<routes::Notification>(req, out)
}
