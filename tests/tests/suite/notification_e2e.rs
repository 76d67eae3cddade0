//! notification.wasm end to end: the real component on the test host, a real webhook
//! receiver on 127.0.0.1, signatures checked the way a receiver's library does.
//!
//! Triage (which emits case events) is not in the app yet, so these tests post events
//! to the internal endpoint as triage will.

use serde_json::{json, Value};
use shared::crypto::base64_encode;
use std::net::TcpListener;
use std::time::{Duration, Instant};
use weerbaar_tests::{Options, TestApp};

use crate::e2e::receiver::Receiver;
use crate::e2e::Reply;

const ADMIN: &str = "admin-token-for-notification-e2e-0123456789";
const INTERNAL: &str = "internal-secret-for-notification-e2e";

fn options() -> Options {
    let mut o = Options::new(weerbaar_tests::project_manifest())
        .only(&["notification"])
        .variable("webhook_keys", format!("k1:{}", base64_encode(&[21u8; 32])))
        // Required by the app manifest, read by components this test does not run.
        .variable("case_keys", format!("c1:{}", base64_encode(&[24u8; 32])))
        .variable("directory_keys", format!("d1:{}", base64_encode(&[25u8; 32])))
        .variable("record_mac_key", base64_encode(&[23u8; 32]))
        .variable("receipt_hmac_key", base64_encode(&[22u8; 32]))
        .variable("internal_secret", INTERNAL)
        .variable("admin_token", ADMIN)
        // Local receivers: the inner URL policy and Spin's outer fence both let them in.
        .variable("webhook_allowed_http_hosts", "127.0.0.1")
        .variable("webhook_outbound_host_a", "http://127.0.0.1:*");
    o.environment_variables = false;
    o.echo_logs = false;
    o.store = crate::e2e::backing();
    o
}

// ---------------------------------------------------------------- the client

/// A JSON request through the suite's one client (every answer held to openapi.yaml).
fn call(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Reply {
    let mut all = headers.to_vec();
    if body.is_some() {
        all.push(("content-type", "application/json"));
    }
    crate::e2e::call(app, method, path, &all, body.map(|b| serde_json::to_vec(b).unwrap()))
}

fn admin(app: &TestApp, method: &str, path: &str, body: Option<&Value>) -> Reply {
    call(app, method, path, &[("authorization", &format!("Bearer {ADMIN}"))], body)
}

/// Subscribes `url` with extra fields; returns (id, secret).
fn subscribe(app: &TestApp, url: &str, extra: Value) -> (String, String) {
    let mut body = json!({ "url": url, "description": "coordinators" });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = admin(app, "POST", "/notification/subscriptions", Some(&body));
    r.conforms("POST", "/notification/subscriptions");
    assert_eq!(r.status, 201, "{}", r.body);
    (r.body["id"].as_str().unwrap().to_string(), r.body["secret"].as_str().unwrap().to_string())
}

/// A fresh, valid id of a kind (`evt_`, `case_`): 26 characters of the id alphabet.
fn fresh_id(prefix: &str, n: u64) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut v = nanos ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let body: String = (0..26)
        .map(|i| {
            let c = ALPHABET[(v & 31) as usize] as char;
            v = v.rotate_right(5) ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
            c
        })
        .collect();
    format!("{prefix}{body}")
}

fn case_event(n: u64, event_type: &str, priority: Option<&str>, organisation: &str, region: &str) -> Value {
    let case = fresh_id("case_", n);
    json!({
        "id": fresh_id("evt_", n + 1000),
        "type": event_type,
        "timestamp": "2026-11-28T12:00:00Z",
        "data": {
            "case_reference": case,
            "priority": priority,
            "organisation": organisation,
            "region": region,
            "status": "triaged",
            "first_contact_due": "2026-11-28T12:15:00Z",
            "escalation_level": null,
            "api_link": format!("/triage/cases/{case}"),
        }
    })
}

fn post_event(app: &TestApp, event: &Value) -> Reply {
    let r = call(app, "POST", "/notification/internal/events", &[("weerbaar-internal-secret", INTERNAL)], Some(event));
    r.conforms("POST", "/notification/internal/events");
    r
}

