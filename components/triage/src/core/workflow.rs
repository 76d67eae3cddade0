//! What a confidant does with a case: read it, acknowledge, assign, override the
//! priority, move it along the lifecycle, close and reopen, and write to the reporter.
//! Every change is based on the version the confidant read (`If-Match`), and every
//! read and change goes into the audit trail.

use crate::context::{case_cipher, Ctx};
use crate::core::audit::{audit_activity, audit_read, By};
use crate::core::checkins::has_open_check_in;
use crate::core::commit::{commit, Base, Decision};
use crate::core::deferred;
use crate::core::outbox::{read_case, status_event};
use crate::core::peers::{assign_member, release_member};
use crate::core::retention::schedule_purge;
use crate::core::stats::count_first_reply;
use crate::core::triage::suggestions_for;
use crate::core::work::{set_work, work_of, Actor, Assignment, PriorityOverride, Transition};
use shared::auth::Principal;
use shared::calls::{CallFailure, Hold};
use shared::case::{case_key, message_field, messages_log, CaseMessage, CaseRecord, MessageAuthor};
use shared::domain::{CaseStatus, Priority};
use shared::events::EventType;
use shared::id::{CaseId, MemberId};
use shared::kv::versioned::{self, Versioned};
use shared::kv::{to_json, KeyValue};
use shared::outbound::Outbound;
use shared::problem::{Problem, ProblemKind};
use shared::time::Timestamp;

/// A case as its organisation's confidant may see it, or 404.
pub fn owned(doc: Option<Versioned<CaseRecord>>, principal: &Principal) -> Result<Versioned<CaseRecord>, Problem> {
    match doc {
        Some(doc) if doc.data.assessment.as_ref().map(|a| a.organisation) == Some(principal.organisation) => Ok(doc),
        _ => Err(Problem::not_found()),
    }
}

fn invalid_transition(from: CaseStatus, to: CaseStatus, pointer: &str) -> Problem {
    Problem::new(ProblemKind::InvalidTransition, format!("a case that is {from} cannot become {to}")).at(pointer)
}

/// Reads a case of the caller's organisation, and records the read.
pub fn read_for<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    principal: &Principal,
    id: &CaseId,
) -> Result<Versioned<CaseRecord>, Problem> {
    let doc = owned(versioned::read(ctx.store, &case_key(id))?, principal)?;
    audit_read(ctx, &doc.data, principal, "read")?;
    Ok(doc)
}

/// Acknowledges a case: a confidant has it in hand, escalation stops.
pub fn acknowledge<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &CaseId,
    version: u64,
) -> Result<Versioned<CaseRecord>, Problem> {
    let done = commit(ctx, id, Some(who.organisation), Base::Exact(version), &By::staff(who), |record, _, now| {
        if record.acknowledged_at.is_some() {
            return Ok(None);
        }
        record.acknowledged_at = Some(now);
        Ok(Some(Decision::new("acknowledged", Vec::new())))
    })?;
    Ok(done.doc)
}

