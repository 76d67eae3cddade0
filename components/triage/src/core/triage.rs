//! Triaging a case handed over by intake (or found by the sweep): priority, needs,
//! organisation, deadline and suggestions, stored once; the same case twice is
//! triaged once.

use crate::context::Ctx;
use crate::core::audit::By;
use crate::core::commit::{commit_from, Base, Decision, Taken};
use crate::core::outbox::read_case;
use crate::core::peers::{match_members, SUGGESTIONS_PER_NEED};
use crate::core::work::Suggestion;
use crate::core::{deferred, rules};
use shared::calls::MatchRequest;
use shared::case::{pending_triage_log, Assessment, CaseRecord, ReporterDetails, REPORTER_FIELD};
use shared::case_keys::CaseCipher;
use shared::crypto::FieldSealer;
use shared::domain::CaseStatus;
use shared::events::EventType;
use shared::id::CaseId;
use shared::kv::versioned::Versioned;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;

/// Triages case `id` unless it already is; returns the case as stored.
///
/// The case is read once: the change is decided on that read (and read again only
/// when another writer got in first). Its pending-triage entry goes in the clean-up
/// after the events were sent ([`commit_from`]); left behind, the sweep finds the case
/// triaged and removes it.
pub fn triage<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, id: &CaseId) -> Result<Versioned<CaseRecord>, Problem> {
    let doc = read_case(ctx, id)?.ok_or_else(Problem::not_found)?;
    if doc.data.assessment.is_some() {
        forget_pending(ctx, &doc.data);
        return Ok(doc);
    }
    // Asked once, outside the compare-and-swap (which may run its decision twice).
    let (suggestions, rematch) = suggestions_for(ctx, &doc.data);
    let forget = doc.data.pending_triage_slot.map(|slot| pending_triage_log().key(slot)).into_iter().collect();
    let taken = Taken { read: Some(doc), forget };
    let committed = commit_from(ctx, id, taken, None, Base::Latest, &By::system(), |record, work, now| {
        if record.assessment.is_some() {
            return Ok(None);
        }
        let decision = rules::decide(&record.facts, record.received_at);
        let sla = ctx.config.sla.get(decision.priority).expect("configuration covers every priority");
        let organisation = ctx.config.routing.organisation(record.facts.role);
        let action = format!("triaged:{}:{organisation}", decision.priority);
        record.assessment = Some(Assessment {
            priority: decision.priority,
            reasons: decision.reasons,
            needs: decision.needs,
            organisation,
            first_contact_due: record.received_at + sla,
            triaged_at: now,
        });
        if record.status == CaseStatus::Received {
            record.status = CaseStatus::Triaged;
        }
        record.pending_triage_slot = None;
        work.suggestions = suggestions.clone();
        work.rematch = rematch;
        Ok(Some(Decision::new(action, vec![EventType::CaseCreated, EventType::CaseTriaged])))
    })?;
    if !committed.changed {
        // Triaged by someone else meanwhile (the decision found nothing to do).
        forget_pending(ctx, &committed.doc.data);
    }
    Ok(committed.doc)
}

/// Removes the case's entry from the pending-triage list (intake wrote it with the
/// case); left in place on failure, the sweep finds the case triaged and removes it.
fn forget_pending<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, record: &CaseRecord) {
    if let Some(slot) = record.pending_triage_slot {
        let _ = ctx.store.delete(&pending_triage_log().key(slot));
    }
}

/// The directory's suggestions for a case, or none and "match again later" when the
/// directory cannot be asked.
pub fn suggestions_for<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, record: &CaseRecord) -> (Vec<Suggestion>, bool) {
    let decision = rules::decide(&record.facts, record.received_at);
    let opened = CaseCipher::load(ctx.store, &ctx.config.keyring, &record.id).and_then(|cipher| {
        Ok(cipher.open_json::<ReporterDetails>(&record.reporter, record.id.as_str(), REPORTER_FIELD)?)
    });
    let details = match opened {
        Ok(d) => d,
        Err(e) => {
            deferred(ctx, "match-deferred", &format!("{}: reporter details unreadable ({e})", record.id));
            return (Vec::new(), true);
        }
    };
    let request = MatchRequest {
        role: record.facts.role,
        region: record.facts.region,
        municipality: details.municipality,
        needs: decision.needs,
        language: record.facts.language,
        limit: Some(SUGGESTIONS_PER_NEED),
    };
    let asked = match_members(ctx, &request);
    match asked {
        Ok(found) => (found, false),
        Err(failure) => {
            deferred(ctx, "match-deferred", &format!("{}: directory {failure}, marked for re-matching", record.id));
            (Vec::new(), true)
        }
    }
}