fn sweep(app: &TestApp) -> Reply {
    let r = call(app, "POST", "/notification/sweep", &[("weerbaar-internal-secret", INTERNAL)], None);
    r.conforms("POST", "/notification/sweep");
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

// ---------------------------------------------------------------- the tests

#[test]
fn a_p1_event_arrives_signed_within_the_event_request() {
    let app = TestApp::start(options()).expect("the app starts");
    let receiver = Receiver::start();
    let (_, secret) = subscribe(&app, &receiver.url("/hooks/p1"), json!({ "min_priority": "P1" }));
    let event = case_event(1, "case.triaged", Some("P1"), "ngb", "VR09");
    let started = Instant::now();
    let r = post_event(&app, &event);
    let answered = started.elapsed();
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["messages"][0]["first_attempt"], "delivered");
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1, "delivered before the event request answered");
    let hit = &hits[0];
    assert!(hit.verifies(&secret), "the signature verifies with the subscription's secret");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - hit.timestamp).abs() <= 300, "webhook-timestamp within a receiver's 5-minute tolerance");
    assert_eq!(hit.id, r.body["messages"][0]["id"].as_str().unwrap());
    let body = hit.json();
    assert_eq!(body["type"], "case.triaged");
    assert_eq!(body["data"]["priority"], "P1");
    assert_eq!(body["data"]["case_reference"], event["data"]["case_reference"]);
    let to_receipt = hit.at.duration_since(started);
    println!(
        "P1 latency: event post -> webhook received {:.1} ms; event request answered after {:.1} ms",
        to_receipt.as_secs_f64() * 1000.0,
        answered.as_secs_f64() * 1000.0
    );
    assert!(to_receipt < Duration::from_secs(5));
}

#[test]
fn filters_choose_type_organisation_region_and_minimum_priority() {
    let app = TestApp::start(options()).expect("the app starts");
    let receiver = Receiver::start();
    subscribe(&app, &receiver.url("/type"), json!({ "event_types": ["case.escalated"] }));
    subscribe(&app, &receiver.url("/org"), json!({ "organisations": ["nvvr"] }));
    subscribe(&app, &receiver.url("/region"), json!({ "regions": ["VR13"] }));
    subscribe(&app, &receiver.url("/priority"), json!({ "min_priority": "P2" }));
    let cases = [
        (case_event(10, "case.escalated", Some("P3"), "ngb", "VR01"), "/type"),
        (case_event(11, "case.triaged", Some("P4"), "nvvr", "VR01"), "/org"),
        (case_event(12, "case.triaged", Some("P3"), "ngb", "VR13"), "/region"),
        (case_event(13, "case.triaged", Some("P2"), "ngb", "VR01"), "/priority"),
        (case_event(14, "case.created", None, "ngb", "VR01"), "none"),
    ];
    for (event, path) in &cases {
        let before = receiver.hits().len();
        assert_eq!(post_event(&app, event).status, 202);
        let new: Vec<String> = receiver.hits()[before..].iter().map(|h| h.path.clone()).collect();
        let expected: Vec<String> = if *path == "none" { vec![] } else { vec![path.to_string()] };
        assert_eq!(new, expected, "{}", event["type"]);
    }
}

#[test]
fn a_receiver_down_then_up_gets_exactly_one_logical_message_after_the_sweep() {
    let app = TestApp::start(options()).expect("the app starts");
    // A port with nothing listening: connection refused.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (_, secret) = subscribe(&app, &format!("http://127.0.0.1:{port}/hooks"), json!({}));
    let r = post_event(&app, &case_event(20, "case.triaged", Some("P1"), "ngb", "VR09"));
    assert_eq!(r.status, 202, "the event is safe in the outbox although the receiver is down");
    assert_eq!(r.body["messages"][0]["first_attempt"], "retrying");
    let id = r.body["messages"][0]["id"].as_str().unwrap().to_string();

    let receiver = Receiver::on_port(port);
    receiver.answer(200, None);
    sweep(&app);
    assert!(receiver.hits().is_empty(), "not due before the 5 s step");
    app.advance_clock(Duration::from_secs(10));
    let report = sweep(&app);
    assert_eq!(report.body["delivered"], 1, "{}", report.body);
    app.advance_clock(Duration::from_secs(3600));
    sweep(&app);
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1, "exactly one delivery");
    assert_eq!(hits[0].id, id, "the same webhook-id as the failed first attempt");
    assert!(hits[0].verifies(&secret));

    let log = admin(&app, "GET", &format!("/notification/messages/{id}/attempts"), None);
    log.conforms("GET", "/notification/messages/{message_id}/attempts");
    let attempts = log.body["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{}", log.body);
    assert_eq!(attempts[0]["status"], Value::Null);
    assert!(attempts[0]["error"].is_string());
    assert_eq!(attempts[1]["status"], 200);
    assert_eq!(attempts[1]["response_body"], "received", "the first KiB of the answer is logged");
}

