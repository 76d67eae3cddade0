//! intake.wasm end to end: real HTTP, the real component, Spin's semantics.

use crate::e2e::*;
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

// ---- abuse limits behind a proxy, and the proof of work past them ----

/// Files the report with extra headers (forwarding headers, a proof of work).
fn file_with(app: &weerbaar_tests::TestApp, extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(extra);
    let reply = call(app, "POST", "/intake/reports", &headers, Some(serde_json::to_vec(&report()).unwrap()));
    reply.conforms("POST", "/intake/reports");
    reply
}

fn status_with(app: &weerbaar_tests::TestApp, receipt: &str, extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(extra);
    let body = serde_json::to_vec(&json!({ "receipt_code": receipt })).unwrap();
    let reply = call(app, "POST", "/intake/reports/status", &headers, Some(body));
    reply.conforms("POST", "/intake/reports/status");
    reply
}

fn cases_in(app: &weerbaar_tests::TestApp) -> usize {
    store_text(app).into_iter().filter(|(k, _)| k.starts_with("case/") && k.matches('/').count() == 1).count()
}

/// The test host's peer is 127.0.0.1: trusting it makes the test the ingress.
fn behind_proxy() -> weerbaar_tests::Options {
    options().only(&["intake"]).variable("trusted_proxies", "127.0.0.1/32")
}

#[test]
fn behind_a_trusted_proxy_one_client_exhausting_its_limits_does_not_block_another() {
    let app = start(behind_proxy().variable("submission_limit_per_hour", "2"));
    let a = [("x-forwarded-for", "192.0.2.1")];
    // What client A writes itself stays left of what the proxy appended: still A.
    let a_spoofing = [("x-forwarded-for", "198.51.100.99, 192.0.2.1")];
    let b = [("forwarded", "for=\"[2001:db8:b::7]:4711\";proto=https")];
    assert_eq!(file_with(&app, &a).status, 201);
    assert_eq!(file_with(&app, &a_spoofing).status, 201);
    let refused = file_with(&app, &a);
    assert_eq!(refused.status, 429, "{}", refused.body);
    let filed_b = file_with(&app, &b);
    assert_eq!(filed_b.status, 201, "another client files while A is limited: {}", filed_b.body);
    let receipt_b = filed_b.body["receipt_code"].as_str().unwrap().to_string();

    for _ in 0..5 {
        assert_eq!(status_with(&app, "0000000000000000", &a_spoofing).status, 404);
    }
    assert_eq!(status_with(&app, &receipt_b, &a).status, 429, "A is locked out of lookups");
    let b_reads = status_with(&app, &receipt_b, &b);
    assert_eq!(b_reads.status, 200, "B is not: {}", b_reads.body);

    for (key, _) in store_text(&app) {
        assert!(!key.contains("192.0.2.1") && !key.contains("2001:db8"), "a client address in clear at {key}");
    }
    let logs = app.logs_text();
    assert!(!logs.contains("192.0.2.1") && !logs.contains("2001:db8:b"), "a client address in the logs");
}

#[test]
fn spoofed_forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let app = start(options().only(&["intake"]).variable("submission_limit_per_hour", "2"));
    let spoofs: [&[(&str, &str)]; 3] = [
        &[("x-forwarded-for", "192.0.2.1")],
        &[("forwarded", "for=192.0.2.2")],
        &[("x-forwarded-for", "192.0.2.3"), ("forwarded", "for=192.0.2.3")],
    ];
    assert_eq!(file_with(&app, spoofs[0]).status, 201);
    assert_eq!(file_with(&app, spoofs[1]).status, 201);
    let refused = file_with(&app, spoofs[2]);
    assert_eq!(refused.status, 429, "every request came from 127.0.0.1, whatever its headers say");
}

#[test]
fn parallel_wrong_receipt_codes_never_exceed_the_limit() {
    const LIMIT: usize = 5;
    const GUESSES: usize = 24;
    let app = start(behind_proxy());
    let barrier = std::sync::Barrier::new(GUESSES);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let guesses: Vec<_> = (0..GUESSES)
            .map(|i| {
                let (app, barrier) = (&app, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let code = format!("{:016}", 1000 + i);
                    status_with(app, &code, &[("x-forwarded-for", "192.0.2.66")]).status
                })
            })
            .collect();
        guesses.into_iter().map(|g| g.join().unwrap()).collect()
    });
    let looked_up = statuses.iter().filter(|s| **s == 404).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((looked_up, refused), (LIMIT, GUESSES - LIMIT), "{statuses:?}");
}

