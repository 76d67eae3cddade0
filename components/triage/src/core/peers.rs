//! The calls triage makes to the directory (matching, member load) and the notification
//! component (events), with the request and answer types of `shared::calls`. Short
//! timeouts: a P1 report waits on this chain.

use crate::context::{directory, notification, Ctx};
use crate::core::work::Suggestion;
use shared::calls::{Assign, CallFailure, Hold, MatchRequest, MemberCase, Release};
use shared::events::{CaseEvent, CaseEventBatch};
use shared::id::{CaseId, MemberId};
use shared::outbound::Outbound;
use std::time::Duration;

/// How long triage waits for the directory or the notification component.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(5);

/// How many candidates per need triage keeps as suggestions.
pub const SUGGESTIONS_PER_NEED: u32 = 3;

/// Asks the directory who could help (`POST /directory/internal/match`); no needs, no call.
pub fn match_members<S, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    request: &MatchRequest,
) -> Result<Vec<Suggestion>, CallFailure> {
    if request.needs.is_empty() {
        return Ok(Vec::new());
    }
    let answer = directory(ctx).call(request)?;
    Ok(answer
        .matches
        .into_iter()
        .flat_map(|m| {
            m.candidates.into_iter().map(move |c| Suggestion {
                need: m.need,
                member_id: c.member_id,
                name: c.name,
                kind: c.kind,
                score: c.score,
            })
        })
        .collect())
}

/// A member takes on a case: `Ok(true)`, or `Ok(false)` when at capacity (409).
/// `hold` names this assignment request (see `directory/src/core/load.rs`).
pub fn assign_member<S, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    member: &MemberId,
    case: &CaseId,
    hold: &Hold,
) -> Result<bool, CallFailure> {
    let body = MemberCase { case_id: case.clone(), hold: Some(hold.clone()) };
    let call = Assign { member: member.clone(), body };
    match directory(ctx).send(&call)?.status().as_u16() {
        200..=299 => Ok(true),
        409 => Ok(false),
        status => Err(CallFailure::Status(status)),
    }
}

/// A member's case is closed or handed on (`hold: None`), or an assignment request
/// that failed lets go of its hold (the case stays with the member while another
/// request holds it).
pub fn release_member<S, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    member: &MemberId,
    case: &CaseId,
    hold: Option<&Hold>,
) -> Result<(), CallFailure> {
    let body = MemberCase { case_id: case.clone(), hold: hold.cloned() };
    let call = Release { member: member.clone(), body };
    succeeded(directory(ctx).send(&call)?)
}

/// Hands an event to the notification component (202 once it is in its outbox; the
/// body is not read).
pub fn send_event<S, O: Outbound>(ctx: &Ctx<'_, S, O>, event: &CaseEvent) -> Result<(), CallFailure> {
    succeeded(notification(ctx).send(event)?)
}

/// Hands a change's events to the notification component in one request, in order
/// (one alone goes as a single event): accepted only if every one was.
///
/// A notification component from before the batch endpoint answers it 404 or 405;
/// then the events go one by one, in order, so that the components can be updated in
/// either order (each event is deduplicated by its id, so a retry of a half-sent
/// sequence delivers nothing twice).
pub fn send_events<S, O: Outbound>(ctx: &Ctx<'_, S, O>, events: &[CaseEvent]) -> Result<(), CallFailure> {
    match events {
        [] => Ok(()),
        [event] => send_event(ctx, event),
        more => {
            let response = notification(ctx).send(&CaseEventBatch { events: more.to_vec() })?;
            match response.status().as_u16() {
                404 | 405 => more.iter().try_for_each(|event| send_event(ctx, event)),
                _ => succeeded(response),
            }
        }
    }
}

fn succeeded(response: http::Response<Vec<u8>>) -> Result<(), CallFailure> {
    if response.status().is_success() {
        Ok(())
    } else {
        Err(CallFailure::Status(response.status().as_u16()))
    }
}
