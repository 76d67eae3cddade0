//! The edge: strict JSON input, JSON responses, correlation ids, ETags, routing, health.
//!
//! One idea per file: [`input`] (JSON bodies into validated types), [`response`] (JSON
//! answers, ETags, `no-store`), [`router`] (route tables), [`health`] (health answers),
//! [`query`] (query strings and form bodies). This file holds what every request
//! shares: the request and response types, correlation ids, the client address, and
//! [`Exchange`], which finishes every response with the correlation id in a header (and
//! in every problem body) and writes the one log line per request.

mod health;
mod input;
mod query;
mod response;
mod router;

pub use health::{health, health_misconfigured, health_unavailable};
pub use input::{parse_json, read_json, read_json_object};
pub use query::{
    page_limit, parse_query, query_pairs, query_params, read_query, urlencoded_pairs, urlencoded_text_pairs, yes_or_no,
    FromQuery, CURSOR,
};
pub use response::{etag, if_match, json, json_with_etag, no_store, private_document, stale};
pub use router::{route, PathParams, RouteTable};

use crate::problem::Problem;
use crate::random::Random;

/// Largest request body we read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The header that carries the correlation id, in requests between components and in
/// every response.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// A request as handlers see it.
pub type Request = http::Request<Vec<u8>>;
/// A response as handlers make it.
pub type Response = http::Response<Vec<u8>>;

/// The correlation id of a request: the caller's (one of our components) if it is
/// well-formed, else a fresh one.
pub fn correlation_id(req: &Request, random: &dyn Random) -> String {
    if let Some(given) = req.headers().get(CORRELATION_HEADER).and_then(|v| v.to_str().ok()) {
        if (8..=64).contains(&given.len()) && given.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return given.to_string();
        }
    }
    format!("{:016x}", random.next_u64())
}

/// The client address Spin reports (`spin-client-addr`, `ip:port`), without the port.
pub fn client_ip(req: &Request) -> Option<String> {
    let addr = req.headers().get("spin-client-addr")?.to_str().ok()?;
    let ip = match addr.rsplit_once(':') {
        // `[::1]:8080` or `127.0.0.1:8080`
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => addr,
    };
    Some(ip.trim_start_matches('[').trim_end_matches(']').to_string())
}
/// Finishes a handler's result: problems become problem+json, every response gets the
/// correlation id, and internal causes are logged (never shown).
pub fn finish(result: Result<Response, Problem>, correlation_id: &str, component: &str) -> Response {
    let mut response = match result {
        Ok(response) => response,
        Err(problem) => {
            if let Some(cause) = &problem.cause {
                crate::log::error(component, correlation_id, problem.kind.slug(), &format!("{cause:#}"));
            }
            problem.into_response(correlation_id)
        }
    };
    response.headers_mut().insert(CORRELATION_HEADER, correlation_id.parse().expect("ascii id"));
    response
}

/// One request being served, from its arrival to its answer: it settles the correlation
/// id, turns the handler's problems into problem+json, adds the correlation header and
/// writes the one log line per request (method, path, status, duration: paths hold only
/// typed ids, never personal data). In two halves, for a flow that answers first and
/// works on after the answer has gone out (`crate::service::serve`).
pub struct Exchange<'r> {
    component: &'r str,
    req: &'r Request,
    correlation: String,
    started: std::time::Instant,
}

impl<'r> Exchange<'r> {
    /// A request arrives: its correlation id is settled and its clock starts.
    pub fn begin(component: &'r str, req: &'r Request, random: &dyn Random) -> Self {
        let started = std::time::Instant::now();
        Exchange { component, req, correlation: correlation_id(req, random), started }
    }

    /// The request's correlation id.
    pub fn correlation_id(&self) -> &str {
        &self.correlation
    }

