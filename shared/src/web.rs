//! The edge: strict JSON input, JSON responses, correlation ids, ETags.
//!
//! Handlers stay thin: [`read_json`] turns a body into a validated type or a problem
//! naming the field at fault, and [`Responder`] finishes every response with the
//! correlation id in a header (and in every problem body).

use crate::problem::{Problem, ProblemKind};
use crate::random::Random;
use serde::de::DeserializeOwned;
use serde::Serialize;

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

/// Parses a JSON body into `T`, strictly: `application/json` only (415), at most
/// [`MAX_BODY_BYTES`] (413), valid UTF-8 and well-formed JSON (400), and values that fit
/// `T` with no unknown fields (422 with the JSON pointer of the field at fault).
pub fn read_json<T: DeserializeOwned>(req: &Request) -> Result<T, Problem> {
    let content_type = req.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media_type != "application/json" {
        return Err(Problem::new(ProblemKind::UnsupportedMediaType, "send the body as Content-Type: application/json")
            .at("content-type"));
    }
    parse_json(req.body())
}

/// [`read_json`] for bodies that must be a JSON object: anything else is refused as a
/// whole (serde would otherwise read an array as the struct's fields in order).
pub fn read_json_object<T: DeserializeOwned>(req: &Request) -> Result<T, Problem> {
    let body = req.body().trim_ascii_start();
    // Only well-formed non-objects are refused here; malformed bodies get read_json's 400.
    let well_formed_non_object =
        body.first().is_some_and(|b| *b != b'{') && serde_json::from_slice::<serde_json::Value>(body).is_ok();
    if well_formed_non_object {
        return Err(Problem::invalid_field("", "the body must be a JSON object"));
    }
    read_json(req)
}

/// [`read_json`] without the media-type check, for bodies already known to be JSON.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Problem::new(
            ProblemKind::PayloadTooLarge,
            format!("the body may be at most {MAX_BODY_BYTES} bytes"),
        )
        .at(""));
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        Problem::new(ProblemKind::MalformedBody, format!("the body is not valid UTF-8 (at byte {})", e.valid_up_to()))
            .at("")
    })?;
    // Well-formedness first, so a syntax error anywhere is a 400 even where the
    // beginning of the body would already fail to fit `T`.
    let document: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        Problem::new(ProblemKind::MalformedBody, format!("malformed JSON at line {}, column {}", e.line(), e.column()))
            .at("")
    })?;
    let value: T = serde_path_to_error::deserialize(document).map_err(json_problem)?;
    Ok(value)
}

fn json_problem(err: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let mut pointer = pointer_of(err.path());
    let inner = err.inner();
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof | serde_json::error::Category::Io => {
            Problem::new(
                ProblemKind::MalformedBody,
                format!("malformed JSON at line {}, column {}", inner.line(), inner.column()),
            )
            .at(pointer)
        }
        serde_json::error::Category::Data => {
            // serde's message without its " at line x column y" suffix.
            let full = inner.to_string();
            let message = full.split(" at line ").next().unwrap_or(&full).to_string();
            for marker in ["missing field `", "unknown field `"] {
                if let Some(rest) = message.strip_prefix(marker) {
                    let name = rest.split('`').next().unwrap_or("");
                    if !pointer.ends_with(&format!("/{}", escape(name))) {
                        pointer = format!("{pointer}/{}", escape(name));
                    }
                }
            }
            let detail = if message.starts_with("unknown field") {
                let name = message.split('`').nth(1).unwrap_or("");
                format!("unknown field `{name}`")
            } else {
                message
            };
            Problem::invalid_field(pointer, detail)
        }
    }
}

/// A serde path as a JSON pointer (RFC 6901).
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => pointer.push_str(&format!("/{}", escape(key))),
            Segment::Enum { variant } => pointer.push_str(&format!("/{}", escape(variant))),
            Segment::Unknown => {}
        }
    }
    pointer
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON response.
pub fn json<T: Serialize>(status: u16, body: &T) -> Response {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(body).expect("responses serialise"))
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

