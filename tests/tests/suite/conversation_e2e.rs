//! Issue 11 end to end: a reporter's follow-up reaches a confidant. The real intake,
//! triage, directory and notification components on the test host, a real webhook
//! receiver on 127.0.0.1, the host's clock moved for escalation.
//!
//! Build the components first:
//! `cargo build --target wasm32-wasip2 --release -p intake -p triage -p directory -p notification`.

use crate::e2e::receiver::Receiver;
use crate::e2e::*;
use serde_json::{json, Value};
use std::time::Duration;
use weerbaar_tests::TestApp;

fn app() -> TestApp {
    start(webhook_options())
}

fn token(app: &TestApp, org: &str) -> String {
    let body = json!({"organisation": org, "role": "confidant", "holder": "Anne de Wit"});
    let r = staff(app, ADMIN_TOKEN, "POST", "/triage/tokens", &[], Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["token"].as_str().unwrap().to_string()
}

/// Subscribes the receiver at `path` for one organisation's cases; returns the secret.
fn subscribe(app: &TestApp, receiver: &Receiver, path: &str, org: &str) -> String {
    let body = json!({"url": receiver.url(path), "description": "coordinators", "organisations": [org]});
    let r = staff(app, ADMIN_TOKEN, "POST", "/notification/subscriptions", &[], Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["secret"].as_str().unwrap().to_string()
}

fn update(app: &TestApp, token: &str, id: &str, rest: &str, etag: &str, body: Option<Value>) -> Reply {
    let r = staff(app, token, "POST", &case_path(id, rest), &[("if-match", etag)], body);
    r.conforms("POST", &format!("/triage/cases/{{case_id}}{rest}"));
    assert_eq!(r.status, 200, "{rest}: {}", r.body);
    r
}

fn etag(reply: &Reply) -> String {
    reply.header("etag").expect("an ETag").to_string()
}

fn sweep(app: &TestApp) -> Reply {
    let r = call(app, "POST", "/triage/sweep", &[("weerbaar-internal-secret", INTERNAL_SECRET)], None);
    r.conforms("POST", "/triage/sweep");
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

/// Plans a check-in `after` the case's receipt (app time); returns the answer.
fn plan_check_in(app: &TestApp, token: &str, id: &str, tag: &str, after: shared::time::Duration) -> Reply {
    let received = shared::time::Timestamp::parse(read(app, token, id).body["received_at"].as_str().unwrap()).unwrap();
    let body = json!({"due_at": (received + after).to_string(), "purpose": "aftercare_call",
                      "note": "Nazorggesprek over de nachtrust"});
    let r = staff(app, token, "POST", &case_path(id, "/check-ins"), &[("if-match", tag)], Some(body));
    r.conforms("POST", "/triage/cases/{case_id}/check-ins");
    assert_eq!(r.status, 201, "{}", r.body);
    r
}

fn reporter_status(app: &TestApp, receipt: &str) -> Reply {
    let r = post_json(app, "/intake/reports/status", &json!({ "receipt_code": receipt }));
    r.conforms("POST", "/intake/reports/status");
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

fn webhooks(receiver: &Receiver, path: &str, case: &str, kind: &str) -> Vec<crate::e2e::receiver::Hit> {
    receiver
        .hits_at(path)
        .into_iter()
        .filter(|h| h.json()["data"]["case_reference"] == case && h.json()["type"] == kind)
        .collect()
}

#[test]
fn a_follow_up_in_danger_reaches_a_confidant_escalates_and_the_case_is_handed_over() {
    let app = app();
    let receiver = Receiver::start();
    let ngb_secret = subscribe(&app, &receiver, "/hooks/ngb", "ngb");
    let bzk_secret = subscribe(&app, &receiver, "/hooks/bzk", "bzk");
    let ngb = token(&app, "ngb");
    let bzk = token(&app, "bzk");

    // 1. A report, acknowledged, worked and moved to aftercare with a check-in.
    let (case, receipt) = file_mayor_report(&app);
    let mut tag = etag(&read(&app, &ngb, &case));
    tag = etag(&update(&app, &ngb, &case, "/acknowledge", &tag, None));
    tag = etag(&update(&app, &ngb, &case, "/assign", &tag, Some(json!({"confidant": "Desk Utrecht"}))));
    tag = etag(&plan_check_in(&app, &ngb, &case, &tag, shared::time::Duration::days(7)));
    for status in ["in_progress", "aftercare"] {
        let body = json!({"status": status, "reason": "gesprek gevoerd"});
        tag = etag(&update(&app, &ngb, &case, "/status", &tag, Some(body)));
    }
    let before = read(&app, &ngb, &case).body;
    assert_eq!((before["status"].as_str(), before["assessment"]["priority"].as_str()), (Some("aftercare"), Some("P3")));
    assert_eq!(before["check_ins"][0]["purpose"], "aftercare_call");

    // 2. The reporter writes: he is back, danger now.
    let message = json!({"receipt_code": receipt, "text": "Hij staat weer voor de deur, met een mes.",
                         "immediate_danger": true});
    let answer = post_json(&app, "/intake/reports/messages", &message);
    answer.conforms("POST", "/intake/reports/messages");
    assert_eq!(answer.status, 201, "{}", answer.body);

    // 3. 112 advice in the reporter's language; the webhook arrived within the request.
    assert_eq!(answer.body["emergency"], true);
    assert_eq!(answer.body["advice"][0], "Bent u of is iemand anders nu in gevaar? Bel direct 112.");
    let hits = webhooks(&receiver, "/hooks/ngb", &case, "case.reporter_message");
    assert_eq!(hits.len(), 1, "a case.reporter_message webhook before intake answered");
    assert!(hits[0].verifies(&ngb_secret), "signed with the subscription's secret");
    let data = hits[0].json()["data"].clone();
    assert_eq!((data["priority"].as_str(), data["status"].as_str()), (Some("P1"), Some("in_progress")));
    assert_eq!(data["unread_reporter_messages"], 1);
    assert_eq!(data["organisation"], "ngb");
    let body = String::from_utf8_lossy(&hits[0].body).into_owned();
    for needle in ["met een mes", "deur", "Wijk bij Duurstede", "12345678"] {
        assert!(!body.contains(needle), "{needle} in a webhook");
    }
    let view = read(&app, &ngb, &case).body;
    assert_eq!(view["status"], "in_progress");
    assert_eq!(view["assessment"]["priority"], "P1");
    assert_eq!(view["acknowledged_at"], Value::Null);
    assert_eq!(view["unread_reporter_messages"], 1);
    assert!(view["assessment"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().starts_with("reporter_follow_up: message 1: immediate_danger")));

    // 4. Escalation fires again after the P1 deadline.
    sweep(&app);
    assert!(webhooks(&receiver, "/hooks/ngb", &case, "case.escalated").is_empty(), "not before the deadline");
    app.advance_clock(Duration::from_secs(16 * 60));
    assert_eq!(sweep(&app).body["escalated"], 1);
    let escalated = webhooks(&receiver, "/hooks/ngb", &case, "case.escalated");
    assert_eq!(escalated.len(), 1);
    assert_eq!(escalated[0].json()["data"]["escalation_level"], 1);

    // 5. The confidant reads the message, marks it read, and hands the case to BZK.
    let conversation = staff(&app, &ngb, "GET", &case_path(&case, "/messages"), &[], None);
    conversation.conforms("GET", "/triage/cases/{case_id}/messages");
    assert_eq!(conversation.status, 200, "{}", conversation.body);
    let first = &conversation.body["messages"][0];
    assert_eq!(first["text"], "Hij staat weer voor de deur, met een mes.");
    assert_eq!((first["author"].as_str(), first["read"].as_bool()), (Some("reporter"), Some(false)));
    assert_eq!(first["follow_up"]["immediate_danger"], true);
    tag = etag(&read(&app, &ngb, &case));
    let marked = update(&app, &ngb, &case, "/messages/read", &tag, Some(json!({"up_to": first["number"]})));
    assert_ne!(etag(&marked), tag, "marking read changes the ETag");
    assert_eq!(marked.body["unread_reporter_messages"], 0);
    let body = json!({"organisation": "bzk", "reason": "BZK neemt de beveiliging over"});
    let handed = update(&app, &ngb, &case, "/handover", &etag(&marked), Some(body));
    assert_eq!(handed.body["priority"], "P1");
    let handover_hits = webhooks(&receiver, "/hooks/bzk", &case, "case.handed_over");
    assert_eq!(handover_hits.len(), 1, "the new organisation's subscribers hear of it");
    assert!(handover_hits[0].verifies(&bzk_secret));
    assert!(webhooks(&receiver, "/hooks/ngb", &case, "case.handed_over").is_empty());

    // 6. The old organisation gets 404; the new one lists and reads it, with the audit.
    let gone = staff(&app, &ngb, "GET", &case_path(&case, ""), &[], None);
    gone.conforms("GET", "/triage/cases/{case_id}");
    assert_eq!(gone.status, 404);
    assert_eq!(staff(&app, &ngb, "GET", &case_path(&case, "/messages"), &[], None).status, 404);
    let listed = staff(&app, &bzk, "GET", "/triage/cases", &[], None);
    listed.conforms("GET", "/triage/cases");
    assert!(listed.body["cases"].as_array().unwrap().iter().any(|c| c["case_id"] == case.as_str()));
    let trail = staff(&app, &bzk, "GET", &case_path(&case, "/audit"), &[], None);
    trail.conforms("GET", "/triage/cases/{case_id}/audit");
    let actions: Vec<String> =
        trail.body["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    for expected in ["reporter_follow_up:P1:message:1", "messages_read:1-1", "marked_read:1", "handed_over:ngb:bzk"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} missing from {actions:?}");
    }
    for (key, value) in store_text(&app) {
        assert!(!value.contains("met een mes"), "the follow-up is stored in clear at {key}");
    }
}

#[test]
fn bad_input_to_the_new_endpoints_is_a_problem_naming_the_field_and_writes_nothing() {
    let app = app();
    let ngb = token(&app, "ngb");
    let (case, receipt) = file_mayor_report(&app);
    let tag = etag(&read(&app, &ngb, &case));
    let before = store_text(&app);

    let bad_message = json!({"receipt_code": receipt, "text": "x", "incident_kinds": ["stalking", "stalking"]});
    let r = post_json(&app, "/intake/reports/messages", &bad_message);
    r.conforms("POST", "/intake/reports/messages");
    assert_eq!((r.status, r.body["field"].as_str()), (422, Some("/incident_kinds/1")));

    let posts = [
        ("/messages/read", json!({"up_to": 5}), "/up_to"),
        ("/handover", json!({"organisation": "politie", "reason": "x"}), "/organisation"),
        ("/handover", json!({"organisation": "bzk", "reason": ""}), "/reason"),
    ];
    for (rest, body, field) in posts {
        let r = staff(&app, &ngb, "POST", &case_path(&case, rest), &[("if-match", &tag)], Some(body));
        r.conforms("POST", &format!("/triage/cases/{{case_id}}{rest}"));
        assert_eq!(r.status, 422, "{rest}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(r.body["field"], field, "{rest}");
    }
    let r = staff(&app, &ngb, "GET", &case_path(&case, "/messages?limit=500"), &[], None);
    r.conforms("GET", "/triage/cases/{case_id}/messages");
    assert_eq!((r.status, r.body["field"].as_str()), (400, Some("limit")));
    let internal = [("weerbaar-internal-secret", INTERNAL_SECRET), ("content-type", "application/json")];
    let body = serde_json::to_vec(&json!({"case_id": case, "slot": 0.5})).unwrap();
    let r = call(&app, "POST", "/triage/internal/messages", &internal, Some(body));
    r.conforms("POST", "/triage/internal/messages");
    assert_eq!((r.status, r.body["field"].as_str()), (422, Some("/slot")));
    assert_eq!(store_text(&app), before, "nothing written");
}

#[test]
fn a_check_in_falls_due_then_overdue_with_both_webhooks_and_the_reporter_sees_the_next_contact() {
    let app = app();
    let receiver = Receiver::start();
    let secret = subscribe(&app, &receiver, "/hooks/ngb", "ngb");
    let ngb = token(&app, "ngb");
    let (case, receipt) = file_mayor_report(&app);
    assert_eq!(reporter_status(&app, &receipt).body["next_planned_contact"], Value::Null);

    // A P3 case: an open check-in is announced overdue every 4 hours after it fell due.
    let mut tag = etag(&read(&app, &ngb, &case));
    tag = etag(&update(&app, &ngb, &case, "/acknowledge", &tag, None));
    let planned = plan_check_in(&app, &ngb, &case, &tag, shared::time::Duration::hours(2));
    let check_in = planned.body["check_in"]["check_in_id"].as_str().unwrap().to_string();
    let due_at = planned.body["check_in"]["due_at"].as_str().unwrap().to_string();

    let status = reporter_status(&app, &receipt);
    assert_eq!(status.body["next_planned_contact"], due_at.as_str(), "the reporter sees when");
    let shown = String::from_utf8_lossy(&status.raw).into_owned();
    for secret_word in ["aftercare_call", "Nazorggesprek", "nachtrust", &check_in] {
        assert!(!shown.contains(secret_word), "{secret_word} shown to the reporter");
    }
    let agenda = staff(&app, &ngb, "GET", "/triage/check-ins?due_before=2100-01-01T00:00:00Z", &[], None);
    agenda.conforms("GET", "/triage/check-ins");
    assert_eq!(agenda.status, 400, "more than 92 days ahead: {}", agenda.body);

    sweep(&app);
    assert!(webhooks(&receiver, "/hooks/ngb", &case, "case.check_in_due").is_empty(), "not before it is due");
    app.advance_clock(Duration::from_secs(2 * 3600 + 60));
    let agenda = staff(&app, &ngb, "GET", "/triage/check-ins", &[], None);
    agenda.conforms("GET", "/triage/check-ins");
    assert_eq!(agenda.body["check_ins"][0]["check_in_id"], check_in.as_str(), "{}", agenda.body);
    assert_eq!(sweep(&app).body["check_ins_due"], 1);
    let due = webhooks(&receiver, "/hooks/ngb", &case, "case.check_in_due");
    assert_eq!(due.len(), 1);
    assert!(due[0].verifies(&secret), "signed with the subscription's secret");
    assert_eq!(due[0].json()["data"]["check_in_id"], check_in.as_str());
    assert_eq!(due[0].json()["data"]["check_in_due_at"], due_at.as_str());

    app.advance_clock(Duration::from_secs(3 * 3600));
    assert_eq!(sweep(&app).body["check_ins_overdue"], 0, "within the interval");
    app.advance_clock(Duration::from_secs(3600));
    assert_eq!(sweep(&app).body["check_ins_overdue"], 1);
    let overdue = webhooks(&receiver, "/hooks/ngb", &case, "case.check_in_overdue");
    assert_eq!(overdue.len(), 1);
    assert!(overdue[0].verifies(&secret));
    assert_eq!(overdue[0].json()["data"]["escalation_level"], 1);
    assert_eq!(overdue[0].json()["data"]["check_in_id"], check_in.as_str());
    for hit in due.iter().chain(&overdue) {
        let body = String::from_utf8_lossy(&hit.body).into_owned();
        for needle in ["aftercare_call", "Nazorggesprek", "Wijk bij Duurstede"] {
            assert!(!body.contains(needle), "{needle} in a webhook");
        }
    }

    tag = etag(&read(&app, &ngb, &case));
    let body = json!({"outcome": "reached", "note": "Slaapt weer beter"});
    let path = case_path(&case, &format!("/check-ins/{check_in}/complete"));
    let done = staff(&app, &ngb, "POST", &path, &[("if-match", &tag)], Some(body));
    done.conforms("POST", "/triage/cases/{case_id}/check-ins/{check_in_id}/complete");
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(reporter_status(&app, &receipt).body["next_planned_contact"], Value::Null);
    app.advance_clock(Duration::from_secs(8 * 3600));
    assert_eq!(sweep(&app).body["check_ins_overdue"], 0, "completed: no more announcements");
    for (key, value) in store_text(&app) {
        assert!(!value.contains("Slaapt weer") && !value.contains("nachtrust"), "a check-in note in clear at {key}");
    }
}
