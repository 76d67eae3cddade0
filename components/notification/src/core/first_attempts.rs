//! The first attempts, made in the request that brought the event: a P1 reaches its
//! coordinators before triage (and the reporter) hears back, without waiting for a
//! sweep. Within a time budget; whatever does not fit is left to the sweep.

use crate::context::{Ctx, COMPONENT};
use crate::core::delivery::{attempt, Outcome, Tried, Trigger};
use crate::core::outbox::Accepted;
use shared::id::MessageId;
use shared::kv::KeyValue;
use shared::outbound::Outbound;

shared::wire_enum!(
    /// What the event request's own attempt did for a message.
    FirstAttempt {
        Delivered => "delivered",
        Retrying => "retrying",
        Failed => "failed",
        /// Not attempted in this request (a duplicate, the time budget used, or another
        /// sender at it): the sweep will.
        Queued => "queued",
    }
);

/// How long the event request may spend on first attempts in all: the caller (triage,
/// itself answering a reporter) waits 5 s for us, so we answer within 4 s; an attempt
/// that might not end within the budget is left to the sweep.
pub const FIRST_ATTEMPTS_BUDGET: std::time::Duration = std::time::Duration::from_secs(4);

/// Makes the first attempt of each message of an event just accepted (durable now), so
/// a P1 does not wait for a sweep; none for a duplicate, none past the budget.
pub fn first_attempts<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    accepted: &Accepted,
) -> Vec<(MessageId, FirstAttempt)> {
    let started = std::time::Instant::now();
    let mut results = Vec::new();
    for id in &accepted.messages {
        let tried = if accepted.duplicate
            || started.elapsed() + ctx.config.first_attempt_timeout > FIRST_ATTEMPTS_BUDGET
        {
            None
        } else {
            match attempt(ctx, id, Trigger::First, ctx.config.first_attempt_timeout) {
                Ok(t) => Some(t),
                Err(problem) => {
                    // The message is safe in the outbox; the sweep will retry it.
                    shared::log::warn(COMPONENT, ctx.correlation_id, "first_attempt", &format!("{id}: {problem:?}"));
                    None
                }
            }
        };
        let outcome = match tried {
            Some(Tried::Attempted(a)) => match a.outcome {
                Outcome::Delivered => FirstAttempt::Delivered,
                Outcome::Retrying => FirstAttempt::Retrying,
                Outcome::Failed => FirstAttempt::Failed,
            },
            Some(Tried::Abandoned(_)) => FirstAttempt::Failed,
            Some(Tried::Skipped) | None => FirstAttempt::Queued,
        };
        results.push((id.clone(), outcome));
    }
    results
}
