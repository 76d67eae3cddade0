//! JSON responses, ETags and `If-Match`, and `Cache-Control: no-store`.

use super::{Request, Response};
use crate::problem::{Problem, ProblemKind};
use serde::Serialize;

/// A JSON response.
pub fn json<T: Serialize>(status: u16, body: &T) -> Response {
    json_bytes(status, serde_json::to_vec(body).expect("responses serialise"))
}

/// The part of [`json`] that does not depend on the body's type, compiled once rather
/// than once per response type.
#[inline(never)]
fn json_bytes(status: u16, body: Vec<u8>) -> Response {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .expect("valid response parts")
}

/// A JSON response with an ETag for the given document version.
pub fn json_with_etag<T: Serialize>(status: u16, body: &T, version: u64) -> Response {
    let mut response = json(status, body);
    response.headers_mut().insert(http::header::ETAG, etag(version).parse().expect("ascii"));
    response
}

/// Marks `response` as never to be stored by any cache (`Cache-Control: no-store`):
/// every answer that carries case content, contact details, tokens, receipt codes or
/// figures.
pub fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    response
}

/// The strong ETag of a document version.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// The version an update is based on, from `If-Match` (428 without it, 400 if malformed).
pub fn if_match(req: &Request) -> Result<u64, Problem> {
    let value = req.headers().get(http::header::IF_MATCH).ok_or_else(|| {
        Problem::new(ProblemKind::PreconditionRequired, "send If-Match with the ETag you read").at("if-match")
    })?;
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            Problem::new(ProblemKind::InvalidParameter, "If-Match must be an ETag we sent, e.g. \"3\"").at("if-match")
        })
}

/// A stale update: 412.
pub fn stale(current_version: u64) -> Problem {
    Problem::new(
        ProblemKind::PreconditionFailed,
        format!("the resource is at version {current_version}; read it again"),
    )
    .at("if-match")
}

/// A document for a person's browser (an HTML page, its stylesheet) that must stay
/// private: under `csp`, never cached, never sniffed as another type, and sending no
/// referrer when a link is followed.
pub fn private_document(status: u16, content_type: &'static str, csp: &'static str, body: Vec<u8>) -> Response {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CONTENT_SECURITY_POLICY, csp)
        .header(http::header::REFERRER_POLICY, "no-referrer")
        .header(http::header::CACHE_CONTROL, "no-store")
        .header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(body)
        .expect("valid response parts")
}
