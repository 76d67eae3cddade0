//! triage.wasm end to end, with the real intake, directory and notification components
//! on the test host, and a real webhook receiver on 127.0.0.1.
//!
//! Build the components first:
//! `cargo build --target wasm32-wasip2 --release -p intake -p triage -p directory -p notification`.

use crate::e2e::receiver::Receiver;
use crate::e2e::*;
use serde_json::{json, Value};
use std::time::Duration;
use weerbaar_tests::TestApp;

// ------------------------------------------------------------------ the app

fn app() -> TestApp {
    start(webhook_options())
}

fn token(app: &TestApp, org: &str) -> String {
    let r = staff(
        app,
        ADMIN_TOKEN,
        "POST",
        "/triage/tokens",
        &[],
        Some(json!({"organisation": org, "role": "confidant", "holder": "Anne de Wit"})),
    );
    r.conforms("POST", "/triage/tokens");
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["token"].as_str().unwrap().to_string()
}

fn report(changes: Value) -> Value {
    let mut r = json!({
        "role": "mayor",
        "relation": "self",
        "region": "VR09",
        "municipality": "Wijk bij Duurstede",
        "request_kind": "incident",
        "incident_kinds": ["intimidation"],
        "immediate_danger": false,
        "description": "Een man staat elke avond voor de deur.",
        "contact": {"channel": "phone", "phone": "+31 6 12345678"},
        "language": "nl"
    });
    for (k, v) in changes.as_object().unwrap() {
        r[k] = v.clone();
    }
    r
}

/// Files a report through intake (which hands it to triage); returns the case id.
fn file(app: &TestApp, changes: Value) -> String {
    let filed = post_json(app, "/intake/reports", &report(changes));
    assert_eq!(filed.status, 201, "{}", filed.body);
    filed.body["case_reference"].as_str().unwrap().to_string()
}

fn update(app: &TestApp, token: &str, id: &str, rest: &str, etag: &str, body: Option<Value>) -> Reply {
    let r = staff(app, token, "POST", &case_path(id, rest), &[("if-match", etag)], body);
    r.conforms("POST", &format!("/triage/cases/{{case_id}}{rest}"));
    r
}

