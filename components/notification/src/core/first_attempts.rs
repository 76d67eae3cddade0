//! The first attempts, made in the request that brought the event: a P1 reaches its
//! coordinators before triage (and the reporter) hears back, without waiting for a
//! sweep. Within a time budget; whatever does not fit is left to the sweep.

use crate::context::{Ctx, COMPONENT};
use crate::core::delivery::{attempt, send_leased, settle, Outcome, Sending, Tried, Trigger};
use crate::core::outbox::Accepted;
use shared::id::MessageId;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;

shared::wire_enum!(
    /// What the event request's own attempt did for a message.
    FirstAttempt {
        Delivered => "delivered",
        Retrying => "retrying",
        Failed => "failed",
        /// Not attempted before the answer: a duplicate, or another sender at it (the
        /// sweep will), or past the time budget (sent right after the answer).
        Queued => "queued",
    }
);

/// How long the event request may spend on first attempts in all: the caller (triage,
/// itself answering a reporter) waits 5 s for us, so we answer within 4 s; an attempt
/// that might not end within the budget is left to the sweep.
pub const FIRST_ATTEMPTS_BUDGET: std::time::Duration = std::time::Duration::from_secs(4);

/// Makes the first attempt of each message of an event just accepted (durable now), so
/// a P1 does not wait for a sweep; none for a duplicate.
///
/// A message this request created holds its lease already: it is sent at once, with no
/// store write before the send, and its outcome (known from the receiver's answer) is
/// written after the answer to the caller ([`Ctx::after_response`]); should the
/// instance die first, the lease runs out and the sweep sends it again, with the same
/// `webhook-id`. What does not fit the time budget is sent after the answer too (it is
/// leased to us: nobody else would before the lease ends) and reported `queued`. A
/// message another request created (a retried event racing its first try) gets an
/// attempt with a lease of its own, within the budget, or is left to the sweep.
///
/// `started`: when the request began its first attempts; the budget is shared by every
/// event of a batch.
pub fn first_attempts<'a, S: KeyValue, O: Outbound>(
    ctx: &Ctx<'a, S, O>,
    accepted: Accepted,
    owner: &str,
    started: std::time::Instant,
) -> Vec<(MessageId, FirstAttempt)> {
    let timeout = ctx.config.first_attempt_timeout;
    let in_budget = || started.elapsed() + timeout <= FIRST_ATTEMPTS_BUDGET;
    let mut results = Vec::new();
    let mut leased = accepted.leased;
    for id in &accepted.messages {
        if accepted.duplicate {
            results.push((id.clone(), FirstAttempt::Queued));
            continue;
        }
        let outcome = if let Some(at) = leased.iter().position(|m| &m.id == id) {
            let message = leased.swap_remove(at);
            if in_budget() {
                match send_leased(ctx, &message, owner, Trigger::First, timeout) {
                    Ok(Sending::Sent(sent)) => {
                        let outcome = sent.outcome();
                        ctx.after_response(move |ctx| {
                            if let Err(problem) = settle(ctx, sent) {
                                warn(ctx, "first_attempt_settle", &message.id, &problem);
                            }
                        });
                        match outcome {
                            Outcome::Delivered => FirstAttempt::Delivered,
                            Outcome::Retrying => FirstAttempt::Retrying,
                            Outcome::Failed => FirstAttempt::Failed,
                        }
                    }
                    Ok(Sending::Abandoned(_)) => FirstAttempt::Failed,
                    Ok(Sending::NotNow) => FirstAttempt::Queued,
                    Err(problem) => {
                        // The message is safe in the outbox; the sweep will retry it.
                        warn(ctx, "first_attempt", id, &problem);
                        FirstAttempt::Queued
                    }
                }
            } else {
                let owner = owner.to_string();
                ctx.after_response(move |ctx| {
                    let sent = match send_leased(ctx, &message, &owner, Trigger::First, timeout) {
                        Ok(Sending::Sent(sent)) => settle(ctx, sent).map(|_| ()),
                        Ok(_) => Ok(()),
                        Err(problem) => Err(problem),
                    };
                    if let Err(problem) = sent {
                        warn(ctx, "first_attempt", &message.id, &problem);
                    }
                });
                FirstAttempt::Queued
            }
        } else if in_budget() {
            match attempt(ctx, id, Trigger::First, timeout) {
                Ok(Tried::Attempted(a)) => match a.outcome {
                    Outcome::Delivered => FirstAttempt::Delivered,
                    Outcome::Retrying => FirstAttempt::Retrying,
                    Outcome::Failed => FirstAttempt::Failed,
                },
                Ok(Tried::Abandoned(_)) => FirstAttempt::Failed,
                Ok(Tried::Skipped) => FirstAttempt::Queued,
                Err(problem) => {
                    warn(ctx, "first_attempt", id, &problem);
                    FirstAttempt::Queued
                }
            }
        } else {
            FirstAttempt::Queued
        };
        results.push((id.clone(), outcome));
    }
    results
}

fn warn<S, O>(ctx: &Ctx<'_, S, O>, what: &str, id: &MessageId, problem: &Problem) {
    shared::log::warn(COMPONENT, ctx.correlation_id, what, &format!("{id}: {problem:?}"));
}