/// The documented bound of counting failures only after they failed: a right code
/// among parallel guesses may be answered (they all read the count before any failed),
/// but exactly the limit of wrong codes is ever answered 404, and after the burst the
/// client is refused, right code or not.
#[test]
fn a_right_code_among_parallel_guesses_may_pass_but_the_failures_never_exceed_the_limit() {
    const LIMIT: usize = 5;
    const GUESSES: usize = 24;
    let app = start(behind_proxy());
    let receipt =
        file_with(&app, &[("x-forwarded-for", "192.0.2.1")]).body["receipt_code"].as_str().unwrap().to_string();
    let barrier = std::sync::Barrier::new(GUESSES);
    let statuses: Vec<(bool, u16)> = std::thread::scope(|s| {
        let guesses: Vec<_> = (0..GUESSES)
            .map(|i| {
                let (app, barrier, receipt) = (&app, &barrier, &receipt);
                s.spawn(move || {
                    barrier.wait();
                    let code = if i == GUESSES / 2 { receipt.clone() } else { format!("{:016}", 1000 + i) };
                    (i == GUESSES / 2, status_with(app, &code, &[("x-forwarded-for", "192.0.2.67")]).status)
                })
            })
            .collect();
        guesses.into_iter().map(|g| g.join().unwrap()).collect()
    });
    let wrong: Vec<u16> = statuses.iter().filter(|(right, _)| !right).map(|(_, s)| *s).collect();
    assert_eq!(wrong.iter().filter(|s| **s == 404).count(), LIMIT, "{statuses:?}");
    assert_eq!(wrong.iter().filter(|s| **s == 429).count(), GUESSES - 1 - LIMIT, "{statuses:?}");
    let right = statuses.iter().find(|(right, _)| *right).unwrap().1;
    assert!([200, 429].contains(&right), "the right code: {right}");
    let after = status_with(&app, &receipt, &[("x-forwarded-for", "192.0.2.67")]);
    assert_eq!(after.status, 429, "after the burst even the right code is refused");
}

/// Solves a challenge as the README's Python does: SHA-256 over the challenge's
/// characters followed by the decimal nonce, with `bits` leading zero bits.
fn solve(challenge: &str, bits: u32) -> String {
    (0u64..).map(|n| n.to_string()).find(|n| solves(challenge, n, bits)).unwrap()
}

fn solves(challenge: &str, nonce: &str, bits: u32) -> bool {
    let d = shared::crypto::sha256(format!("{challenge}{nonce}").as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]) >> (32 - bits) == 0
}

#[test]
fn a_report_with_a_solved_challenge_is_filed_while_its_bucket_is_exhausted_and_a_reused_or_wrong_one_is_refused() {
    let app = start(behind_proxy().variable("submission_limit_per_hour", "1").variable("proof_of_work_bits", "10"));
    let client = ("x-forwarded-for", "192.0.2.77");
    assert_eq!(file_with(&app, &[client]).status, 201);
    let refused = file_with(&app, &[client]);
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["advice"][0], "Bent u of is iemand anders nu in gevaar? Bel direct 112.");
    let challenge = refused.body["proof_of_work"]["challenge"].as_str().unwrap().to_string();
    assert_eq!(refused.body["proof_of_work"]["difficulty_bits"], 10);
    let nonce = solve(&challenge, 10);
    let wrong = (0u64..).map(|n| n.to_string()).find(|n| !solves(&challenge, n, 10)).unwrap();

    let wrong_proof = format!("{challenge}:{wrong}");
    let with_wrong = file_with(&app, &[client, ("weerbaar-proof-of-work", &wrong_proof)]);
    assert_eq!(with_wrong.status, 429, "a wrong solution is refused");
    assert_eq!(cases_in(&app), 1);

    let proof = format!("{challenge}:{nonce}");
    let filed = file_with(&app, &[client, ("weerbaar-proof-of-work", &proof)]);
    assert_eq!(filed.status, 201, "the solved challenge files the report: {}", filed.body);
    assert!(filed.body["advice"][0].as_str().unwrap().contains("112"));
    assert_eq!(cases_in(&app), 2);

    let reused = file_with(&app, &[client, ("weerbaar-proof-of-work", &proof)]);
    assert_eq!(reused.status, 429, "a challenge files one report");
    assert!(reused.body["proof_of_work"]["challenge"].is_string(), "and the refusal offers a new one");
    assert_eq!(cases_in(&app), 2);
}