#[test]
fn gone_disables_the_subscription() {
    let app = TestApp::start(options()).expect("the app starts");
    let receiver = Receiver::start();
    receiver.answer(410, None);
    let (id, _) = subscribe(&app, &receiver.url("/gone"), json!({}));
    let r = post_event(&app, &case_event(30, "case.triaged", Some("P2"), "ngb", "VR09"));
    assert_eq!(r.body["messages"][0]["first_attempt"], "failed");
    let sub = admin(&app, "GET", &format!("/notification/subscriptions/{id}"), None);
    sub.conforms("GET", "/notification/subscriptions/{subscription_id}");
    assert_eq!(sub.body["enabled"], false);
    assert_eq!(sub.body["disabled_reason"], "gone");
    post_event(&app, &case_event(31, "case.triaged", Some("P2"), "ngb", "VR09"));
    assert_eq!(receiver.hits().len(), 1, "nothing more after 410");
}

/// Every kind of stored message (a case event, the operator event of a disabled
/// endpoint) reads back, listed, alone and resent, in the shape openapi.yaml documents:
/// its payload fits exactly one branch of `WebhookPayload`, as a generated client needs.
#[test]
fn stored_messages_of_every_kind_read_back_as_documented() {
    let app = TestApp::start(options()).expect("the app starts");
    let (operators, gone) = (Receiver::start(), Receiver::start());
    gone.answer(410, None);
    let (ops, _) = subscribe(&app, &operators.url("/ops"), json!({ "operator_events": true }));
    subscribe(&app, &gone.url("/gone"), json!({}));
    assert_eq!(post_event(&app, &case_event(35, "case.triaged", Some("P2"), "ngb", "VR09")).status, 202);

    let page = admin(&app, "GET", &format!("/notification/subscriptions/{ops}/messages"), None);
    page.conforms("GET", "/notification/subscriptions/{subscription_id}/messages");
    let messages = page.body["messages"].as_array().unwrap();
    let mut types: Vec<&str> = messages.iter().map(|m| m["payload"]["type"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(types, ["case.triaged", "operator.endpoint_disabled"], "{}", page.body);
    for message in messages {
        let id = message["id"].as_str().unwrap();
        let one = admin(&app, "GET", &format!("/notification/messages/{id}"), None);
        one.conforms("GET", "/notification/messages/{message_id}");
        assert_eq!(one.body["payload"], message["payload"]);
        let resent = admin(&app, "POST", &format!("/notification/messages/{id}/resend"), None);
        resent.conforms("POST", "/notification/messages/{message_id}/resend");
        assert_eq!(resent.status, 200, "{}", resent.body);
    }
}

#[test]
fn too_many_requests_is_retried_after_retry_after() {
    let app = TestApp::start(options()).expect("the app starts");
    let receiver = Receiver::start();
    receiver.answer(429, Some("120"));
    subscribe(&app, &receiver.url("/busy"), json!({}));
    let r = post_event(&app, &case_event(40, "case.triaged", Some("P2"), "ngb", "VR09"));
    assert_eq!(r.body["messages"][0]["first_attempt"], "retrying");
    receiver.answer(200, None);
    app.advance_clock(Duration::from_secs(60));
    sweep(&app);
    assert_eq!(receiver.hits().len(), 1, "the 5 s step is replaced by Retry-After: 120");
    app.advance_clock(Duration::from_secs(61));
    sweep(&app);
    let hits = receiver.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].id, hits[1].id);
}

