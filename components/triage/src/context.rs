//! The context one triage request works with, and what is built from its configuration.

use crate::config::TriageConfig;
use crate::core::peers::PEER_TIMEOUT;
use shared::calls::Peer;
use shared::case_keys::CaseCipher;
use shared::id::CaseId;
use shared::kv::KeyValue;
use shared::problem::Problem;

/// What a triage operation needs: the store, the outbound client, time, randomness,
/// triage's configuration, and the request's correlation id.
pub type Ctx<'a, S, O> = shared::service::Context<'a, S, O, TriageConfig>;

/// The component's name, in log lines and health answers.
pub const COMPONENT: &str = "triage";

/// The directory component.
pub fn directory<'a, S, O>(ctx: &'a Ctx<'_, S, O>) -> Peer<'a, O> {
    peer(ctx, &ctx.config.directory_url)
}

/// The notification component.
pub fn notification<'a, S, O>(ctx: &'a Ctx<'_, S, O>) -> Peer<'a, O> {
    peer(ctx, &ctx.config.notification_url)
}

/// The component at `base_url`, called with the internal secret and a short timeout.
fn peer<'a, S, O>(ctx: &'a Ctx<'_, S, O>, base_url: &'a str) -> Peer<'a, O> {
    Peer {
        outbound: ctx.outbound,
        base_url,
        internal_secret: &ctx.config.internal_secret,
        correlation_id: ctx.correlation_id,
        timeout: PEER_TIMEOUT,
    }
}

/// Seals and opens the fields of case `id` (its data key, unwrapped by `case_keys`).
pub fn case_cipher<'a, S: KeyValue, O>(ctx: &'a Ctx<'_, S, O>, id: &CaseId) -> Result<CaseCipher<'a>, Problem> {
    CaseCipher::load(ctx.store, &ctx.config.keyring, id).map_err(Problem::internal)
}
