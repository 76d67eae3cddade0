//! Handing a new case to triage. Best effort by design: the case is already durable
//! and listed in `idx/pending_triage`, so a failed handoff leaves work for triage's
//! sweep, never a lost report, and the reporter never sees a 5xx for it.

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

/// Asks triage to triage `case` now.
pub fn hand_to_triage<O: Outbound>(
    outbound: &O,
    triage_url: &str,
    internal_secret: &str,
    correlation_id: &str,
    case: &CaseId,
) -> Result<(), HandoffFailure> {
    let body = serde_json::to_vec(&serde_json::json!({ "case_id": case })).expect("serialises");
    let request = http::Request::post(format!("{triage_url}/triage/internal/cases"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(INTERNAL_SECRET_HEADER, internal_secret)
        .header(CORRELATION_HEADER, correlation_id)
        .body(body)
        .map_err(|e| HandoffFailure::Unreachable(e.to_string()))?;
    let response = outbound.send(request, TRIAGE_TIMEOUT).map_err(|e| HandoffFailure::Unreachable(e.0))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(HandoffFailure::Refused(response.status().as_u16()))
    }
}