#[test]
fn a_rotated_secret_signs_alongside_the_new_one() {
    let app = TestApp::start(options()).expect("the app starts");
    let receiver = Receiver::start();
    let (id, old) = subscribe(&app, &receiver.url("/rotating"), json!({}));
    let r = admin(&app, "POST", &format!("/notification/subscriptions/{id}/rotate-secret"), None);
    r.conforms("POST", "/notification/subscriptions/{subscription_id}/rotate-secret");
    let new = r.body["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    post_event(&app, &case_event(50, "case.triaged", Some("P1"), "ngb", "VR09"));
    let hit = receiver.hits().pop().unwrap();
    assert_eq!(hit.signature.split(' ').count(), 2, "{}", hit.signature);
    assert!(hit.verifies(&old) && hit.verifies(&new));
}

#[test]
fn no_payload_of_any_event_type_carries_personal_data() {
    let app = TestApp::start(options()).expect("the app starts");
    let receiver = Receiver::start();
    subscribe(&app, &receiver.url("/all"), json!({}));
    let types = ["case.created", "case.triaged", "case.assigned", "case.escalated", "case.closed", "case.reopened"];
    for (i, t) in types.iter().enumerate() {
        assert_eq!(post_event(&app, &case_event(60 + i as u64, t, Some("P1"), "ngb", "VR09")).status, 202);
    }
    // An event cannot even smuggle a field in: the contract is closed.
    let mut smuggled = case_event(70, "case.created", Some("P1"), "ngb", "VR09");
    smuggled["data"]["description"] = json!("Mes aan de deur");
    smuggled["data"]["reporter"] = json!({ "name": "Jeroen Koolhoven", "phone": "+31 6 12345678" });
    let r = post_event(&app, &smuggled);
    assert_eq!(r.status, 422);
    let allowed = [
        "case_reference",
        "priority",
        "organisation",
        "region",
        "status",
        "first_contact_due",
        "escalation_level",
        "api_link",
    ];
    let hits = receiver.hits();
    assert_eq!(hits.len(), types.len());
    for hit in hits {
        let body = hit.json();
        let mut top: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        top.sort();
        assert_eq!(top, ["data", "timestamp", "type"]);
        for key in body["data"].as_object().unwrap().keys() {
            assert!(allowed.contains(&key.as_str()), "{}: {key}", body["type"]);
        }
        let text = String::from_utf8_lossy(&hit.body);
        for word in ["Koolhoven", "Mes aan de deur", "612345678", "receipt", "description", "phone", "email"] {
            assert!(!text.contains(word), "{text}");
        }
    }
}

#[test]
fn concurrent_sweeps_never_send_the_same_attempt_twice() {
    let app = TestApp::start(options()).expect("the app starts");
    let receiver = Receiver::start();
    receiver.answer(503, None);
    subscribe(&app, &receiver.url("/a"), json!({}));
    subscribe(&app, &receiver.url("/b"), json!({}));
    for n in 0..5 {
        post_event(&app, &case_event(80 + n, "case.triaged", Some("P2"), "ngb", "VR09"));
    }
    assert_eq!(receiver.hits().len(), 10, "ten first attempts");
    {
        let mut s = receiver.state.lock().unwrap();
        s.otherwise = Some((200, None));
        s.delay = Duration::from_millis(50);
    }
    app.advance_clock(Duration::from_secs(10));
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| sweep(&app));
        }
    });
    let retries: Vec<String> = receiver.hits()[10..].iter().map(|h| h.id.clone()).collect();
    let mut distinct = retries.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(retries.len(), 10, "each message retried once: {retries:?}");
    assert_eq!(distinct.len(), 10);
    let _ = receiver.hits_at("/a");
}

#[test]
fn health_and_ping_answer() {
    let app = TestApp::start(options()).expect("the app starts");
    let h = call(&app, "GET", "/notification/health", &[], None);
    h.conforms("GET", "/notification/health");
    assert_eq!(h.body["store"], "ok");
    let receiver = Receiver::start();
    let (id, secret) = subscribe(&app, &receiver.url("/ping"), json!({}));
    let r = admin(&app, "POST", &format!("/notification/subscriptions/{id}/ping"), None);
    r.conforms("POST", "/notification/subscriptions/{subscription_id}/ping");
    assert_eq!(r.body["delivered"], true, "{}", r.body);
    let hit = receiver.hits().pop().unwrap();
    assert!(hit.verifies(&secret));
    assert_eq!(hit.json()["type"], "webhook.ping");
}

