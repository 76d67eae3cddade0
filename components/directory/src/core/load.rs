//! A member's load: the cases they work on, changed atomically when triage assigns or
//! closes a case.
//!
//! The load document lists case ids rather than counting, which makes both calls
//! idempotent per (member, case) and keeps the count between zero and the capacity by
//! construction; `versioned::update` makes each change compare-and-swap, so concurrent
//! assignments cannot overshoot and a Redis "conflict" that applied is not repeated.
//!
//! Two requests may assign one member to one case at once (both count once here), and
//! only one of their case changes commits. Each sends a hold (a random id of the
//! request); the loser releases with its hold, which takes the case off only when no
//! other hold is left, so the winner's member keeps the case.

use crate::context::Ctx;
use crate::core::record::{load_key, member_key, Load, MemberRecord};
use shared::calls::MemberLoad;
use shared::id::{CaseId, MemberId};
use shared::kv::versioned::{self, Change};
use shared::kv::{get_json, KeyValue};
use shared::problem::{Problem, ProblemKind};

/// Stands for holders from before holds, or that sent none: they never release by hold.
const HELD: &str = "-";

/// Gives `case` to `member` unless they are at capacity (409) or deactivated (409).
/// Assigning a case the member already has changes nothing but the holds. `hold`
/// names the assignment request: its [`release`] with the same hold takes the case
/// off only if no other hold remains on it.
pub fn assign<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    member: &MemberId,
    case: &CaseId,
    hold: Option<&str>,
) -> Result<MemberLoad, Problem> {
    let record = member_record(ctx.store, member)?;
    if record.deactivated_at.is_some() {
        return Err(Problem::new(ProblemKind::Conflict, "this member is deactivated and takes no cases"));
    }
    let capacity = record.capacity;
    let (doc, ()) = versioned::update(ctx.store, &load_key(member), ctx.random, |load: &mut Load, _| {
        if load.open_cases.contains(case) {
            let Some(holds) = load.holds.get_mut(case.as_str()) else {
                return Ok(Change::Keep(())); // held for good already
            };
            let holder = hold.unwrap_or(HELD).to_string();
            if holds.contains(&holder) {
                return Ok(Change::Keep(()));
            }
            holds.push(holder);
            return Ok(Change::Write(()));
        }
        if load.open_cases.len() >= capacity as usize {
            return Err(Problem::new(
                ProblemKind::Conflict,
                format!("this member is at capacity ({} of {capacity} open cases)", load.open_cases.len()),
            ));
        }
        load.open_cases.push(case.clone());
        if let Some(hold) = hold {
            load.holds.insert(case.as_str().to_string(), vec![hold.to_string()]);
        }
        Ok(Change::Write(()))
    })
    .map_err(Problem::from)?;
    Ok(MemberLoad { open_cases: doc.data.open_cases.len(), capacity })
}

/// Takes `case` off `member`'s load; a case they do not have changes nothing. With a
/// `hold`, only that hold is taken off, and the case only when no hold remains.
pub fn release<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    member: &MemberId,
    case: &CaseId,
    hold: Option<&str>,
) -> Result<MemberLoad, Problem> {
    let record = member_record(ctx.store, member)?;
    let (doc, ()) = versioned::update(ctx.store, &load_key(member), ctx.random, |load: &mut Load, _| {
        let Some(i) = load.open_cases.iter().position(|c| c == case) else {
            return Ok::<_, Problem>(Change::Keep(()));
        };
        if let Some(hold) = hold {
            let Some(holds) = load.holds.get_mut(case.as_str()) else {
                return Ok(Change::Keep(()));
            };
            let Some(h) = holds.iter().position(|h| h == hold) else {
                return Ok(Change::Keep(()));
            };
            holds.remove(h);
            if !holds.is_empty() {
                return Ok(Change::Write(()));
            }
        }
        load.open_cases.remove(i);
        load.holds.remove(case.as_str());
        Ok(Change::Write(()))
    })
    .map_err(Problem::from)?;
    Ok(MemberLoad { open_cases: doc.data.open_cases.len(), capacity: record.capacity })
}

fn member_record<S: KeyValue>(store: &S, member: &MemberId) -> Result<MemberRecord, Problem> {
    let doc: Option<versioned::Versioned<MemberRecord>> = get_json(store, &member_key(member))?;
    doc.map(|d| d.data).ok_or_else(Problem::not_found)
}