/// Assigns a confidant and network members. Members new to the case are taken on
/// at the directory first (409 when one is at capacity, and nothing changes);
/// members dropped from the case are released after.
pub fn assign<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &CaseId,
    version: u64,
    confidant: &str,
    members: &[MemberId],
    reason: Option<&str>,
) -> Result<Versioned<CaseRecord>, Problem> {
    let doc = owned(versioned::read(ctx.store, &case_key(id))?, who)?;
    if doc.version != version {
        return Err(shared::web::stale(doc.version));
    }
    let assignable = |status: CaseStatus| {
        status.may_become(CaseStatus::Assigned)
            || matches!(status, CaseStatus::Assigned | CaseStatus::InProgress | CaseStatus::Aftercare)
    };
    if !assignable(doc.data.status) {
        return Err(invalid_transition(doc.data.status, CaseStatus::Assigned, "/confidant"));
    }
    let before: Vec<MemberId> = work_of(&doc.data).assignment.map(|a| a.members).unwrap_or_default();
    // This request's hold on the members it takes on: if its change fails it lets go
    // of its own hold only, so a concurrent request that assigned the same member to
    // this case and won keeps the member's load entry.
    let hold = Hold::generate(ctx.random);
    let taken = take_on(ctx, id, members, &before, &hold)?;
    let actor = Actor::of(who);
    let result = commit(ctx, id, Some(who.organisation), Base::Exact(version), &By::staff(who), |record, work, now| {
        if !assignable(record.status) {
            return Err(invalid_transition(record.status, CaseStatus::Assigned, "/confidant"));
        }
        if record.status != CaseStatus::Assigned && record.status.may_become(CaseStatus::Assigned) {
            work.last_transition =
                Some(Transition { from: record.status, to: CaseStatus::Assigned, by: actor.clone(), at: now });
            record.status = CaseStatus::Assigned;
        }
        work.assignment = Some(Assignment {
            confidant: confidant.to_string(),
            members: members.to_vec(),
            by: actor.clone(),
            at: now,
        });
        Ok(Some(Decision::new("assigned", vec![EventType::CaseAssigned]).noted(reason)))
    });
    let done = match result {
        Ok(done) => done,
        Err(problem) => {
            release_all(ctx, id, &taken, Some(&hold));
            return Err(problem);
        }
    };
    let dropped: Vec<MemberId> = before.into_iter().filter(|m| !members.contains(m)).collect();
    release_all(ctx, id, &dropped, None);
    Ok(done.doc)
}

/// Takes `members` on at the directory under `hold`, except those the case already had.
fn take_on<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    id: &CaseId,
    members: &[MemberId],
    before: &[MemberId],
    hold: &Hold,
) -> Result<Vec<MemberId>, Problem> {
    let mut taken = Vec::new();
    for (i, member) in members.iter().enumerate() {
        if before.contains(member) {
            continue;
        }
        let answer = assign_member(ctx, member, id, hold);
        match answer {
            Ok(true) => taken.push(member.clone()),
            Ok(false) | Err(_) => {
                release_all(ctx, id, &taken, Some(hold));
                return Err(match answer {
                    Ok(false) => Problem::new(ProblemKind::Conflict, "this member cannot take on another case")
                        .at(format!("/members/{i}")),
                    Err(CallFailure::Status(404)) => Problem::invalid_field(format!("/members/{i}"), "no such member"),
                    _ => {
                        let mut p = Problem::new(
                            ProblemKind::DownstreamUnavailable,
                            "the directory is unavailable; nothing was changed, try again",
                        );
                        p.retry_after = Some(5);
                        p
                    }
                });
            }
        }
    }
    Ok(taken)
}

/// Releases `members` from the case: all holds (`None`: closing, handing on, dropping),
/// or only `hold`, the one of an assignment request whose change failed.
fn release_all<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, id: &CaseId, members: &[MemberId], hold: Option<&Hold>) {
    for member in members {
        if let Err(failure) = release_member(ctx, member, id, hold) {
            deferred(ctx, "release-failed", &format!("{member} on {id}: directory {failure}"));
        }
    }
}

/// Overrides the priority; the reason is kept (sealed) and the deadline follows the
/// new priority's first-contact time from receipt.
pub fn override_priority<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &CaseId,
    version: u64,
    priority: Priority,
    reason: &str,
) -> Result<Versioned<CaseRecord>, Problem> {
    let actor = Actor::of(who);
    let cipher = case_cipher(ctx, id)?;
    let done = commit(ctx, id, Some(who.organisation), Base::Exact(version), &By::staff(who), |record, work, now| {
        let sla = ctx.config.sla.get(priority).expect("configuration covers every priority");
        let received_at = record.received_at;
        let Some(assessment) = record.assessment.as_mut() else {
            return Err(Problem::not_found());
        };
        if assessment.priority == priority {
            return Ok(None);
        }
        let sealed = cipher.seal(reason.as_bytes(), id.as_str(), "priority-override", ctx.random);
        work.priority_override = Some(PriorityOverride {
            from: assessment.priority,
            to: priority,
            reason: sealed,
            by: actor.clone(),
            at: now,
        });
        assessment.reasons.push(format!("confidant_override: {} to {priority}", assessment.priority));
        assessment.priority = priority;
        assessment.first_contact_due = received_at + sla;
        Ok(Some(Decision::new(format!("priority:{priority}"), vec![EventType::CaseTriaged]).noted(Some(reason))))
    })?;
    Ok(done.doc)
}