/// The whole chain as a reporter starts it: intake → triage → notification → receiver.
#[test]
fn a_p1_report_reaches_the_coordinators_webhook_within_the_intake_request() {
    let mut o = options();
    o.components = None; // every component, as `spin up` runs them
    let app = TestApp::start(o).expect("the app starts");
    let receiver = Receiver::start();
    let (_, secret) =
        subscribe(&app, &receiver.url("/pager"), json!({ "event_types": ["case.triaged"], "min_priority": "P1" }));
    let report = json!({
        "role": "mayor", "relation": "self", "region": "VR09", "municipality": "Wijk bij Duurstede",
        "request_kind": "incident", "incident_kinds": ["threat_of_violence"], "immediate_danger": true,
        "description": "Mes aan de deur, man dreigt terug te komen.", "name": "Jeroen Koolhoven",
        "contact": { "channel": "phone", "phone": "+31 6 12345678" }, "language": "nl"
    });
    let started = Instant::now();
    let filed = call(&app, "POST", "/intake/reports", &[], Some(&report));
    let answered = started.elapsed();
    assert_eq!(filed.status, 201, "{}", filed.body);
    let hits = receiver.hits_at("/pager");
    assert_eq!(hits.len(), 1, "the P1 webhook arrived before intake answered the reporter");
    let hit = &hits[0];
    assert!(hit.verifies(&secret));
    let body = hit.json();
    assert_eq!(body["data"]["priority"], "P1");
    assert_eq!(body["data"]["case_reference"], filed.body["case_reference"]);
    let text = String::from_utf8_lossy(&hit.body);
    for personal in [
        "Koolhoven",
        "Jeroen",
        "Duurstede",
        "612345678",
        "Mes aan de deur",
        filed.body["receipt_code"].as_str().unwrap(),
    ] {
        assert!(!text.contains(personal), "{text}");
    }
    println!(
        "P1 latency: intake request -> webhook received {:.1} ms; intake answered after {:.1} ms",
        hit.at.duration_since(started).as_secs_f64() * 1000.0,
        answered.as_secs_f64() * 1000.0
    );
}

/// An event's message is listed in its subscription's message list only after its first
/// send (issue 16). The instance dying right after that send, before the listing or the
/// outcome is written: the message is still in the outbox, leased; once the lease has
/// run out the sweep sends it again (same `webhook-id`) and lists it, once.
#[test]
fn a_crash_after_the_first_send_before_the_listing_is_finished_by_the_sweep() {
    let app = TestApp::start(options()).expect("the app starts");
    let receiver = Receiver::start();
    let (sub, _) = subscribe(&app, &receiver.url("/hooks/crash"), json!({}));
    let event = case_event(90, "case.triaged", Some("P1"), "ngb", "VR09");
    // Every write to the subscription's message list traps the instance (a host failing
    // hard): the first one after the send is the listing, after the answer.
    app.set_write_fault(weerbaar_tests::WriteFault::TrapKeysStartingWith(format!("ntf/sub/{sub}/msgs/")));
    let r = post_event(&app, &event);
    assert_eq!(r.status, 202, "durable before the send: {}", r.body);
    let msg = r.body["messages"][0]["id"].as_str().unwrap().to_string();
    app.set_write_fault(weerbaar_tests::WriteFault::None);
    assert_eq!(receiver.hits().len(), 1, "sent within the request");
    let listed = |app: &TestApp| -> Vec<String> {
        let r = admin(app, "GET", &format!("/notification/subscriptions/{sub}/messages"), None);
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(listed(&app), Vec::<String>::new(), "the instance died before listing it");
    let stored = admin(&app, "GET", &format!("/notification/messages/{msg}"), None);
    assert_eq!(stored.body["status"], "pending", "{}", stored.body);

    sweep(&app);
    assert_eq!(receiver.hits().len(), 1, "nobody sends while the dead request's lease holds");
    app.advance_clock(Duration::from_secs(120));
    sweep(&app);
    let hits = receiver.hits();
    assert_eq!(hits.len(), 2, "sent again once the lease ran out");
    assert_eq!(hits[0].id, hits[1].id, "the same webhook-id: the receiver drops the repeat");
    assert_eq!(listed(&app), vec![msg.clone()], "listed once");
    let stored = admin(&app, "GET", &format!("/notification/messages/{msg}"), None);
    assert_eq!(stored.body["status"], "delivered", "{}", stored.body);
}
