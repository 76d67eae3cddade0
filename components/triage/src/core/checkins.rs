//! Check-ins: aftercare and prevention as planned work on a case.
//!
//! A confidant schedules a check-in (a due time, a purpose, an optional note sealed to
//! the case and the check-in) and later completes it with an outcome and a sealed note.
//! Check-ins live in the case's bookkeeping, so every change of them is one
//! compare-and-swap change of the case, and the case's index entries follow them
//! ([`crate::core::index::wanted`]): an open check-in of an open case is in its
//! organisation's day list until the sweep announces it due (`case.check_in_due`), then
//! in its organisation's due list, where it is announced overdue
//! (`case.check_in_overdue`) every escalation interval of the case's priority until it
//! is completed. A handover moves the entries with the case; a purge deletes them.

use crate::context::{case_cipher, Ctx};
use crate::core::audit::By;
use crate::core::commit::{commit, Base, Decision};
use crate::core::escalation::level_due;
use crate::core::work::{Actor, CaseWork};
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::case::CaseRecord;
use shared::case_keys::CaseCipher;
use shared::crypto::Sealed;
use shared::domain::{CheckInOutcome, CheckInPurpose};
use shared::events::EventType;
use shared::id::{CaseId, CheckInId};
use shared::kv::versioned::Versioned;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::{Problem, ProblemKind};
use shared::time::{Duration, Timestamp};

/// Most open check-ins a case may have at once.
pub const MAX_OPEN: usize = 10;
/// Completed check-ins kept on the case beyond this many are dropped, oldest first
/// (the audit trail keeps every completion, with its note).
pub const KEPT_COMPLETED: usize = 40;
/// How far ahead a check-in may be planned.
pub const PLANNING_HORIZON: Duration = Duration::days(366);

/// A planned contact, as stored on the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckIn {
    pub id: CheckInId,
    pub purpose: CheckInPurpose,
    pub due_at: Timestamp,
    /// Sealed for the case, field [`note_field`] `note`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Sealed>,
    pub scheduled_by: Actor,
    pub scheduled_at: Timestamp,
    /// When the sweep announced it due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fell_due_at: Option<Timestamp>,
    /// How many `case.check_in_overdue` announcements it has had.
    #[serde(default)]
    pub overdue_level: u32,
    /// The time of the change that last announced it (due or overdue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_announced_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<Completion>,
}

/// How a check-in went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    pub outcome: CheckInOutcome,
    /// Sealed for the case, field [`note_field`] `outcome`.
    pub note: Sealed,
    pub by: Actor,
    pub at: Timestamp,
}

impl CheckIn {
    /// Not yet completed.
    pub fn is_open(&self) -> bool {
        self.completion.is_none()
    }
}

/// The sealed-field name of a check-in's text (`note` or `outcome`): bound to the
/// check-in, so a ciphertext cannot be moved to another one.
pub fn note_field(id: &CheckInId, which: &str) -> String {
    format!("check-in/{id}/{which}")
}

/// When the next planned contact of an open case is: its earliest open check-in.
pub fn next_check_in(record: &CaseRecord, work: &CaseWork) -> Option<Timestamp> {
    if !record.status.is_open() {
        return None;
    }
    work.check_ins.iter().filter(|c| c.is_open()).map(|c| c.due_at).min()
}

/// Whether the case has an open check-in.
pub fn has_open_check_in(work: &CaseWork) -> bool {
    work.check_ins.iter().any(CheckIn::is_open)
}

/// How many overdue announcements a check-in due at `due_at` should have had by `now`:
/// none within the first `interval` after it fell due, then one per interval (the
/// interval of an unacknowledged case of the same priority).
pub fn overdue_level_due(due_at: Timestamp, interval: Duration, now: Timestamp) -> u32 {
    level_due(due_at + interval, interval, now)
}

/// A check-in as a confidant reads it: notes opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckInView {
    pub check_in_id: CheckInId,
    pub purpose: CheckInPurpose,
    pub due_at: Timestamp,
    pub note: Option<String>,
    pub scheduled_by: Actor,
    pub scheduled_at: Timestamp,
    pub fell_due_at: Option<Timestamp>,
    pub overdue_level: u32,
    pub completion: Option<CompletionView>,
}

