//! directory: the regional network of peers and experts, and who should help with a case.
//!
//! Programme admins keep the register of members (contact details sealed at rest, every
//! read of them audited); staff search and match; triage asks
//! for ranked candidates per need and tells the directory when a member takes on or
//! finishes a case, so nobody is given more cases than they can carry.
//!
//! Layout, as in every component: [`routes`] (the route table and dispatch),
//! [`context`] (what a request is served with), [`config`], [`http`] (the edge: one
//! handler per endpoint, forms and views) and [`core`] (the register, index lists,
//! matching, loads and audit, over the store).

pub mod config;
pub mod context;
pub mod core;
pub mod http;
pub mod routes;

/// The Spin entry point.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(req: ::http::Request<Vec<u8>>, out: spin_sdk::http::ResponseOutparam) {
    shared::spin::serve::<routes::Directory>(req, out)
}
