//! directory: the regional network of peers and experts, and who should help with a case.
//!
//! Programme admins keep the register of members (contact details sealed at rest, every
//! read of them audited); staff search and match; triage asks
//! for ranked candidates per need and tells the directory when a member takes on or
//! finishes a case, so nobody is given more cases than they can carry.

pub mod config;
pub mod core;
pub mod routes;

/// The Spin entry point: the Spin adapters around the pure router.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
fn handle(req: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    use shared::spin::{SpinStore, SpinVariables};
    let ports = routes::Ports {
        clock: &shared::clock::SystemClock,
        random: &shared::random::SystemRandom,
        variables: &SpinVariables,
    };
    routes::handle(req, SpinStore::open_default, ports)
}