/// Serves one request: gives the handler a correlation id, turns its problems into
/// problem+json, adds the correlation header and writes the one log line per request
/// (method, path, status, duration: paths hold only typed ids, never personal data).
pub fn serve(
    component: &str,
    req: &Request,
    random: &dyn Random,
    handler: impl FnOnce(&str) -> Result<Response, Problem>,
) -> Response {
    let started = std::time::Instant::now();
    let correlation = correlation_id(req, random);
    let response = finish(handler(&correlation), &correlation, component);
    let elapsed = started.elapsed().as_millis() as u64;
    crate::log::request(
        component,
        &correlation,
        req.method().as_str(),
        req.uri().path(),
        response.status().as_u16(),
        elapsed,
    );
    response
}

/// A component's routes: `(method, path template, endpoint)`. Templates are written
/// exactly as in `openapi.yaml` (`/triage/cases/{case_id}`), so the contract test can
/// compare the two.
pub type RouteTable<E> = [(&'static str, &'static str, E)];

/// The named segments of a matched path.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PathParams(Vec<(&'static str, String)>);

impl PathParams {
    /// The value of segment `{name}`.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
}

fn match_template(template: &'static str, path: &str) -> Option<PathParams> {
    let mut params = PathParams::default();
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) if ts.starts_with('{') && ts.ends_with('}') && !ps.is_empty() => {
                params.0.push((&ts[1..ts.len() - 1], ps.to_string()));
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

/// Finds the endpoint for a request: 404 for an unknown path, 405 (with `Allow`) for
/// a known path with another method.
pub fn route<E: Copy>(table: &RouteTable<E>, method: &http::Method, path: &str) -> Result<(E, PathParams), Problem> {
    let mut allowed: Vec<&'static str> = Vec::new();
    for (m, template, endpoint) in table {
        if let Some(params) = match_template(template, path) {
            if *m == method.as_str() {
                return Ok((*endpoint, params));
            }
            allowed.push(m);
        }
    }
    if allowed.is_empty() {
        Err(Problem::not_found())
    } else {
        Err(Problem::method_not_allowed(allowed.join(", ")))
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

/// `GET /<component>/health`: the version, whether the component is configured (503
/// `misconfigured`, naming the variable, if not) and whether the store answers (503 if
/// not). Components with a sweep answer with [`crate::watchdog::health`].
pub fn health<S: crate::kv::KeyValue>(
    component: &str,
    version: &str,
    configured: Result<(), crate::config::ConfigError>,
    open_store: impl FnOnce() -> Result<S, crate::kv::StoreError>,
) -> Response {
    if let Err(e) = configured {
        return health_misconfigured(component, version, &e);
    }
    match open_store().and_then(|s| s.exists("health/probe")) {
        Ok(_) => {
            json(200, &serde_json::json!({"component": component, "version": version, "store": "ok", "status": "ok"}))
        }
        Err(_) => health_unavailable(component, version),
    }
}

/// The health answer of a component whose variables are wrong: 503, so probes take the
/// pod out, naming the variable and what is wrong (never its value).
pub fn health_misconfigured(component: &str, version: &str, error: &crate::config::ConfigError) -> Response {
    json(
        503,
        &serde_json::json!({
            "component": component,
            "version": version,
            "status": "misconfigured",
            "misconfigured": {"variable": error.variable, "reason": error.reason},
        }),
    )
}

/// The health answer when the store does not answer: 503, so probes take the pod out.
pub fn health_unavailable(component: &str, version: &str) -> Response {
    json(
        503,
        &serde_json::json!({"component": component, "version": version, "store": "unavailable", "status": "unavailable"}),
    )
}

/// The query parameters, percent-decoded.
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    urlencoded_pairs(req.uri().query().unwrap_or(""))
}

/// The pairs of `application/x-www-form-urlencoded` text (a query, or an HTML form's
/// body), percent-decoded, `+` as a space, in order.
pub fn urlencoded_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
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
