//! Triage against openapi.yaml: every route documented, every answer as documented.

use crate::common::*;
use serde_json::json;
use shared::case::ReportFacts;
use shared::contract::{assert_routes_documented, validate_response};

#[test]
fn every_route_is_in_openapi_and_nothing_else_is() {
    assert_routes_documented(triage::routes::ROUTES, "/triage/");
}

fn conforms(method: &str, template: &str, reply: &Reply) {
    validate_response(method, template, reply.status, &reply.raw)
        .unwrap_or_else(|e| panic!("{method} {template} -> {}: {e}\n{}", reply.status, reply.body));
}

#[test]
fn every_answer_fits_openapi() {
    let w = World::new();
    conforms("GET", "/triage/health", &w.call("GET", "/triage/health", &[], None));
    let id = w.file(ReportFacts { immediate_danger: true, ..facts() });
    conforms("POST", "/triage/internal/cases", &w.handover(&id));
    conforms("POST", "/triage/internal/cases", &w.call("POST", "/triage/internal/cases", &[], None));

    let created = w.staff(
        ADMIN,
        "POST",
        "/triage/tokens",
        &[],
        Some(json!({"organisation": "ngb", "role": "confidant", "holder": "Piet Bakker"})),
    );
    conforms("POST", "/triage/tokens", &created);
    let token = created.body["token"].as_str().unwrap().to_string();
    let case = |rest: &str| format!("/triage/cases/{id}{rest}");
    let read = w.staff(&token, "GET", &case(""), &[], None);
    conforms("GET", "/triage/cases/{case_id}", &read);
    let mut etag = read.etag();
    let t = "/triage/cases/{case_id}";
    for (rest, body) in [
        ("/acknowledge", None),
        ("/assign", Some(json!({"confidant": "Desk", "members": [MEMBER]}))),
        ("/priority", Some(json!({"priority": "P2", "reason": "minder acuut"}))),
        ("/status", Some(json!({"status": "in_progress", "reason": "gesprek"}))),
        ("/status", Some(json!({"status": "received", "reason": "x"}))),
    ] {
        let reply = w.staff(&token, "POST", &case(rest), &[("if-match", &etag)], body);
        conforms("POST", &format!("{t}{rest}"), &reply);
        if reply.status == 200 {
            etag = reply.etag();
        }
    }
    let stale = w.staff(&token, "POST", &case("/acknowledge"), &[("if-match", "\"1\"")], None);
    conforms("POST", "/triage/cases/{case_id}/acknowledge", &stale);
    let message = w.staff(&token, "POST", &case("/messages"), &[], Some(json!({"text": "Ik bel u."})));
    conforms("POST", "/triage/cases/{case_id}/messages", &message);
    let internal = [("weerbaar-internal-secret", INTERNAL)];
    // Slot 1 holds the confidant's message: answered, nothing taken in.
    let taken = w.call("POST", "/triage/internal/messages", &internal, Some(json!({"case_id": id, "slot": 1})));
    conforms("POST", "/triage/internal/messages", &taken);
    let missing = w.call("POST", "/triage/internal/messages", &internal, Some(json!({"case_id": id, "slot": 7})));
    conforms("POST", "/triage/internal/messages", &missing);
    conforms("GET", "/triage/cases/{case_id}/messages", &w.staff(&token, "GET", &case("/messages"), &[], None));
    conforms("GET", "/triage/cases/{case_id}/messages", &w.staff(&token, "GET", &case("/messages?limit=0"), &[], None));
    let read_up = w.staff(&token, "POST", &case("/messages/read"), &[("if-match", &etag)], Some(json!({"up_to": 1})));
    conforms("POST", "/triage/cases/{case_id}/messages/read", &read_up);
    let too_far = w.staff(&token, "POST", &case("/messages/read"), &[("if-match", &etag)], Some(json!({"up_to": 9})));
    conforms("POST", "/triage/cases/{case_id}/messages/read", &too_far);
    let etag = w.staff(&token, "GET", &case(""), &[], None).etag();
    // To the owner itself (422), then to BZK (200).
    for org in ["ngb", "bzk"] {
        let body = json!({"organisation": org, "reason": "BZK neemt over"});
        let handed = w.staff(&token, "POST", &case("/handover"), &[("if-match", &etag)], Some(body));
        conforms("POST", "/triage/cases/{case_id}/handover", &handed);
    }
    conforms("GET", "/triage/cases/{case_id}/audit", &w.staff(ADMIN, "GET", &case("/audit"), &[], None));
    conforms("GET", "/triage/cases/{case_id}/audit/verify", &w.staff(ADMIN, "GET", &case("/audit/verify"), &[], None));
    conforms("GET", "/triage/cases/{case_id}/audit/verify", &w.staff(&token, "GET", &case("/audit/verify"), &[], None));
    conforms("GET", "/triage/cases", &w.staff(ADMIN, "GET", "/triage/cases?sort=unread_first", &[], None));
    conforms("GET", "/triage/cases", &w.staff(&token, "GET", "/triage/cases?sort=urgent", &[], None));
    conforms("GET", "/triage/cases", &w.staff(&token, "GET", "/triage/cases?limit=0", &[], None));
    conforms("POST", "/triage/sweep", &w.sweep());
    conforms("GET", "/triage/audit", &w.staff(ADMIN, "GET", "/triage/audit", &[], None));
    conforms("GET", "/triage/audit", &w.staff(&token, "GET", "/triage/audit", &[], None));
    let token_id = created.body["id"].as_str().unwrap();
    let revoked = w.staff(ADMIN, "DELETE", &format!("/triage/tokens/{token_id}"), &[], None);
    conforms("DELETE", "/triage/tokens/{token_id}", &revoked);
    w.peers.lock().unwrap().directory_down = true;
    let down = w.file(facts());
    conforms("POST", "/triage/internal/cases", &w.handover(&down));
}

#[test]
fn programme_figures_fit_openapi() {
    let w = World::new();
    w.triaged(ReportFacts { immediate_danger: true, ..facts() });
    conforms("GET", "/triage/stats", &w.staff(ADMIN, "GET", "/triage/stats", &[], None));
    conforms("GET", "/triage/stats", &w.staff(ADMIN, "GET", "/triage/stats?from=2026-13", &[], None));
    let confidant = w.token("ngb", "confidant");
    conforms("GET", "/triage/stats", &w.staff(&confidant, "GET", "/triage/stats", &[], None));
    let csv = w.staff(ADMIN, "GET", "/triage/stats", &[("accept", "text/csv")], None);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let report = w.staff(ADMIN, "GET", "/triage/stats/report", &[], None);
    assert_eq!(report.status, 200);
    assert!(report.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(report.headers["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    conforms("GET", "/triage/stats/report", &w.call("GET", "/triage/stats/report", &[], None));
    let rebuild = w.call("POST", "/triage/stats/rebuild", &[("weerbaar-internal-secret", INTERNAL)], None);
    assert_eq!(rebuild.status, 200);
    conforms("POST", "/triage/stats/rebuild", &rebuild);
    conforms("POST", "/triage/stats/rebuild", &w.staff(&confidant, "POST", "/triage/stats/rebuild", &[], None));
}