/// A completion with its note opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompletionView {
    pub outcome: CheckInOutcome,
    pub note: String,
    pub by: Actor,
    pub at: Timestamp,
}

fn open_text(cipher: &CaseCipher, sealed: &Sealed, case: &CaseId, field: &str) -> Result<String, Problem> {
    cipher
        .open(sealed, case.as_str(), field)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| Problem::internal(anyhow::anyhow!("check-in text: {e:?}")))
}

/// Opens and shapes a check-in of case `case`.
pub fn check_in_view(case: &CaseId, c: &CheckIn, cipher: &CaseCipher) -> Result<CheckInView, Problem> {
    let note = match &c.note {
        Some(sealed) => Some(open_text(cipher, sealed, case, &note_field(&c.id, "note"))?),
        None => None,
    };
    let completion = match &c.completion {
        Some(done) => Some(CompletionView {
            outcome: done.outcome,
            note: open_text(cipher, &done.note, case, &note_field(&c.id, "outcome"))?,
            by: done.by.clone(),
            at: done.at,
        }),
        None => None,
    };
    Ok(CheckInView {
        check_in_id: c.id.clone(),
        purpose: c.purpose,
        due_at: c.due_at,
        note,
        scheduled_by: c.scheduled_by.clone(),
        scheduled_at: c.scheduled_at,
        fell_due_at: c.fell_due_at,
        overdue_level: c.overdue_level,
        completion,
    })
}

/// A check-in to schedule, validated at the edge.
#[derive(Debug, Clone)]
pub struct NewCheckIn {
    pub due_at: Timestamp,
    pub purpose: CheckInPurpose,
    pub note: Option<String>,
}

fn conflict(detail: &str, field: &str) -> Problem {
    Problem::new(ProblemKind::Conflict, detail).at(field)
}

/// Schedules a check-in on an open case of the caller's organisation; audited.
/// `due_at` must lie in the future, within [`PLANNING_HORIZON`].
pub fn schedule_check_in<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &CaseId,
    version: u64,
    new: &NewCheckIn,
) -> Result<(Versioned<CaseRecord>, CheckInId), Problem> {
    let now = ctx.clock.now();
    if new.due_at <= now || new.due_at > now + PLANNING_HORIZON {
        return Err(Problem::invalid_field("/due_at", "must lie in the future, at most 366 days ahead"));
    }
    let check_in_id = CheckInId::generate(ctx.random);
    let actor = Actor::of(who);
    let cipher = case_cipher(ctx, id)?;
    let action = format!("check_in_scheduled:{check_in_id}:{}:{}", new.purpose, new.due_at);
    let done = commit(ctx, id, Some(who.organisation), Base::Exact(version), &By::staff(who), |record, work, now| {
        if !record.status.is_open() {
            return Err(conflict("a closed case takes no check-ins; reopen it first", "/due_at"));
        }
        if work.check_ins.iter().filter(|c| c.is_open()).count() >= MAX_OPEN {
            return Err(conflict("this case has the most open check-ins it may have; complete one", "/due_at"));
        }
        let note = new
            .note
            .as_ref()
            .map(|text| cipher.seal(text.as_bytes(), id.as_str(), &note_field(&check_in_id, "note"), ctx.random));
        work.check_ins.push(CheckIn {
            id: check_in_id.clone(),
            purpose: new.purpose,
            due_at: new.due_at,
            note,
            scheduled_by: actor.clone(),
            scheduled_at: now,
            fell_due_at: None,
            overdue_level: 0,
            last_announced_at: None,
            completion: None,
        });
        drop_old_completed(work);
        Ok(Some(Decision::new(action.clone(), Vec::new())))
    })?;
    Ok((done.doc, check_in_id))
}

