//! intake.wasm end to end: real HTTP, the real component, Spin's semantics.

mod e2e;

use e2e::*;
use serde_json::{json, Value};

const PERSONAL: &[&str] =
    &["Wijk bij Duurstede", "Jeroen", "Koolhoven", "612345678", "jeroen@example.nl", "Mes aan de deur"];

fn report() -> Value {
    json!({
        "role": "mayor",
        "relation": "self",
        "region": "VR09",
        "municipality": "Wijk bij Duurstede",
        "request_kind": "incident",
        "incident_kinds": ["threat_of_violence"],
        "immediate_danger": true,
        "description": "Mes aan de deur, man dreigt terug te komen.",
        "name": "Jeroen Koolhoven",
        "contact": {"channel": "phone", "phone": "+31 6 12345678", "email": "jeroen@example.nl"},
        "language": "nl"
    })
}

fn file(app: &weerbaar_tests::TestApp, idempotency_key: Option<&str>) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(key) = idempotency_key {
        headers.push(("idempotency-key", key));
    }
    let reply = call(app, "POST", "/intake/reports", &headers, Some(serde_json::to_vec(&report()).unwrap()));
    reply.conforms("POST", "/intake/reports");
    reply
}

#[test]
fn health_answers_with_the_store_up() {
    let app = start(options().only(&["intake"]));
    let reply = get(&app, "/intake/health");
    reply.conforms("GET", "/intake/health");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["store"], "ok");
}

#[test]
fn a_report_is_filed_looked_up_and_answered_over_http_and_nothing_personal_is_stored_or_logged() {
    let app = start(options().only(&["intake"]));
    let filed = file(&app, None);
    assert_eq!(filed.status, 201, "{}", filed.body);
    assert!(filed.body["advice"][0].as_str().unwrap().contains("112"));
    assert_eq!(filed.header("cache-control"), Some("no-store"));
    let receipt = filed.body["receipt_code"].as_str().unwrap().to_string();

    let status = post_json(&app, "/intake/reports/status", &json!({ "receipt_code": receipt }));
    status.conforms("POST", "/intake/reports/status");
    assert_eq!(status.status, 200);
    assert_eq!(status.body["case_reference"], filed.body["case_reference"]);
    assert_eq!(status.body["status"], "received");

    let message = post_json(
        &app,
        "/intake/reports/messages",
        &json!({"receipt_code": receipt, "text": "Koolhoven hier, hij is terug."}),
    );
    message.conforms("POST", "/intake/reports/messages");
    assert_eq!(message.status, 201);
    let again = post_json(&app, "/intake/reports/status", &json!({ "receipt_code": receipt }));
    assert_eq!(again.body["messages"][0]["text"], "Koolhoven hier, hij is terug.");

    let digits = receipt.replace('-', "");
    for (key, value) in store_text(&app) {
        for needle in PERSONAL.iter().chain([&digits.as_str(), &receipt.as_str(), &"hij is terug"]) {
            assert!(!value.contains(needle) && !key.contains(needle), "{needle:?} in clear at {key}");
        }
    }
    let logs = app.logs_text();
    assert!(logs.contains("/intake/reports"), "one log line per request");
    for needle in PERSONAL.iter().chain([&digits.as_str(), &receipt.as_str()]) {
        assert!(!logs.contains(needle), "{needle:?} in the logs");
    }
}

#[test]
fn a_retry_with_the_same_idempotency_key_returns_the_same_case() {
    let app = start(options().only(&["intake"]));
    let first = file(&app, Some("e2e-retry-1"));
    let second = file(&app, Some("e2e-retry-1"));
    assert_eq!(first.status, 201);
    assert_eq!(second.status, 201);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.body["case_reference"], second.body["case_reference"]);
    assert_eq!(first.body["receipt_code"], second.body["receipt_code"]);
    let cases =
        store_text(&app).into_iter().filter(|(k, _)| k.starts_with("case/") && k.matches('/').count() == 1).count();
    assert_eq!(cases, 1);
}

#[test]
fn with_triage_unreachable_the_report_is_accepted_and_queued_for_the_sweep() {
    let app = start(options().only(&["intake"]));
    app.set_down("triage", true);
    let filed = file(&app, None);
    assert_eq!(filed.status, 201);
    let case = filed.body["case_reference"].as_str().unwrap().to_string();
    let pending: Vec<String> =
        store_text(&app).into_iter().filter(|(k, _)| k.starts_with("idx/pending_triage/s/")).map(|(_, v)| v).collect();
    assert_eq!(pending.len(), 1);
    assert!(pending[0].contains(&case));
    assert!(app.logs_text().contains("handoff-deferred"));
}

#[test]
fn receipt_guessing_is_refused_after_five_failures() {
    let app = start(options().only(&["intake"]));
    let receipt = file(&app, None).body["receipt_code"].as_str().unwrap().to_string();
    for _ in 0..5 {
        let miss = post_json(&app, "/intake/reports/status", &json!({"receipt_code": "0000000000000000"}));
        miss.conforms("POST", "/intake/reports/status");
        assert_eq!(miss.status, 404);
    }
    let blocked = post_json(&app, "/intake/reports/status", &json!({ "receipt_code": receipt }));
    blocked.conforms("POST", "/intake/reports/status");
    assert_eq!(blocked.status, 429);
    assert!(blocked.header("retry-after").is_some());
}

#[test]
fn submissions_beyond_the_configured_limit_are_429() {
    let app = start(options().only(&["intake"]).variable("submission_limit_per_hour", "2"));
    assert_eq!(file(&app, None).status, 201);
    assert_eq!(file(&app, None).status, 201);
    let refused = file(&app, None);
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some());
}

#[test]
fn bad_inputs_are_problems_naming_the_field_and_write_nothing() {
    let app = start(options().only(&["intake"]));
    let mut wrong_role = report();
    wrong_role["role"] = json!("king");
    let mut huge = report();
    huge["description"] = json!("x".repeat(70 * 1024));
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("wrong enum", "application/json", serde_json::to_vec(&wrong_role).unwrap(), 422, "/role"),
        ("malformed", "application/json", b"{\"role\":".to_vec(), 400, ""),
        ("not json", "text/plain", b"hello".to_vec(), 415, "content-type"),
        ("too large", "application/json", serde_json::to_vec(&huge).unwrap(), 413, ""),
        ("invalid utf-8", "application/json", b"{\"role\":\"\xff\"}".to_vec(), 400, ""),
    ];
    for (name, content_type, body, status, field) in cases {
        let before = app.kv_dump("default");
        let reply = call(&app, "POST", "/intake/reports", &[("content-type", content_type)], Some(body));
        reply.conforms("POST", "/intake/reports");
        assert_eq!(reply.status, status, "{name}: {}", reply.body);
        assert_eq!(reply.header("content-type"), Some("application/problem+json"), "{name}");
        assert_eq!(reply.body["field"], field, "{name}");
        assert_eq!(app.kv_dump("default"), before, "{name}: the store changed");
    }
}

#[test]
fn a_store_that_fails_writes_gets_a_503_problem_not_a_bare_500() {
    let app = start(options().only(&["intake"]));
    app.fail_store_writes(true);
    let reply = file(&app, None);
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body["type"], "urn:weerbaar:problem:store-unavailable");
    app.fail_store_writes(false);
    assert_eq!(file(&app, None).status, 201);
}
