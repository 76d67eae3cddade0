//! Shared helpers of the end-to-end tests: the project's app with test secrets, and a
//! blocking JSON client that holds every answer to openapi.yaml.
#![allow(dead_code)]

pub mod callers;
pub mod receiver;

use serde_json::Value;
use std::path::Path;
use weerbaar_tests::{Options, StoreBacking, TestApp};

pub const ADMIN_TOKEN: &str = "admin-token-for-end-to-end-tests-0123456789";
pub const INTERNAL_SECRET: &str = "internal-secret-for-end-to-end-tests-0123";

/// The case keyring the app runs with (`case_keys`: tests open sealed values with it).
pub fn keyring_spec() -> String {
    format!("k1:{}", shared::crypto::base64_encode(&[11u8; 32]))
}

/// The directory's keyring (`directory_keys`): another key than the case keyring.
pub fn directory_keys() -> String {
    format!("d1:{}", shared::crypto::base64_encode(&[13u8; 32]))
}

/// Notification's keyring (`webhook_keys`): another key again.
pub fn webhook_keys() -> String {
    format!("w1:{}", shared::crypto::base64_encode(&[14u8; 32]))
}

/// The MAC key of token records (`record_mac_key`).
pub fn record_mac_key() -> String {
    shared::crypto::base64_encode(&[15u8; 32])
}

/// Which of Spin's stores the stories run on: `WEERBAAR_TEST_STORE=redis` for Spin's
/// Redis store on a real redis-server, else Spin's default SQLite store. `tests/run`
/// runs every story both ways.
pub fn on_redis() -> bool {
    match std::env::var("WEERBAAR_TEST_STORE").as_deref() {
        Ok("redis") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("WEERBAAR_TEST_STORE={other:?}: use sqlite or redis"),
    }
}

/// A fresh store of this run's kind, for one app.
pub fn backing() -> StoreBacking {
    if on_redis() {
        StoreBacking::fresh_redis().expect("a Redis database for the test")
    } else {
        StoreBacking::Memory
    }
}

/// A fresh store of this run's kind that several apps (or one app started again) can
/// share, as Spin instances on several nodes share one store; `dir` holds a SQLite file.
pub fn shared_backing(dir: &Path) -> StoreBacking {
    if on_redis() {
        backing()
    } else {
        StoreBacking::File(dir.join("sqlite_key_value.db"))
    }
}

/// The project's spin.toml with every required secret set, nothing from the environment,
/// on this run's store.
pub fn options() -> Options {
    let mut o = Options::new(weerbaar_tests::project_manifest())
        .variable("case_keys", keyring_spec())
        .variable("directory_keys", directory_keys())
        .variable("webhook_keys", webhook_keys())
        .variable("record_mac_key", record_mac_key())
        .variable("receipt_hmac_key", shared::crypto::base64_encode(&[12u8; 32]))
        .variable("internal_secret", INTERNAL_SECRET)
        .variable("admin_token", ADMIN_TOKEN);
    o.environment_variables = false;
    o.store = backing();
    o
}

pub fn start(options: Options) -> TestApp {
    TestApp::start(options).expect("the app starts")
}

/// [`options`] with webhooks allowed to a receiver on 127.0.0.1, enough submissions
/// for a test, and quiet logs.
pub fn webhook_options() -> Options {
    let mut o = options()
        .variable("submission_limit_per_hour", "1000")
        .variable("webhook_allowed_http_hosts", "127.0.0.1")
        .variable("webhook_outbound_host_a", "http://127.0.0.1:*");
    o.echo_logs = false;
    o
}

/// Files a mayor's report (routed to NGB, P3) at intake; returns the case id and the
/// receipt code.
pub fn file_mayor_report(app: &TestApp) -> (String, String) {
    let report = serde_json::json!({
        "role": "mayor", "relation": "self", "region": "VR09", "municipality": "Wijk bij Duurstede",
        "request_kind": "incident", "incident_kinds": ["intimidation"], "immediate_danger": false,
        "description": "Een man staat elke avond voor de deur.",
        "contact": {"channel": "phone", "phone": "+31 6 12345678"}, "language": "nl"
    });
    let filed = post_json(app, "/intake/reports", &report);
    assert_eq!(filed.status, 201, "{}", filed.body);
    let s = |k: &str| filed.body[k].as_str().unwrap().to_string();
    (s("case_reference"), s("receipt_code"))
}

