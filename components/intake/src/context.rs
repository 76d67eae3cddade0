//! The context of one intake request, and what is built from its configuration.

use crate::config::IntakeConfig;
use crate::core::client::Client;
use crate::core::handoff::TRIAGE_TIMEOUT;
use http::HeaderMap;
use shared::calls::Peer;
use shared::case_keys::CaseCipher;
use shared::id::CaseId;
use shared::kv::KeyValue;
use shared::problem::Problem;

/// What one intake request is served with: the store, the outbound client, clock,
/// randomness, [`IntakeConfig`] and the correlation id ([`shared::service::Context`]).
pub type Ctx<'a, S, O> = shared::service::Context<'a, S, O, IntakeConfig>;

/// The component's name, in log lines and health answers.
pub const COMPONENT: &str = "intake";

/// The triage component, called with the internal secret (see `core/handoff.rs`).
pub fn triage<'a, S, O>(ctx: &'a Ctx<'_, S, O>) -> Peer<'a, O> {
    Peer {
        outbound: ctx.outbound,
        base_url: &ctx.config.triage_url,
        internal_secret: &ctx.config.internal_secret,
        correlation_id: ctx.correlation_id,
        timeout: TRIAGE_TIMEOUT,
    }
}

/// Seals and opens the fields of case `id` (its data key, unwrapped by `case_keys`).
pub fn case_cipher<'a, S: KeyValue, O>(ctx: &'a Ctx<'_, S, O>, id: &CaseId) -> Result<CaseCipher<'a>, Problem> {
    CaseCipher::load(ctx.store, &ctx.config.keyring, id).map_err(Problem::internal)
}

/// The client a request with these headers is counted against, behind the configured
/// trusted proxies. A request without a usable address is not limited: that is logged
/// (never the headers), since many of them mean the proxy settings are wrong.
pub fn client<S, O>(ctx: &Ctx<'_, S, O>, headers: &HeaderMap) -> Client {
    let client = Client::of(headers, &ctx.config.trusted_proxies);
    if client == Client::Unidentified {
        let why = "no usable client address (spin-client-addr, or forwarding headers of a trusted proxy): \
                   this request is not limited";
        shared::log::warn(COMPONENT, ctx.correlation_id, "client-address-unknown", why);
    }
    client
}
