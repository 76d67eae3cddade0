//! Handing a case over to another organisation (a misclassified role, or BZK taking a
//! case on): one compare-and-swap change that moves the case with all its index
//! entries, so the old organisation gets 404 and the new one lists it at once.

use crate::context::Ctx;
use crate::core::audit::By;
use crate::core::commit::{commit, Base, Decision};
use shared::auth::{Principal, StaffRole};
use shared::case::CaseRecord;
use shared::domain::Organisation;
use shared::events::EventType;
use shared::id::CaseId;
use shared::kv::versioned::Versioned;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;

/// Who may hand a case over: the owning organisation's confidants and admins, and
/// BZK's admins (the ministry hosts the support team) for any case.
pub fn may_hand_over(who: &Principal, owner: Organisation) -> bool {
    who.organisation == owner || (who.organisation == Organisation::Bzk && who.role == StaffRole::Admin)
}

/// The case, if the caller may hand it over; 404 otherwise (as for any case the
/// caller cannot see).
pub fn handed_over_by(doc: Option<Versioned<CaseRecord>>, who: &Principal) -> Result<Versioned<CaseRecord>, Problem> {
    match doc {
        Some(doc) if doc.data.assessment.as_ref().is_some_and(|a| may_hand_over(who, a.organisation)) => Ok(doc),
        _ => Err(Problem::not_found()),
    }
}

/// Hands case `id` over to `to`. Unless a confidant has acknowledged it, first
/// contact is due again within its priority's time from now, and escalation starts
/// over. A `case.handed_over` event goes out with the new organisation; the audit
/// records who, when, from, to and (sealed) why.
pub fn hand_over<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &CaseId,
    version: u64,
    to: Organisation,
    reason: &str,
) -> Result<Versioned<CaseRecord>, Problem> {
    let done = commit(ctx, id, None, Base::Exact(version), &By::staff(who), |record, work, now| {
        let acknowledged = record.acknowledged_at.is_some();
        let Some(assessment) = record.assessment.as_mut() else { return Err(Problem::not_found()) };
        if !may_hand_over(who, assessment.organisation) {
            return Err(Problem::not_found());
        }
        if assessment.organisation == to {
            return Err(Problem::invalid_field("/organisation", "the case already belongs to this organisation"));
        }
        let from = assessment.organisation;
        assessment.reasons.push(format!("handed_over: from {from} to {to}"));
        assessment.organisation = to;
        if !acknowledged {
            let sla = ctx.config.sla.get(assessment.priority).expect("configuration covers every priority");
            assessment.first_contact_due = now + sla;
            work.escalation_level = 0;
            work.last_escalated_at = None;
        }
        let action = format!("handed_over:{from}:{to}");
        Ok(Some(Decision::new(action, vec![EventType::CaseHandedOver]).noted(Some(reason))))
    })?;
    Ok(done.doc)
}
