//! Bad input gets a problem naming the field, the right status, and writes nothing.

use crate::common::*;
use serde_json::{json, Value};

fn refused(h: &Harness, path: &str, body: Value, status: u16, field: &str) {
    let before = h.store.dump();
    let (got, v) = h.admin("POST", path, Some(&body));
    assert_eq!(got, status, "{body}: {v}");
    assert_eq!(v["field"], field, "{body}: {v}");
    assert_eq!(h.store.dump(), before, "{body}: nothing written");
}

#[test]
fn bad_subscriptions_are_refused_with_the_field_and_nothing_is_written() {
    let h = Harness::new();
    let path = "/notification/subscriptions";
    refused(&h, path, json!({ "url": "http://hooks.example.org/" }), 422, "/url");
    refused(&h, path, json!({ "url": "https://user:pw@hooks.example.org/" }), 422, "/url");
    refused(&h, path, json!({ "url": "https://169.254.169.254/" }), 422, "/url");
    refused(&h, path, json!({ "url": "https://triage.spin.internal/" }), 422, "/url");
    refused(&h, path, json!({ "url": HOOK, "event_types": ["case.deleted"] }), 422, "/event_types/0");
    refused(&h, path, json!({ "url": HOOK, "regions": ["VR26"] }), 422, "/regions/0");
    refused(&h, path, json!({ "url": HOOK, "min_priority": "P0" }), 422, "/min_priority");
    refused(&h, path, json!({ "url": HOOK, "secret": "whsec_mine" }), 422, "/secret");
    refused(&h, path, json!({ "url": HOOK, "description": "x".repeat(501) }), 422, "/description");
    refused(&h, path, json!({}), 422, "/url");
}

#[test]
fn bad_events_are_refused_and_need_the_internal_secret() {
    let h = Harness::new();
    h.subscribe(json!({}));
    let before = h.store.dump();
    let mut event = serde_json::to_value(p1(1)).unwrap();
    event["data"]["reporter_name"] = json!("Jan Jansen");
    let (status, v) =
        h.call("POST", "/notification/internal/events", &[("weerbaar-internal-secret", INTERNAL)], Some(&event));
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["field"], "/data/reporter_name");
    let (status, _) = h.call(
        "POST",
        "/notification/internal/events",
        &[("weerbaar-internal-secret", "wrong")],
        Some(&serde_json::to_value(p1(1)).unwrap()),
    );
    assert_eq!(status, 401);
    let (status, _) = h.call("POST", "/notification/internal/events", &[], Some(&serde_json::to_value(p1(1)).unwrap()));
    assert_eq!(status, 401);
    assert_eq!(h.store.dump(), before);
    assert!(h.received().is_empty());
}

#[test]
fn admin_endpoints_need_an_admin_and_the_sweep_accepts_either_credential() {
    let h = Harness::new();
    assert_eq!(h.call("GET", "/notification/subscriptions", &[], None).0, 401);
    assert_eq!(h.call("GET", "/notification/subscriptions", &[("authorization", "Bearer nope")], None).0, 401);
    assert_eq!(h.call("POST", "/notification/sweep", &[], None).0, 401);
    assert_eq!(h.admin("POST", "/notification/sweep", None).0, 200);
    assert_eq!(h.sweep().0, 200);
}

#[test]
fn a_failed_outbox_write_answers_503_and_the_retried_event_is_still_delivered() {
    let h = Harness::new();
    h.subscribe(json!({}));
    let event = p1(2);
    h.store.fail_writes(true);
    let (status, v) = h.post_event(&event);
    assert_eq!(status, 503, "{v}");
    assert!(h.received().is_empty(), "nothing is sent that is not durable");
    h.store.fail_writes(false);
    // The caller (triage) retries; the dedup claim of the failed try must not swallow it.
    let (status, v) = h.post_event(&event);
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["duplicate"], false);
    assert_eq!(h.received().len(), 1);
}

#[test]
fn updates_need_the_current_etag() {
    let h = Harness::new();
    let (id, _) = h.subscribe(json!({}));
    let path = format!("/notification/subscriptions/{id}");
    let auth = format!("Bearer {ADMIN}");
    let (status, _) = h.call("PATCH", &path, &[("authorization", &auth)], Some(&json!({ "enabled": false })));
    assert_eq!(status, 428);
    let (status, _) =
        h.call("PATCH", &path, &[("authorization", &auth), ("if-match", "\"9\"")], Some(&json!({ "enabled": false })));
    assert_eq!(status, 412);
    let etag = h.etag(&path);
    let (status, v) = h.call(
        "PATCH",
        &path,
        &[("authorization", &auth), ("if-match", &etag)],
        Some(&json!({ "enabled": false, "min_priority": null })),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["enabled"], false);
    assert_eq!(v["disabled_reason"], "admin");
}

#[test]
fn an_event_claimed_by_a_request_that_died_before_writing_is_still_delivered() {
    let h = Harness::new();
    h.subscribe(json!({}));
    let event = p1(3);
    // A first request won the dedup claim, then its outbox write never happened.
    use shared::kv::KeyValue;
    h.store.increment(&format!("ntf/evt/{}/claim", event.id), 1).unwrap();
    let (status, v) = h.post_event(&event);
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["duplicate"], false);
    assert_eq!(h.received().len(), 1);
    let (_, again) = h.post_event(&event);
    assert_eq!(again["duplicate"], true);
    assert_eq!(h.received().len(), 1);
}
