//! The other components triage calls: the directory (matching, member load) and the
//! notification component (events). Short timeouts: a P1 report waits on this chain.

use crate::work::Suggestion;
use serde::Deserialize;
use serde_json::json;
use shared::auth::INTERNAL_SECRET_HEADER;
use shared::domain::{Language, RegionCode, Role, SupportNeed};
use shared::events::CaseEvent;
use shared::id::{CaseId, MemberId};
use shared::outbound::Outbound;
use shared::web::CORRELATION_HEADER;
use std::time::Duration;

/// How long triage waits for the directory or the notification component.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(5);

/// How many candidates per need triage keeps as suggestions.
pub const SUGGESTIONS_PER_NEED: u32 = 3;

/// Why a peer call did not succeed (for the operator's log: no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerFailure {
    /// No answer (down, refused, timed out).
    Unreachable,
    /// An answer with this status.
    Status(u16),
    /// A 2xx whose body we could not read.
    Undecodable,
}

impl std::fmt::Display for PeerFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerFailure::Unreachable => f.write_str("unreachable"),
            PeerFailure::Status(s) => write!(f, "answered {s}"),
            PeerFailure::Undecodable => f.write_str("answered something unreadable"),
        }
    }
}

/// A peer component, reached with the internal secret.
pub struct Peer<'a, O> {
    pub outbound: &'a O,
    pub base_url: &'a str,
    pub internal_secret: &'a str,
    pub correlation_id: &'a str,
}

impl<O: Outbound> Peer<'_, O> {
    fn post(&self, path: &str, body: &serde_json::Value) -> Result<http::Response<Vec<u8>>, PeerFailure> {
        let request = http::Request::post(format!("{}{path}", self.base_url))
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(INTERNAL_SECRET_HEADER, self.internal_secret)
            .header(CORRELATION_HEADER, self.correlation_id)
            .body(serde_json::to_vec(body).expect("serialises"))
            .map_err(|_| PeerFailure::Unreachable)?;
        self.outbound.send(request, PEER_TIMEOUT).map_err(|_| PeerFailure::Unreachable)
    }

    /// Asks the directory who could help (`POST /directory/internal/match`).
    pub fn match_members(
        &self,
        role: Role,
        region: RegionCode,
        municipality: &str,
        needs: &[SupportNeed],
        language: Language,
    ) -> Result<Vec<Suggestion>, PeerFailure> {
        if needs.is_empty() {
            return Ok(Vec::new());
        }
        let body = json!({"role": role, "region": region, "municipality": municipality, "needs": needs,
                          "language": language, "limit": SUGGESTIONS_PER_NEED});
        let response = self.post("/directory/internal/match", &body)?;
        if !response.status().is_success() {
            return Err(PeerFailure::Status(response.status().as_u16()));
        }
        let result: MatchResult = serde_json::from_slice(response.body()).map_err(|_| PeerFailure::Undecodable)?;
        Ok(result
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
    /// `hold` names this assignment request (see `directory/src/load.rs`).
    pub fn assign(&self, member: &MemberId, case: &CaseId, hold: &str) -> Result<bool, PeerFailure> {
        let body = json!({"case_id": case, "hold": hold});
        let response = self.post(&format!("/directory/internal/members/{member}/assign"), &body)?;
        match response.status().as_u16() {
            200..=299 => Ok(true),
            409 => Ok(false),
            status => Err(PeerFailure::Status(status)),
        }
    }

    /// A member's case is closed or handed on (`hold: None`), or an assignment request
    /// that failed lets go of its hold (the case stays with the member while another
    /// request holds it).
    pub fn release(&self, member: &MemberId, case: &CaseId, hold: Option<&str>) -> Result<(), PeerFailure> {
        let body = match hold {
            Some(hold) => json!({"case_id": case, "hold": hold}),
            None => json!({"case_id": case}),
        };
        let response = self.post(&format!("/directory/internal/members/{member}/release"), &body)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(PeerFailure::Status(response.status().as_u16()))
        }
    }

    /// Hands an event to the notification component (202 once it is in its outbox).
    pub fn send_event(&self, event: &CaseEvent) -> Result<(), PeerFailure> {
        let body = serde_json::to_value(event).expect("events serialise");
        let response = self.post("/notification/internal/events", &body)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(PeerFailure::Status(response.status().as_u16()))
        }
    }
}

#[derive(Deserialize)]
struct MatchResult {
    matches: Vec<NeedMatches>,
}

#[derive(Deserialize)]
struct NeedMatches {
    need: SupportNeed,
    candidates: Vec<Candidate>,
}

#[derive(Deserialize)]
struct Candidate {
    member_id: MemberId,
    name: String,
    kind: String,
    score: f64,
}
