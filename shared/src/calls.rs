//! The calls between components, as types both sides use.
//!
//! Every internal call has one request type and one answer type here, next to the
//! events of [`crate::events`]: the caller serialises the request it sends and decodes
//! the answer with them, the callee parses the request and builds the answer with the
//! same types. A change to a contract is then a compile error on both sides, not a 422
//! at run time. [`Peer`] sends a call with the internal secret and the correlation id.
//!
//! | call | request | answer |
//! | --- | --- | --- |
//! | intake → `POST /triage/internal/cases` | [`TriageCase`] | [`Triaged`] |
//! | intake → `POST /triage/internal/messages` | [`TakeInMessage`] | [`TakenIn`] |
//! | triage → `POST /directory/internal/match` | [`MatchRequest`] | [`MatchAnswer`] |
//! | triage → `POST /directory/internal/members/{id}/assign` | [`MemberCase`] | [`MemberLoad`] (409 when full) |
//! | triage → `POST /directory/internal/members/{id}/release` | [`MemberCase`] | [`MemberLoad`] |
//! | triage → `POST /notification/internal/events` | [`crate::events::CaseEvent`] | 202, no body we read |
//! | triage → `POST /notification/internal/events/batch` | [`crate::events::CaseEventBatch`] (a change's events) | 202, no body we read |

use crate::auth::INTERNAL_SECRET_HEADER;
use crate::domain::{CaseStatus, Language, Priority, RegionCode, Role, SupportNeed};
use crate::id::{CaseId, MemberId};
use crate::outbound::Outbound;
use crate::web::CORRELATION_HEADER;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One internal call: where it goes and what it answers.
pub trait Call: Serialize {
    /// What a 2xx answer holds.
    type Answer: DeserializeOwned;
    /// The path on the callee, e.g. `/triage/internal/cases`.
    fn path(&self) -> String;
}

/// `POST /triage/internal/cases`: triage this case now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageCase {
    pub case_id: CaseId,
}

/// What triage answers to [`TriageCase`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Triaged {
    pub case_id: CaseId,
    pub status: CaseStatus,
    /// `None` while the case is not triaged yet.
    pub priority: Option<Priority>,
}

impl Call for TriageCase {
    type Answer = Triaged;
    fn path(&self) -> String {
        "/triage/internal/cases".into()
    }
}

/// `POST /triage/internal/messages`: take in the reporter's message in `slot`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakeInMessage {
    pub case_id: CaseId,
    pub slot: u64,
}

/// What triage answers to [`TakeInMessage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakenIn {
    pub case_id: CaseId,
    pub slot: u64,
    /// `false` when the message had been taken in before (a retry).
    pub taken_in: bool,
}

impl Call for TakeInMessage {
    type Answer = TakenIn;
    fn path(&self) -> String {
        "/triage/internal/messages".into()
    }
}

/// `POST /directory/internal/match` (and the admins' `POST /directory/match`): who
/// could help with a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    pub role: Role,
    pub region: RegionCode,
    /// For the conflict-of-interest rule only; never logged.
    pub municipality: String,
    pub needs: Vec<SupportNeed>,
    pub language: Language,
    /// Candidates per need; the directory's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// What the directory answers to [`MatchRequest`]: ranked candidates per need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchAnswer {
    pub matches: Vec<NeedMatches>,
}

/// The ranked candidates for one need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeedMatches {
    pub need: SupportNeed,
    pub candidates: Vec<Candidate>,
}

/// One proposed member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub member_id: MemberId,
    pub name: String,
    /// `peer` or `expert`.
    pub kind: String,
    pub score: f64,
    /// Why this member, in words a coordinator reads.
    #[serde(default)]
    pub reasons: Vec<String>,
}

impl Call for MatchRequest {
    type Answer = MatchAnswer;
    fn path(&self) -> String {
        "/directory/internal/match".into()
    }
}

/// The body of a member's assign or release call: the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberCase {
    pub case_id: CaseId,
    /// Names the assignment request that takes the case on (assign), or lets go of its
    /// own hold after its change failed (release). A release without a hold takes the
    /// case off the member whoever holds it (closing, handing on, dropping, purging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
}

/// The name of one assignment request at the directory: 1 to 64 ASCII letters or
/// digits, random per request (see `components/directory/src/core/load.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Hold(String);

impl Hold {
    /// A fresh hold for one assignment request.
    pub fn generate(random: &dyn crate::random::Random) -> Hold {
        Hold(format!("{:016x}", random.next_u64()))
    }