/// Completes an open check-in with an outcome and a (sealed) note; audited with the
/// note. 404 for a check-in the case does not have, 409 for one already completed.
pub fn complete_check_in<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &CaseId,
    version: u64,
    check_in_id: &CheckInId,
    outcome: CheckInOutcome,
    note: &str,
) -> Result<Versioned<CaseRecord>, Problem> {
    let actor = Actor::of(who);
    let cipher = case_cipher(ctx, id)?;
    let done = commit(ctx, id, Some(who.organisation), Base::Exact(version), &By::staff(who), |_, work, now| {
        let check_in = work.check_ins.iter_mut().find(|c| &c.id == check_in_id).ok_or_else(Problem::not_found)?;
        if !check_in.is_open() {
            return Err(conflict("this check-in is already completed", "/outcome"));
        }
        let field = note_field(check_in_id, "outcome");
        let sealed = cipher.seal(note.as_bytes(), id.as_str(), &field, ctx.random);
        check_in.completion = Some(Completion { outcome, note: sealed, by: actor.clone(), at: now });
        drop_old_completed(work);
        let action = format!("check_in_completed:{check_in_id}:{outcome}");
        Ok(Some(Decision::new(action, Vec::new()).noted(Some(note))))
    })?;
    Ok(done.doc)
}

/// Announces check-in `check_in_id` of case `id` due, if it is; true if this call
/// did. Two sweeps at once announce it once (the announcement is part of the swap).
pub fn announce_check_in_due<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    id: &CaseId,
    check_in_id: &CheckInId,
) -> Result<bool, Problem> {
    let done = commit(ctx, id, None, Base::Latest, &By::system(), |record, work, now| {
        let open = record.status.is_open();
        let Some(check_in) = work.check_ins.iter_mut().find(|c| &c.id == check_in_id) else { return Ok(None) };
        if !open || !check_in.is_open() || check_in.fell_due_at.is_some() || check_in.due_at > now {
            return Ok(None);
        }
        check_in.fell_due_at = Some(now);
        check_in.last_announced_at = Some(now);
        Ok(Some(Decision::new(format!("check_in_due:{check_in_id}"), vec![EventType::CaseCheckInDue])))
    })?;
    Ok(done.changed)
}

/// Announces check-in `check_in_id` of case `id` overdue, if another interval of
/// the case's priority has passed; true if this call did.
pub fn announce_check_in_overdue<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    id: &CaseId,
    check_in_id: &CheckInId,
) -> Result<bool, Problem> {
    let done = commit(ctx, id, None, Base::Latest, &By::system(), |record, work, now| {
        let Some(level) = overdue_level(ctx, record, work, check_in_id, now) else { return Ok(None) };
        let check_in = work.check_ins.iter_mut().find(|c| &c.id == check_in_id).expect("found above");
        check_in.overdue_level = level;
        check_in.last_announced_at = Some(now);
        let action = format!("check_in_overdue:{check_in_id}:{level}");
        Ok(Some(Decision::new(action, vec![EventType::CaseCheckInOverdue])))
    })?;
    Ok(done.changed)
}

/// The overdue level a check-in should move to now, if it is above the one it has.
pub fn overdue_level<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    record: &CaseRecord,
    work: &CaseWork,
    check_in_id: &CheckInId,
    now: Timestamp,
) -> Option<u32> {
    let interval = ctx.config.escalation.get(record.assessment.as_ref()?.priority)?;
    let check_in = work.check_ins.iter().find(|c| &c.id == check_in_id)?;
    if !record.status.is_open() || !check_in.is_open() || check_in.fell_due_at.is_none() {
        return None;
    }
    let level = overdue_level_due(check_in.due_at, interval, now);
    (level > check_in.overdue_level).then_some(level)
}

/// Keeps at most [`KEPT_COMPLETED`] completed check-ins on the case, dropping the
/// oldest completions (the record stays small; the audit trail keeps them all).
fn drop_old_completed(work: &mut CaseWork) {
    let mut completed: Vec<Timestamp> =
        work.check_ins.iter().filter_map(|c| c.completion.as_ref().map(|d| d.at)).collect();
    if completed.len() <= KEPT_COMPLETED {
        return;
    }
    completed.sort_unstable();
    let cutoff = completed[completed.len() - KEPT_COMPLETED];
    work.check_ins.retain(|c| c.completion.as_ref().is_none_or(|d| d.at >= cutoff));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_in_is_overdue_one_interval_after_it_fell_due_and_again_each_interval() {
        let due = Timestamp::from_unix_millis(1_000_000);
        let every = Duration::hours(4);
        assert_eq!(overdue_level_due(due, every, due), 0);
        assert_eq!(overdue_level_due(due, every, due + Duration::minutes(239)), 0);
        assert_eq!(overdue_level_due(due, every, due + every), 1);
        assert_eq!(overdue_level_due(due, every, due + Duration::hours(9)), 2);
    }
}