fn sweep(app: &TestApp) -> Reply {
    let r = call(app, "POST", "/triage/sweep", &[("weerbaar-internal-secret", INTERNAL_SECRET)], None);
    r.conforms("POST", "/triage/sweep");
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

fn subscribe(app: &TestApp, receiver: &Receiver) {
    let body = json!({"url": receiver.url("/hook"), "description": "coordinators"});
    let r = staff(app, ADMIN_TOKEN, "POST", "/notification/subscriptions", &[], Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
}

// ------------------------------------------------------------------ the tests

#[test]
fn a_p1_report_with_immediate_danger_is_triaged_and_notified_within_the_intake_request() {
    let app = app();
    let receiver = Receiver::start();
    subscribe(&app, &receiver);
    let case = file(&app, json!({"immediate_danger": true, "incident_kinds": ["threat_of_violence"]}));
    // Checked right after intake answered: nothing ran in between.
    assert_eq!(receiver.types_for(&case), vec!["case.created", "case.triaged"], "webhooks within the request");
    let triaged = receiver.hits().iter().map(|h| h.json()).find(|b| b["type"] == "case.triaged").unwrap();
    assert_eq!(triaged["data"]["priority"], "P1");
    assert_eq!(triaged["data"]["organisation"], "ngb");
    let text =
        receiver.hits().iter().map(|h| String::from_utf8_lossy(&h.body).into_owned()).collect::<Vec<_>>().join("\n");
    for needle in ["Wijk bij Duurstede", "12345678", "elke avond"] {
        assert!(!text.contains(needle), "{needle} in a webhook");
    }
    let ngb = token(&app, "ngb");
    let view = read(&app, &ngb, &case);
    let logs = app.logs_text();
    assert!(logs.contains("/triage/internal/cases"));
    for needle in ["Wijk bij Duurstede", "12345678", "elke avond"] {
        assert!(!logs.contains(needle), "{needle} in the logs");
    }
    assert_eq!(view.body["status"], "triaged");
    assert!(view.body["assessment"]["reasons"][0].as_str().unwrap().starts_with("immediate_danger:"));
    let received = shared::time::Timestamp::parse(view.body["received_at"].as_str().unwrap()).unwrap();
    let due = shared::time::Timestamp::parse(view.body["assessment"]["first_contact_due"].as_str().unwrap()).unwrap();
    assert_eq!(due, received + shared::time::Duration::minutes(15));
    assert!(!store_text(&app)
        .iter()
        .any(|(k, _)| k.starts_with("triage/outbox/s/") || k.starts_with("idx/pending_triage/s/")));
}

#[test]
fn each_priority_rule_of_the_domain_fires_end_to_end() {
    let app = app();
    let bzk = token(&app, "bzk");
    let day_and_a_half_ago = {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        shared::time::Timestamp::from_unix_millis(now - 36 * 3600 * 1000).to_string()
    };
    let rules: Vec<(&str, Value, &str)> = vec![
        ("immediate_danger", json!({"immediate_danger": true}), "P1"),
        ("recent_physical_violence", json!({"incident_kinds": ["physical_violence"]}), "P1"),
        ("threat_to_life", json!({"threat_to_life": true}), "P1"),
        (
            "earlier_physical_violence",
            json!({"incident_kinds": ["physical_violence"], "occurred_at": day_and_a_half_ago}),
            "P2",
        ),
        ("threat_of_violence", json!({"incident_kinds": ["threat_of_violence"]}), "P2"),
        ("stalking", json!({"incident_kinds": ["stalking"]}), "P2"),
        ("doxxing", json!({"incident_kinds": ["doxxing"]}), "P2"),
        ("family_targeted", json!({"incident_kinds": ["family_targeted"]}), "P2"),
        ("repeated_raises_one_step", json!({"recurrence": "repeated"}), "P2"),
        ("intimidation", json!({}), "P3"),
        ("online_harassment", json!({"incident_kinds": ["online_harassment"]}), "P3"),
        ("verbal_aggression", json!({"incident_kinds": ["verbal_aggression"]}), "P3"),
        ("property_damage", json!({"incident_kinds": ["property_damage"]}), "P3"),
        ("prevention_question", json!({"request_kind": "prevention", "incident_kinds": []}), "P4"),
        ("aftercare_without_new_incident", json!({"request_kind": "aftercare", "incident_kinds": []}), "P4"),
    ];
    for (rule, changes, priority) in rules {
        let mut changes = changes;
        changes["role"] = json!("provincial_executive"); // routed to BZK
        let case = file(&app, changes);
        let view = read(&app, &bzk, &case);
        assert_eq!(view.status, 200, "{rule}: {}", view.body);
        assert_eq!(view.body["assessment"]["priority"], priority, "rule {rule}");
        let reasons = view.body["assessment"]["reasons"].as_array().unwrap();
        assert!(
            reasons.iter().any(|r| r.as_str().unwrap().starts_with(&format!("{rule}:"))),
            "rule {rule}: {reasons:?}"
        );
    }
}

#[test]
fn the_full_lifecycle_with_override_invalid_transition_and_stale_update() {
    lifecycle(app());
}

fn lifecycle(app: TestApp) {
    let filed =
        post_json(&app, "/intake/reports", &report(json!({"role": "alderman", "incident_kinds": ["stalking"]})));
    assert_eq!(filed.status, 201, "{}", filed.body);
    let case = filed.body["case_reference"].as_str().unwrap().to_string();
    let receipt = filed.body["receipt_code"].as_str().unwrap().to_string();
    let t = token(&app, "wethoudersvereniging");
    let mut etag = read(&app, &t, &case).header("etag").unwrap().to_string();

    let override_ =
        update(&app, &t, &case, "/priority", &etag, Some(json!({"priority": "P1", "reason": "wapen gezien"})));
    assert_eq!(override_.status, 200, "{}", override_.body);
    assert_eq!(override_.body["priority"], "P1");
    let stale = update(&app, &t, &case, "/acknowledge", &etag, None);
    assert_eq!(stale.status, 412, "the ETag before the override is stale");
    etag = override_.header("etag").unwrap().to_string();
    let view = read(&app, &t, &case);
    assert_eq!(view.body["priority_override"]["reason"], "wapen gezien");
    assert_eq!(view.body["priority_override"]["from"], "P2");

    let invalid = update(&app, &t, &case, "/status", &etag, Some(json!({"status": "aftercare", "reason": "te vroeg"})));
    assert_eq!(invalid.status, 409);
    assert_eq!(invalid.body["type"], "urn:weerbaar:problem:invalid-transition");
    let assigned = update(&app, &t, &case, "/assign", &etag, Some(json!({"confidant": "Desk Oost", "members": []})));
    assert_eq!(assigned.status, 200, "{}", assigned.body);
    etag = assigned.header("etag").unwrap().to_string();
    for (to, why) in
        [("in_progress", "gesprek"), ("aftercare", "nazorg"), ("closed", "afgerond"), ("reopened", "opnieuw")]
    {
        let mut body = json!({"status": to, "reason": why});
        if to == "aftercare" {
            // No check-in planned: aftercare then needs the reason none is wanted.
            body["no_aftercare_reason"] = json!("wil geen nazorg");
        }
        let r = update(&app, &t, &case, "/status", &etag, Some(body));
        assert_eq!(r.status, 200, "{to}: {}", r.body);
        etag = r.header("etag").unwrap().to_string();
    }
    let message =
        staff(&app, &t, "POST", &case_path(&case, "/messages"), &[], Some(json!({"text": "Ik bel u morgen."})));
    message.conforms("POST", "/triage/cases/{case_id}/messages");
    assert_eq!(message.status, 201);
    let status = post_json(&app, "/intake/reports/status", &json!({ "receipt_code": receipt }));
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.body["status"], "reopened");
    let messages = status.body["messages"].as_array().unwrap();
    assert!(messages.iter().any(|m| m["author"] == "confidant" && m["text"] == "Ik bel u morgen."), "{messages:?}");
    let audit = staff(&app, &t, "GET", &case_path(&case, "/audit"), &[], None);
    audit.conforms("GET", "/triage/cases/{case_id}/audit");
    let actions: Vec<String> =
        audit.body["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    for expected in ["read", "priority:P1", "assigned", "status:closed", "status:reopened", "message"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} not in {actions:?}");
    }
}

