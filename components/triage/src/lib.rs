//! triage: decides how urgent a case is, what help it needs and which organisation's
//! confidants own it, and gives those confidants the API to work the case from first
//! contact to closure. Events go to the notification component through an outbox.

pub mod agenda;
pub mod audit;
pub mod checkins;
pub mod commit;
pub mod config;
pub mod context;
pub mod conversation;
pub mod escalation;
pub mod index;
pub mod listing;
pub mod org_audit;
pub mod outbox;
pub mod peers;
pub mod retention;
pub mod rewrap;
pub mod routes;
pub mod rules;
pub mod stats;
pub mod sweep;
pub mod tokens;
pub mod transfer;
pub mod triage;
pub mod view;
pub mod work;
pub mod workflow;

/// The Spin entry point: the Spin adapters around the pure router.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
fn handle(req: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    routes::handle(req, shared::spin::SpinStore::open_default, shared::spin::ports())
}
