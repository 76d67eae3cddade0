//! The route table and openapi.yaml agree, and every answer fits its documented schema.

use crate::common::*;
use notification::routes::ROUTES;
use serde_json::json;
use shared::contract::{assert_routes_documented, validate_response};

#[test]
fn every_route_is_documented_and_nothing_else() {
    assert_routes_documented(ROUTES, "/notification/");
}

/// Calls an endpoint as admin and checks the answer against the spec.
fn check(h: &Harness, method: &str, template: &str, path: &str, body: Option<&serde_json::Value>) -> serde_json::Value {
    let auth = format!("Bearer {ADMIN}");
    let (status, raw) =
        h.call_raw(method, path, &[("authorization", &auth), ("weerbaar-internal-secret", INTERNAL)], body);
    validate_response(method, template, status, &raw)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", String::from_utf8_lossy(&raw)));
    serde_json::from_slice(&raw).unwrap_or_default()
}

#[test]
fn every_answer_fits_openapi() {
    let h = Harness::new();
    check(&h, "GET", "/notification/health", "/notification/health", None);
    let created = check(
        &h,
        "POST",
        "/notification/subscriptions",
        "/notification/subscriptions",
        Some(&json!({ "url": HOOK, "min_priority": "P2" })),
    );
    let id = created["id"].as_str().unwrap().to_string();
    let sub = format!("/notification/subscriptions/{id}");
    check(&h, "GET", "/notification/subscriptions", "/notification/subscriptions", None);
    check(&h, "GET", "/notification/subscriptions/{subscription_id}", &sub, None);
    let accepted = check(
        &h,
        "POST",
        "/notification/internal/events",
        "/notification/internal/events",
        Some(&serde_json::to_value(p1(1)).unwrap()),
    );
    let msg = accepted["messages"][0]["id"].as_str().unwrap().to_string();
    check(
        &h,
        "POST",
        "/notification/internal/events/batch",
        "/notification/internal/events/batch",
        Some(&json!({ "events": [p1(2), p1(3)] })),
    );
    check(&h, "POST", "/notification/sweep", "/notification/sweep", None);
    check(
        &h,
        "POST",
        "/notification/subscriptions/{subscription_id}/rotate-secret",
        &format!("{sub}/rotate-secret"),
        None,
    );
    check(&h, "GET", "/notification/subscriptions/{subscription_id}", &sub, None);
    check(&h, "POST", "/notification/subscriptions/{subscription_id}/ping", &format!("{sub}/ping"), None);
    check(
        &h,
        "GET",
        "/notification/subscriptions/{subscription_id}/messages",
        &format!("{sub}/messages?limit=10"),
        None,
    );
    check(&h, "GET", "/notification/messages/{message_id}", &format!("/notification/messages/{msg}"), None);
    check(
        &h,
        "GET",
        "/notification/messages/{message_id}/attempts",
        &format!("/notification/messages/{msg}/attempts"),
        None,
    );
    check(
        &h,
        "POST",
        "/notification/messages/{message_id}/resend",
        &format!("/notification/messages/{msg}/resend"),
        None,
    );
    check(
        &h,
        "POST",
        "/notification/subscriptions/{subscription_id}/recover",
        &format!("{sub}/recover"),
        Some(&json!({ "since": "2026-11-28T00:00:00Z" })),
    );
    // Problems fit too.
    check(
        &h,
        "POST",
        "/notification/subscriptions",
        "/notification/subscriptions",
        Some(&json!({ "url": "http://example.org/" })),
    );
    check(&h, "PATCH", "/notification/subscriptions/{subscription_id}", &sub, Some(&json!({ "enabled": false })));
    check(
        &h,
        "GET",
        "/notification/messages/{message_id}",
        "/notification/messages/msg_00000000000000000000000000",
        None,
    );
    check(&h, "DELETE", "/notification/subscriptions/{subscription_id}", &sub, None);
}

/// The message list pages like every listing: `cursor` in, `next_cursor` out, newest
/// first, no message twice, and a cursor we did not send is refused naming it.
#[test]
fn messages_page_with_cursor_and_next_cursor() {
    let h = Harness::new();
    let (id, _) = h.subscribe(json!({}));
    let mut sent = Vec::new();
    for seed in 1..=3 {
        let (status, accepted) = h.post_event(&p1(seed));
        assert_eq!(status, 202, "{accepted}");
        sent.push(accepted["messages"][0]["id"].as_str().unwrap().to_string());
    }
    let list = format!("/notification/subscriptions/{id}/messages");
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    loop {
        let (status, page) = h.admin("GET", &format!("{list}{query}"), None);
        assert_eq!(status, 200, "{page}");
        seen.extend(page["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    sent.reverse();
    assert_eq!(seen, sent, "newest first, each once");
    for bad in ["?cursor=soon", "?cursor=0", "?before=2"] {
        let (status, problem) = h.admin("GET", &format!("{list}{bad}"), None);
        assert_eq!((status, problem["field"].as_str()), (400, Some(bad[1..].split('=').next().unwrap())), "{bad}");
    }
}