/// A staff call with a bearer token, and a JSON body if one is given.
pub fn staff(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("authorization", auth.as_str())];
    headers.extend_from_slice(extra);
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    call(app, method, path, &headers, body.map(|b| serde_json::to_vec(&b).unwrap()))
}

/// What a client got back.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub raw: Vec<u8>,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Fails unless the answer is what openapi.yaml documents for `method template`.
    pub fn conforms(&self, method: &str, template: &str) -> &Self {
        shared::contract::validate_response(method, template, self.status, &self.raw).unwrap_or_else(|e| {
            panic!("{method} {template} -> {} breaks openapi.yaml: {e}\n{}", self.status, self.body)
        });
        self
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// Sends a request with a JSON (or raw) body and headers.
pub fn call(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Reply {
    let url = format!("{}{path}", app.url());
    let mut builder = ureq::http::Request::builder().method(method).uri(&url);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let result = match body {
        Some(bytes) => agent().run(builder.body(bytes).unwrap()),
        None => agent().run(builder.body(()).unwrap()),
    };
    let mut response = result.expect("the request reaches the host");
    let headers =
        response.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let raw = response.body_mut().read_to_vec().unwrap_or_default();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let reply = Reply { status: response.status().as_u16(), headers, raw, body };
    settle_chain(app, reply.header("x-correlation-id"), &format!("{method} {path}"));
    // Every answer of every story is held to openapi.yaml, whether or not the test
    // looks at it. Spin's own answers are not ours: a bare 500 of a trapped guest, and
    // the router's empty 404 for a path no component of this app serves.
    let content_type = reply.header("content-type").unwrap_or("").to_string();
    let from_spin = matches!(reply.status, 404 | 500) && reply.raw.is_empty();
    if !from_spin {
        if let Err(e) = shared::contract::validate_exchange(method, path, reply.status, &content_type, &reply.raw) {
            panic!("{method} {path} -> {} breaks openapi.yaml: {e}\n{}", reply.status, reply.body);
        }
    }
    reply
}

/// Waits for the chain of the answer whose correlation id is `chain` (if it has one) to
/// finish. A component may go on working after its answer (handing a report to triage,
/// a message on to coordinators): a story reads the state its request left once the
/// whole chain is done, as a person would a moment later. Every client of the suite
/// calls this after each answer.
pub fn settle_chain(app: &TestApp, chain: Option<&str>, what: &str) {
    if let Some(chain) = chain {
        assert!(app.settle(chain, std::time::Duration::from_secs(60)), "{what}: its chain still runs after 60 s");
    }
}

pub fn post_json(app: &TestApp, path: &str, body: &Value) -> Reply {
    call(app, "POST", path, &[("content-type", "application/json")], Some(serde_json::to_vec(body).unwrap()))
}

pub fn get(app: &TestApp, path: &str) -> Reply {
    call(app, "GET", path, &[], None)
}

/// Every stored value of the `default` store as text, with its key.
pub fn store_text(app: &TestApp) -> Vec<(String, String)> {
    app.kv_dump("default").into_iter().map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned())).collect()
}

/// The confidant API path of a case, plus `rest` (`/acknowledge`, `/messages`, ...).
pub fn case_path(id: &str, rest: &str) -> String {
    format!("/triage/cases/{id}{rest}")
}

/// Reads a case as a confidant, held to the spec.
pub fn read(app: &TestApp, token: &str, id: &str) -> Reply {
    let r = staff(app, token, "GET", &case_path(id, ""), &[], None);
    r.conforms("GET", "/triage/cases/{case_id}");
    r
}