    /// Parses a hold as sent.
    pub fn parse(text: &str) -> Result<Hold, String> {
        if text.is_empty() || text.len() > 64 || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("must be 1 to 64 ASCII letters or digits".into());
        }
        Ok(Hold(text.to_string()))
    }

    /// The hold as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Hold {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Hold::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `POST /directory/internal/members/{member_id}/assign`: `member` takes on `case_id`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assign {
    #[serde(skip)]
    pub member: MemberId,
    #[serde(flatten)]
    pub body: MemberCase,
}

/// `POST /directory/internal/members/{member_id}/release`: `member` is done with `case_id`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Release {
    #[serde(skip)]
    pub member: MemberId,
    #[serde(flatten)]
    pub body: MemberCase,
}

/// What the directory answers to [`Assign`] and [`Release`]: the member's load now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberLoad {
    /// How many open cases the member has now.
    pub open_cases: usize,
    pub capacity: u32,
}

impl Call for Assign {
    type Answer = MemberLoad;
    fn path(&self) -> String {
        format!("/directory/internal/members/{}/assign", self.member)
    }
}

impl Call for Release {
    type Answer = MemberLoad;
    fn path(&self) -> String {
        format!("/directory/internal/members/{}/release", self.member)
    }
}

impl Call for crate::events::CaseEvent {
    type Answer = serde::de::IgnoredAny;
    fn path(&self) -> String {
        "/notification/internal/events".into()
    }
}

impl Call for crate::events::CaseEventBatch {
    type Answer = serde::de::IgnoredAny;
    fn path(&self) -> String {
        "/notification/internal/events/batch".into()
    }
}

/// Why a call did not succeed (for the operator's log: no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    /// No answer (down, refused, timed out).
    Unreachable,
    /// An answer with this status.
    Status(u16),
    /// A 2xx whose body we could not read.
    Undecodable,
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallFailure::Unreachable => f.write_str("unreachable"),
            CallFailure::Status(s) => write!(f, "answered {s}"),
            CallFailure::Undecodable => f.write_str("answered something unreadable"),
        }
    }
}

/// Another component, reached at `base_url` with the internal secret.
pub struct Peer<'a, O> {
    pub outbound: &'a O,
    pub base_url: &'a str,
    pub internal_secret: &'a str,
    pub correlation_id: &'a str,
    /// How long to wait for the answer.
    pub timeout: Duration,
}

impl<O: Outbound> Peer<'_, O> {
    /// Sends `call` and returns the raw answer, whatever its status.
    pub fn send<C: Call>(&self, call: &C) -> Result<http::Response<Vec<u8>>, CallFailure> {
        let request = http::Request::post(format!("{}{}", self.base_url, call.path()))
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(INTERNAL_SECRET_HEADER, self.internal_secret)
            .header(CORRELATION_HEADER, self.correlation_id)
            .body(serde_json::to_vec(call).map_err(|_| CallFailure::Unreachable)?)
            .map_err(|_| CallFailure::Unreachable)?;
        self.outbound.send(request, self.timeout).map_err(|_| CallFailure::Unreachable)
    }

    /// Sends `call` and decodes a 2xx answer; any other status is a failure.
    pub fn call<C: Call>(&self, call: &C) -> Result<C::Answer, CallFailure> {
        let response = self.send(call)?;
        if !response.status().is_success() {
            return Err(CallFailure::Status(response.status().as_u16()));
        }
        answer_of::<C>(&response)
    }
}

/// Decodes the body of a 2xx answer to `C`.
pub fn answer_of<C: Call>(response: &http::Response<Vec<u8>>) -> Result<C::Answer, CallFailure> {
    serde_json::from_slice(response.body()).map_err(|_| CallFailure::Undecodable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_calls_put_the_member_in_the_path_and_only_the_case_in_the_body() {
        let member = MemberId::parse("mem_01hv5r9x7k2m3n4p5q6r7s8t9v").unwrap();
        let case = CaseId::parse("case_01hv5r9x7k2m3n4p5q6r7s8t9v").unwrap();
        let call = Assign { member: member.clone(), body: MemberCase { case_id: case.clone(), hold: None } };
        assert_eq!(call.path(), format!("/directory/internal/members/{member}/assign"));
        assert_eq!(serde_json::to_value(&call).unwrap(), serde_json::json!({ "case_id": case }));
    }

    #[test]
    fn a_match_request_round_trips_and_refuses_unknown_fields() {
        let json = r#"{"role":"mayor","region":"VR15","municipality":"Delft","needs":["peer"],"language":"nl"}"#;
        let request: MatchRequest = serde_json::from_str(json).unwrap();
        assert_eq!(request.limit, None);
        let again: MatchRequest = serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
        assert_eq!(again, request);
        let extra = json.replace("\"nl\"", "\"nl\",\"extra\":1");
        assert!(serde_json::from_str::<MatchRequest>(&extra).is_err());
    }
}
