//! A member's load: the cases they work on, changed atomically when triage assigns or
//! closes a case.
//!
//! The load document lists case ids rather than counting, which makes both calls
//! idempotent per (member, case) and keeps the count between zero and the capacity by
//! construction; `versioned::update` makes each change compare-and-swap, so concurrent
//! assignments cannot overshoot and a Redis "conflict" that applied is not repeated.

use crate::context::Ctx;
use crate::core::record::{load_key, member_key, Load, MemberRecord};
use shared::calls::MemberLoad;
use shared::id::{CaseId, MemberId};
use shared::kv::versioned::{self, Change};
use shared::kv::{get_json, KeyValue};
use shared::problem::{Problem, ProblemKind};

/// Gives `case` to `member` unless they are at capacity (409) or deactivated (409).
/// Assigning a case the member already has changes nothing.
pub fn assign<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, member: &MemberId, case: &CaseId) -> Result<MemberLoad, Problem> {
    let record = member_record(ctx.store, member)?;
    if record.deactivated_at.is_some() {
        return Err(Problem::new(ProblemKind::Conflict, "this member is deactivated and takes no cases"));
    }
    let capacity = record.capacity;
    let (doc, ()) = versioned::update(ctx.store, &load_key(member), ctx.random, |load: &mut Load, _| {
        if load.open_cases.contains(case) {
            return Ok(Change::Keep(()));
        }
        if load.open_cases.len() >= capacity as usize {
            return Err(Problem::new(
                ProblemKind::Conflict,
                format!("this member is at capacity ({} of {capacity} open cases)", load.open_cases.len()),
            ));
        }
        load.open_cases.push(case.clone());
        Ok(Change::Write(()))
    })
    .map_err(Problem::from)?;
    Ok(MemberLoad { open_cases: doc.data.open_cases.len(), capacity })
}

/// Takes `case` off `member`'s load; a case they do not have changes nothing.
pub fn release<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, member: &MemberId, case: &CaseId) -> Result<MemberLoad, Problem> {
    let record = member_record(ctx.store, member)?;
    let (doc, ()) = versioned::update(ctx.store, &load_key(member), ctx.random, |load: &mut Load, _| {
        match load.open_cases.iter().position(|c| c == case) {
            None => Ok::<_, Problem>(Change::Keep(())),
            Some(i) => {
                load.open_cases.remove(i);
                Ok(Change::Write(()))
            }
        }
    })
    .map_err(Problem::from)?;
    Ok(MemberLoad { open_cases: doc.data.open_cases.len(), capacity: record.capacity })
}

fn member_record<S: KeyValue>(store: &S, member: &MemberId) -> Result<MemberRecord, Problem> {
    let doc: Option<versioned::Versioned<MemberRecord>> = get_json(store, &member_key(member))?;
    doc.map(|d| d.data).ok_or_else(Problem::not_found)
}