#[test]
fn another_organisation_gets_404_on_every_endpoint() {
    let app = app();
    let case = file(&app, json!({"role": "council_member"}));
    let nvvr = token(&app, "nvvr");
    let etag = read(&app, &nvvr, &case).header("etag").unwrap().to_string();
    let ngb = token(&app, "ngb");
    let before: Vec<(String, String)> = store_text(&app).into_iter().filter(|(k, _)| k.starts_with("case/")).collect();
    for (method, rest, body) in [
        ("GET", "", None),
        ("GET", "/audit", None),
        ("POST", "/acknowledge", None),
        ("POST", "/assign", Some(json!({"confidant": "x"}))),
        ("POST", "/priority", Some(json!({"priority": "P1", "reason": "x"}))),
        ("POST", "/status", Some(json!({"status": "closed", "reason": "x"}))),
        ("POST", "/messages", Some(json!({"text": "x"}))),
    ] {
        let r = staff(&app, &ngb, method, &case_path(&case, rest), &[("if-match", &etag)], body);
        r.conforms(method, &format!("/triage/cases/{{case_id}}{rest}"));
        assert_eq!(r.status, 404, "{method} {rest}: {}", r.body);
    }
    let listed = staff(&app, &ngb, "GET", "/triage/cases", &[], None);
    listed.conforms("GET", "/triage/cases");
    assert_eq!(listed.body["cases"], json!([]));
    let own = staff(&app, &nvvr, "GET", "/triage/cases?sort=urgent", &[], None);
    assert_eq!(own.body["cases"][0]["case_id"], case.as_str());
    let after: Vec<(String, String)> = store_text(&app).into_iter().filter(|(k, _)| k.starts_with("case/")).collect();
    assert_eq!(before, after, "nothing of the case changed");
}

