//! Triaging a case handed over by intake (or found by the sweep): priority, needs,
//! organisation, deadline and suggestions, stored once; the same case twice is
//! triaged once.

use crate::context::Triage;
use crate::core::audit::By;
use crate::core::commit::{Base, Decision};
use crate::core::rules;
use crate::core::work::Suggestion;
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

impl<S: KeyValue, O: Outbound> Triage<'_, S, O> {
    /// Triages case `id` unless it already is; returns the case as stored.
    pub fn triage(&self, id: &CaseId) -> Result<Versioned<CaseRecord>, Problem> {
        let doc = self.read_case(id)?.ok_or_else(Problem::not_found)?;
        if doc.data.assessment.is_some() {
            self.forget_pending(&doc.data);
            return Ok(doc);
        }
        // Asked once, outside the compare-and-swap (which may run its decision twice).
        let (suggestions, rematch) = self.suggestions_for(&doc.data);
        let committed = self.commit(id, None, Base::Latest, &By::system(), |record, work, now| {
            if record.assessment.is_some() {
                return Ok(None);
            }
            let decision = rules::decide(&record.facts, record.received_at);
            let sla = self.config.sla.get(decision.priority).expect("configuration covers every priority");
            let organisation = self.config.routing.organisation(record.facts.role);
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
        self.forget_pending(&doc.data);
        Ok(committed.doc)
    }

    /// Removes the case's entry from the pending-triage list (intake wrote it with the
    /// case); left in place on failure, the sweep finds the case triaged and removes it.
    fn forget_pending(&self, record: &CaseRecord) {
        if let Some(slot) = record.pending_triage_slot {
            let _ = self.store.delete(&pending_triage_log().key(slot));
        }
    }

    /// The directory's suggestions for a case, or none and "match again later" when the
    /// directory cannot be asked.
    pub fn suggestions_for(&self, record: &CaseRecord) -> (Vec<Suggestion>, bool) {
        let decision = rules::decide(&record.facts, record.received_at);
        let opened = CaseCipher::load(self.store, &self.config.keyring, &record.id).and_then(|cipher| {
            Ok(cipher.open_json::<ReporterDetails>(&record.reporter, record.id.as_str(), REPORTER_FIELD)?)
        });
        let details = match opened {
            Ok(d) => d,
            Err(e) => {
                self.deferred("match-deferred", &format!("{}: reporter details unreadable ({e})", record.id));
                return (Vec::new(), true);
            }
        };
        let asked = self.directory().match_members(
            record.facts.role,
            record.facts.region,
            &details.municipality,
            &decision.needs,
            record.facts.language,
        );
        match asked {
            Ok(found) => (found, false),
            Err(failure) => {
                self.deferred("match-deferred", &format!("{}: directory {failure}, marked for re-matching", record.id));
                (Vec::new(), true)
            }
        }
    }
}