/// Moves the case along the lifecycle (409 for a change it does not allow).
/// Assignment goes through [`Triage::assign`], which names who works the case.
pub fn change_status<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &CaseId,
    version: u64,
    to: CaseStatus,
    reason: &str,
    no_aftercare_reason: Option<&str>,
) -> Result<Versioned<CaseRecord>, Problem> {
    if no_aftercare_reason.is_some() && to != CaseStatus::Aftercare {
        return Err(Problem::invalid_field("/no_aftercare_reason", "only with status aftercare"));
    }
    let actor = Actor::of(who);
    let done = commit(ctx, id, Some(who.organisation), Base::Exact(version), &By::staff(who), |record, work, now| {
        if to == CaseStatus::Assigned && record.status.may_become(to) {
            return Err(
                Problem::new(ProblemKind::InvalidTransition, "assign a confidant with POST …/assign").at("/status")
            );
        }
        if !record.status.may_become(to) {
            return Err(invalid_transition(record.status, to, "/status"));
        }
        // Aftercare is planned work: a check-in, or a reason why none is wanted.
        if to == CaseStatus::Aftercare && no_aftercare_reason.is_none() && !has_open_check_in(work) {
            return Err(Problem::new(
                ProblemKind::InvalidTransition,
                "aftercare needs an open check-in (POST …/check-ins) or no_aftercare_reason",
            )
            .at("/no_aftercare_reason"));
        }
        if to == CaseStatus::Closed {
            // Scheduled with the close time this change records; a reopen cancels it.
            schedule_purge(ctx, id, now)?;
        }
        work.last_transition = Some(Transition { from: record.status, to, by: actor.clone(), at: now });
        record.status = to;
        let decision = Decision::new(format!("status:{to}"), status_event(to).into_iter().collect());
        Ok(Some(match no_aftercare_reason {
            Some(why) => decision.noted(Some(reason)).and("no_aftercare_wanted", Some(why)),
            None => decision.noted(Some(reason)),
        }))
    })?;
    if to == CaseStatus::Closed {
        let members = work_of(&done.doc.data).assignment.map(|a| a.members).unwrap_or_default();
        release_all(ctx, id, &members, None);
    }
    Ok(done.doc)
}

/// Writes to the reporter: the message shows on intake's status lookup.
pub fn message_reporter<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &CaseId,
    text: &str,
) -> Result<(Timestamp, u64), Problem> {
    let doc = owned(versioned::read(ctx.store, &case_key(id))?, who)?;
    if work_of(&doc.data).purging.is_some() {
        return Err(Problem::not_found());
    }
    let log = messages_log(id);
    let slot = log.reserve(ctx.store)?;
    let now = ctx.clock.now();
    let sealed = case_cipher(ctx, id)?.seal(text.as_bytes(), id.as_str(), &message_field(slot), ctx.random);
    let message = CaseMessage { author: MessageAuthor::Confidant, at: now, text: sealed, follow_up: None };
    // The message and its audit entry in one write; it counts once the activity
    // chain names the entry (else both are removed and the request fails).
    let closed = doc.data.status == CaseStatus::Closed;
    audit_activity(ctx, id, &By::staff(who), "message", &[(log.key(slot), to_json(&message))], closed)?;
    count_first_reply(ctx, &doc.data, slot, now);
    Ok((now, slot))
}

/// Stores new suggestions on a case triaged while the directory was down.
pub fn rematch<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, id: &CaseId) -> Result<bool, Problem> {
    let Some(doc) = read_case(ctx, id)? else { return Ok(false) };
    if !work_of(&doc.data).rematch {
        return Ok(false);
    }
    let (found, still_down) = suggestions_for(ctx, &doc.data);
    if still_down {
        return Ok(false);
    }
    let done = commit(ctx, id, None, Base::Latest, &By::system(), |record, work, _| {
        if !work.rematch {
            return Ok(None);
        }
        work.rematch = false;
        work.suggestions = found.clone();
        set_work(record, work);
        Ok(Some(Decision::new("rematched", Vec::new())))
    })?;
    Ok(done.changed)
}