#[test]
fn escalation_fires_after_the_deadline_and_stops_after_acknowledgement() {
    let app = app();
    let receiver = Receiver::start();
    subscribe(&app, &receiver);
    let case = file(&app, json!({"immediate_danger": true}));
    sweep(&app);
    assert!(!receiver.types_for(&case).contains(&"case.escalated".to_string()), "not before the deadline");
    app.advance_clock(Duration::from_secs(16 * 60));
    assert_eq!(sweep(&app).body["escalated"], 1);
    app.advance_clock(Duration::from_secs(15 * 60));
    sweep(&app);
    let levels = |r: &Receiver| -> Vec<u64> {
        r.hits()
            .iter()
            .map(|h| h.json())
            .filter(|b| b["type"] == "case.escalated" && b["data"]["case_reference"] == case.as_str())
            .map(|b| b["data"]["escalation_level"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(levels(&receiver), vec![1, 2]);
    let ngb = token(&app, "ngb");
    let etag = read(&app, &ngb, &case).header("etag").unwrap().to_string();
    assert_eq!(update(&app, &ngb, &case, "/acknowledge", &etag, None).status, 200);
    app.advance_clock(Duration::from_secs(3600));
    assert_eq!(sweep(&app).body["escalated"], 0);
    assert_eq!(levels(&receiver), vec![1, 2], "no escalation after acknowledgement");
}

#[test]
fn with_the_directory_down_a_case_is_triaged_without_suggestions_and_matched_again_later() {
    let app = app();
    app.set_down("directory", true);
    let case = file(&app, json!({"incident_kinds": ["threat_of_violence"]}));
    let ngb = token(&app, "ngb");
    let view = read(&app, &ngb, &case);
    let logs = app.logs_text();
    assert!(logs.contains("/triage/internal/cases"));
    for needle in ["Wijk bij Duurstede", "12345678", "elke avond"] {
        assert!(!logs.contains(needle), "{needle} in the logs");
    }
    assert_eq!(view.body["status"], "triaged");
    assert_eq!(view.body["rematch_pending"], true);
    assert_eq!(view.body["suggestions"], json!([]));
    assert!(app.logs_text().contains("match-deferred"));
    app.set_down("directory", false);
    sweep(&app);
    assert_eq!(read(&app, &ngb, &case).body["rematch_pending"], false);
}

#[test]
fn with_notification_down_events_wait_in_the_outbox_until_the_sweep() {
    let app = app();
    let receiver = Receiver::start();
    subscribe(&app, &receiver);
    app.set_down("notification", true);
    let case = file(&app, json!({"immediate_danger": true}));
    assert!(receiver.types_for(&case).is_empty());
    // Both events of the triage wait, in the one outbox entry of their change.
    let entries: Vec<Value> = store_text(&app)
        .into_iter()
        .filter(|(k, _)| k.starts_with("triage/outbox/s/"))
        .map(|(_, v)| serde_json::from_str(&v).unwrap())
        .collect();
    let waiting: Vec<&str> = entries
        .iter()
        .flat_map(|e| std::iter::once(&e["event"]).chain(e["more"].as_array().into_iter().flatten()))
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(waiting, vec!["case.created", "case.triaged"]);
    app.set_down("notification", false);
    let report = sweep(&app);
    assert_eq!(report.body["events_sent"], 2, "{}\n{}", report.body, app.logs_text());
    assert_eq!(receiver.types_for(&case), vec!["case.created", "case.triaged"]);
}
