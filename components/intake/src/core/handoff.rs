//! Handing work to triage: a new case, or a reporter's follow-up message. Best effort
//! by design: the case or message is already durable and listed in a pending list
//! (`idx/pending_triage`, `idx/pending_messages`), so a failed handoff leaves work for
//! triage's sweep, never a lost report, and the reporter never sees a 5xx for it.
//! It runs after the reporter's answer ([`shared::service::Context::after_response`]):
//! the reporter waits only for durability, never for triage, the directory or the
//! coordinators' webhooks.

use crate::context::{self, Ctx, COMPONENT};
use shared::calls::{Call, CallFailure, TakeInMessage, TriageCase};
use shared::id::CaseId;
use shared::outbound::Outbound;
use std::time::Duration;

/// How long the hand-over waits for triage (which itself notifies coordinators for a
/// P1 within this time); the reporter has had the answer already.
pub const TRIAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Asks triage to triage `case` now; false when that is left to triage's sweep.
pub fn triage_case<S, O: Outbound>(ctx: &Ctx<'_, S, O>, case: &CaseId) -> bool {
    hand_over(ctx, &TriageCase { case_id: case.clone() }, case.as_str())
}

/// Asks triage to take in the reporter's message in `slot` of the case's messages;
/// false when that is left to triage's sweep.
pub fn take_in_message<S, O: Outbound>(ctx: &Ctx<'_, S, O>, case: &CaseId, slot: u64) -> bool {
    let call = TakeInMessage { case_id: case.clone(), slot };
    hand_over(ctx, &call, &format!("message {slot} of {case}"))
}

/// Sends `call`; a 2xx is all intake acts on (triage's answer, [`shared::calls::Triaged`]
/// or [`shared::calls::TakenIn`], tells it nothing it needs). Anything else is logged
/// for the operator with `what` (ids only, never content).
fn hand_over<S, O: Outbound, C: Call>(ctx: &Ctx<'_, S, O>, call: &C, what: &str) -> bool {
    let failure = match context::triage(ctx).send(call) {
        Ok(answer) if answer.status().is_success() => return true,
        Ok(answer) => CallFailure::Status(answer.status().as_u16()),
        Err(failure) => failure,
    };
    let message = format!("{what} left for the triage sweep: triage {failure}");
    shared::log::warn(COMPONENT, ctx.correlation_id, "handoff-deferred", &message);
    false
}
