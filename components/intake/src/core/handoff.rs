//! Handing work to triage: a new case, or a reporter's follow-up message. Best effort
//! by design: the case or message is already durable and listed in a pending list
//! (`idx/pending_triage`, `idx/pending_messages`), so a failed handoff leaves work for
//! triage's sweep, never a lost report, and the reporter never sees a 5xx for it.

use shared::auth::INTERNAL_SECRET_HEADER;
use shared::id::CaseId;
use shared::outbound::Outbound;
use shared::web::CORRELATION_HEADER;
use std::time::Duration;

/// How long the reporter's request waits for triage (which itself notifies
/// coordinators for a P1 within this time).
pub const TRIAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a handoff did not complete; for the operator's log.
#[derive(Debug)]
pub enum HandoffFailure {
    Unreachable(String),
    Refused(u16),
}

impl std::fmt::Display for HandoffFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandoffFailure::Unreachable(_) => f.write_str("triage unreachable"),
            HandoffFailure::Refused(status) => write!(f, "triage answered {status}"),
        }
    }
}

/// Where triage is, and how intake identifies itself to it.
pub struct TriagePeer<'a, O> {
    pub outbound: &'a O,
    pub triage_url: &'a str,
    pub internal_secret: &'a str,
    pub correlation_id: &'a str,
}

impl<O: Outbound> TriagePeer<'_, O> {
    /// Asks triage to triage `case` now.
    pub fn triage_case(&self, case: &CaseId) -> Result<(), HandoffFailure> {
        self.post("/triage/internal/cases", serde_json::json!({ "case_id": case }))
    }

    /// Asks triage to take in the reporter's message in `slot` of the case's messages.
    pub fn take_in_message(&self, case: &CaseId, slot: u64) -> Result<(), HandoffFailure> {
        self.post("/triage/internal/messages", serde_json::json!({ "case_id": case, "slot": slot }))
    }

    /// Logs that work was left for triage's sweep (ids only, never content).
    pub fn deferred(&self, what: &str, failure: &HandoffFailure) {
        shared::log::warn(
            "intake",
            self.correlation_id,
            "handoff-deferred",
            &format!("{what} left for the triage sweep: {failure}"),
        );
    }

    fn post(&self, path: &str, body: serde_json::Value) -> Result<(), HandoffFailure> {
        let request = http::Request::post(format!("{}{path}", self.triage_url))
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(INTERNAL_SECRET_HEADER, self.internal_secret)
            .header(CORRELATION_HEADER, self.correlation_id)
            .body(serde_json::to_vec(&body).expect("serialises"))
            .map_err(|e| HandoffFailure::Unreachable(e.to_string()))?;
        let response = self.outbound.send(request, TRIAGE_TIMEOUT).map_err(|e| HandoffFailure::Unreachable(e.0))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(HandoffFailure::Refused(response.status().as_u16()))
        }
    }
}
