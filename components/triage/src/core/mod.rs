//! Triage's core: the domain rules and the store protocol, everything that is not HTTP.

pub mod agenda;
pub mod audit;
pub mod checkins;
pub mod commit;
pub mod conversation;
pub mod escalation;
pub mod index;
pub mod listing;
pub mod org_audit;
pub mod outbox;
pub mod peers;
pub mod retention;
pub mod rewrap;
pub mod rules;
pub mod stats;
pub mod sweep;
pub mod tokens;
pub mod transfer;
pub mod triage;
pub mod work;
pub mod workflow;

use crate::context::{Ctx, COMPONENT};

/// Logs that work was left for the sweep (ids and kinds only).
pub fn deferred<S, O>(ctx: &Ctx<'_, S, O>, kind: &str, message: &str) {
    shared::log::warn(COMPONENT, ctx.correlation_id, kind, message);
}