    /// The answer: finished ([`finish`]) and logged, with the time taken until now.
    pub fn answer(&self, result: Result<Response, Problem>) -> Response {
        let response = finish(result, &self.correlation, self.component);
        crate::log::request(
            self.component,
            &self.correlation,
            self.req.method().as_str(),
            self.req.uri().path(),
            response.status().as_u16(),
            self.started.elapsed().as_millis() as u64,
        );
        response
    }
}

/// What a component's request is served with besides the store: the wasm entry passes
/// the Spin adapters ([`crate::spin::ports`]), tests pass fakes.
pub struct Ports<'a, O> {
    pub outbound: &'a O,
    pub clock: &'a dyn crate::clock::Clock,
    pub random: &'a dyn Random,
    pub variables: &'a dyn crate::config::Variables,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ProblemKind;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Form {
        role: crate::domain::Role,
        kinds: Vec<crate::domain::IncidentKind>,
        #[serde(default)]
        note: Option<String>,
    }

    fn request(content_type: &str, body: &[u8]) -> Request {
        http::Request::builder().header("content-type", content_type).body(body.to_vec()).unwrap()
    }

    fn problem(body: &str) -> Problem {
        read_json::<Form>(&request("application/json", body.as_bytes())).unwrap_err()
    }

    #[test]
    fn a_wrong_enum_value_names_its_pointer() {
        let p = problem(r#"{"role":"mayor","kinds":["threat_of_violence","arson"]}"#);
        assert_eq!(p.kind, ProblemKind::InvalidField);
        assert_eq!(p.field.as_deref(), Some("/kinds/1"));
        assert!(p.detail.contains("must be one of"), "{}", p.detail);
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        let p = problem(r#"{"kinds":[]}"#);
        assert_eq!(p.field.as_deref(), Some("/role"));
        let p = problem(r#"{"role":"mayor","kinds":[],"extra":1}"#);
        assert_eq!(p.field.as_deref(), Some("/extra"));
        assert_eq!(p.detail, "unknown field `extra`");
    }

    #[test]
    fn malformed_input_is_400_and_wrong_media_type_415() {
        assert_eq!(problem(r#"{"role":"#).kind, ProblemKind::MalformedBody);
        assert_eq!(problem(r#"{"role":"mayor","kinds":[]} x"#).kind, ProblemKind::MalformedBody);
        let bad_utf8 = read_json::<Form>(&request("application/json", b"{\"role\":\"\xff\"}")).unwrap_err();
        assert_eq!(bad_utf8.kind, ProblemKind::MalformedBody);
        let form = read_json::<Form>(&request("text/plain", b"{}")).unwrap_err();
        assert_eq!(form.kind.status(), 415);
        let ok = read_json::<Form>(&request("application/json; charset=utf-8", br#"{"role":"mayor","kinds":[]}"#));
        assert!(ok.is_ok());
    }

    #[test]
    fn oversized_bodies_are_413() {
        let big = format!(r#"{{"role":"mayor","kinds":[],"note":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        assert_eq!(problem(&big).kind.status(), 413);
    }

    #[test]
    fn read_json_object_checks_the_size_before_the_shape() {
        // A 2 MB array: well-formed, not an object, and far too large. The size is
        // checked first, so it is never parsed and gets the size problem.
        let mut big = String::from("[");
        while big.len() < 2 * 1024 * 1024 {
            big.push_str("1,");
        }
        big.push('1');
        big.push(']');
        let p = read_json_object::<Form>(&request("application/json", big.as_bytes())).unwrap_err();
        assert_eq!(p.kind, ProblemKind::PayloadTooLarge, "{}", p.detail);
        // The media type comes before both.
        let p = read_json_object::<Form>(&request("text/plain", big.as_bytes())).unwrap_err();
        assert_eq!(p.kind.status(), 415);
        // A small non-object is refused as a whole (422 at the root), a malformed body is 400.
        let p = read_json_object::<Form>(&request("application/json", b" [\"mayor\", []]")).unwrap_err();
        assert_eq!((p.kind, p.field.as_deref()), (ProblemKind::InvalidField, Some("")));
        let p = read_json_object::<Form>(&request("application/json", b"[1,")).unwrap_err();
        assert_eq!(p.kind, ProblemKind::MalformedBody);
        // Deep nesting is a 400, not a stack overflow.
        let deep = "[".repeat(10_000);
        let p = read_json_object::<Form>(&request("application/json", deep.as_bytes())).unwrap_err();
        assert_eq!(p.kind, ProblemKind::MalformedBody);
        let ok = read_json_object::<Form>(&request("application/json", br#"{"role":"mayor","kinds":[]}"#));
        assert!(ok.is_ok());
    }

    #[test]
    fn a_name_twice_in_one_object_is_malformed() {
        let p = problem(r#"{"role":"mayor","kinds":[],"role":"alderman"}"#);
        assert_eq!(p.kind, ProblemKind::MalformedBody);
        assert!(p.detail.contains("duplicate field `role`"), "{}", p.detail);
        let p = problem(r#"{"role":"mayor","kinds":[{"a":1,"a":1}]}"#);
        assert_eq!(p.kind, ProblemKind::MalformedBody);
        // Numbers keep their precision through the strict reader.
        let v: serde_json::Value = parse_json(br#"{"n": 18446744073709551615, "f": 1.5, "m": -3}"#).unwrap();
        assert_eq!(v, serde_json::json!({"n": 18446744073709551615u64, "f": 1.5, "m": -3}));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Pair {
        a: u8,
        b: u8,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Pairs {
        pair: Pair,
        list: Vec<Pair>,
    }

    #[test]
    fn a_struct_written_as_an_array_of_the_wrong_length_is_422_at_its_pointer() {
        let fault = |body: &str| {
            let p = parse_json::<Pairs>(body.as_bytes()).unwrap_err();
            (p.kind, p.field)
        };
        let at = |pointer: &str| (ProblemKind::InvalidField, Some(pointer.to_string()));
        assert!(parse_json::<Pairs>(br#"{"pair":[1,2],"list":[[3,4]]}"#).is_ok());
        assert_eq!(fault(r#"{"pair":[1,2,3],"list":[]}"#), at("/pair"));
        assert_eq!(fault(r#"{"pair":{"a":1,"b":2},"list":[[1,2],[1,2,3]]}"#), at("/list/1"));
        assert_eq!(fault(r#"{"pair":[1],"list":[]}"#), at("/pair"));
    }

    #[test]
    fn the_first_field_at_fault_in_the_body_is_named() {
        let p = problem(r#"{"role":"nobody","kinds":["arson"]}"#);
        assert_eq!(p.field.as_deref(), Some("/role"));
        let p = problem(r#"{"kinds":["arson"],"role":"nobody"}"#);
        assert_eq!(p.field.as_deref(), Some("/kinds/0"));
    }

    /// How bodies were decoded before they were decoded straight from the bytes: a
    /// `Value` first, then `T` from it with serde_path_to_error.
    fn through_a_value(body: &[u8]) -> Result<Form, Problem> {
        let document: serde_json::Value = serde_json::from_slice(body).expect("the generated body is well-formed");
        serde_path_to_error::deserialize(document).map_err(input::json_problem)
    }

    const FIELDS: [(&str, &str); 3] =
        [("role", r#""mayor""#), ("kinds", r#"["threat_of_violence"]"#), ("note", r#""n""#)];
    const WRONG: [&str; 10] =
        ["1", "-1", "1.5", "true", "null", r#""nobody""#, "[1]", "{}", r#"["arson"]"#, r#"["threat_of_violence",2]"#];

    proptest! {
        /// With at most one field at fault, decoding straight from the bytes gives the
        /// problem the `Value` path gave: the same kind, pointer and detail. (With two
        /// faults the first in the body is named now, where the `Value` path named the
        /// first in name order: `the_first_field_at_fault_in_the_body_is_named`.)
        #[test]
        fn one_fault_gets_the_problem_the_value_path_gave(
            present in proptest::sample::subsequence(vec![0usize, 1, 2], 0..=3),
            fault in proptest::option::of((0usize..4, 0..WRONG.len())),
            rotate in 0usize..4,
        ) {
            let mut members: Vec<(String, String)> =
                present.iter().map(|&i| (FIELDS[i].0.to_string(), FIELDS[i].1.to_string())).collect();
            if let Some((field, wrong)) = fault {
                let name = FIELDS.get(field).map_or("extra", |f| f.0).to_string();
                members.retain(|(n, _)| *n != name);
                members.push((name, WRONG[wrong].to_string()));
            }
            let len = members.len().max(1);
            members.rotate_left(rotate % len);
            let body = format!(
                "{{{}}}",
                members.iter().map(|(n, v)| format!("\"{n}\": {v}")).collect::<Vec<_>>().join(", ")
            );
            let now = parse_json::<Form>(body.as_bytes());
            let before = through_a_value(body.as_bytes());
            match (now, before) {
                (Ok(_), Ok(_)) => {}
                (Err(now), Err(before)) => {
                    prop_assert_eq!(now.kind, before.kind, "{}", body);
                    prop_assert_eq!(now.field, before.field, "{}", body);
                    prop_assert_eq!(now.detail, before.detail, "{}", body);
                }
                (now, before) => prop_assert!(false, "{body}: now {:?}, before {:?}", now.err(), before.err()),
            }
        }
    }

    #[test]
    fn client_ip_drops_the_port() {
        let mut r = request("application/json", b"");
        r.headers_mut().insert("spin-client-addr", "127.0.0.1:5555".parse().unwrap());
        assert_eq!(client_ip(&r).as_deref(), Some("127.0.0.1"));
        r.headers_mut().insert("spin-client-addr", "[::1]:5555".parse().unwrap());
        assert_eq!(client_ip(&r).as_deref(), Some("::1"));
    }

    #[test]
    fn if_match_parses_our_etags() {
        let mut r = request("application/json", b"");
        assert_eq!(if_match(&r).unwrap_err().kind.status(), 428);
        r.headers_mut().insert("if-match", "\"7\"".parse().unwrap());
        assert_eq!(if_match(&r).unwrap(), 7);
        r.headers_mut().insert("if-match", "*".parse().unwrap());
        assert_eq!(if_match(&r).unwrap_err().kind.status(), 400);
    }

    #[test]
    fn routes_match_templates_and_tell_allowed_methods() {
        #[derive(Debug, Clone, Copy, PartialEq)]
        enum E {
            List,
            Read,
        }
        let table: &RouteTable<E> = &[("GET", "/t/cases", E::List), ("GET", "/t/cases/{id}", E::Read)];
        let (e, params) = route(table, &http::Method::GET, "/t/cases/case_1").unwrap();
        assert_eq!((e, params.get("id")), (E::Read, "case_1"));
        assert_eq!(route(table, &http::Method::GET, "/t/cases").unwrap().0, E::List);
        assert_eq!(route(table, &http::Method::GET, "/t/cases/").unwrap_err().kind.status(), 404);
        assert_eq!(route(table, &http::Method::GET, "/t/cases/a/b").unwrap_err().kind.status(), 404);
        let p = route(table, &http::Method::DELETE, "/t/cases").unwrap_err();
        assert_eq!((p.kind.status(), p.allow.as_deref()), (405, Some("GET")));
    }

    #[test]
    fn query_pairs_are_decoded() {
        let r = http::Request::builder().uri("/x?status=in_progress&q=a%20b&region=VR01").body(Vec::new()).unwrap();
        let pairs = query_pairs(&r);
        assert_eq!(pairs[1], ("q".to_string(), "a b".to_string()));
        assert_eq!(pairs.len(), 3);
    }
}
