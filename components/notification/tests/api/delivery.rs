//! The delivery promises of issue 6, pinned natively on a Spin-like store.

use crate::common::*;
use serde_json::{json, Value};
use shared::domain::{Organisation, Priority, RegionCode};
use shared::events::EventType;
use shared::kv::memory::CasMode;
use shared::time::Duration;

fn both_modes(test: impl Fn(Harness)) {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        test(Harness::with_mode(mode));
    }
}

fn message_status(h: &Harness, id: &str) -> Value {
    let (status, v) = h.admin("GET", &format!("/notification/messages/{id}"), None);
    assert_eq!(status, 200, "{v}");
    v
}

#[test]
fn p1_case_notifies_signed_within_the_event_request() {
    both_modes(|h| {
        let (_, secret) = h.subscribe(json!({}));
        let (status, v) = h.post_event(&p1(1));
        assert_eq!(status, 202, "{v}");
        assert_eq!(v["messages"][0]["first_attempt"], "delivered");
        let got = h.received();
        assert_eq!(got.len(), 1);
        assert!(got[0].verifies(&secret), "signature verifies with the subscription's secret");
        assert!(got[0].id.starts_with("msg_"));
        assert_eq!(got[0].timestamp, h.clock_now_seconds());
        let body = got[0].json();
        assert_eq!(body["type"], "case.triaged");
        assert_eq!(body["data"]["priority"], "P1");
        assert_eq!(message_status(&h, &got[0].id)["status"], "delivered");
    });
}

#[test]
fn the_same_event_twice_is_delivered_once() {
    both_modes(|h| {
        h.subscribe(json!({}));
        let event = p1(2);
        let (_, first) = h.post_event(&event);
        let (status, second) = h.post_event(&event);
        assert_eq!(status, 202);
        assert_eq!(second["duplicate"], true);
        assert_eq!(first["messages"][0]["id"], second["messages"][0]["id"]);
        h.sweep();
        assert_eq!(h.received().len(), 1);
    });
}

#[test]
fn filters_choose_type_organisation_region_and_minimum_priority() {
    let h = Harness::new();
    let (by_type, _) = h.subscribe(json!({ "event_types": ["case.escalated"] }));
    let (by_org, _) = h.subscribe(json!({ "organisations": ["nvvr"] }));
    let (by_region, _) = h.subscribe(json!({ "regions": ["VR13"] }));
    let (by_priority, _) = h.subscribe(json!({ "min_priority": "P2" }));
    let (all, _) = h.subscribe(json!({}));
    let cases = [
        (
            event(10, EventType::CaseEscalated, Some(Priority::P3), Organisation::Ngb, RegionCode::Vr01),
            vec![&by_type, &all],
        ),
        (
            event(11, EventType::CaseTriaged, Some(Priority::P4), Organisation::Nvvr, RegionCode::Vr01),
            vec![&by_org, &all],
        ),
        (
            event(12, EventType::CaseTriaged, Some(Priority::P3), Organisation::Ngb, RegionCode::Vr13),
            vec![&by_region, &all],
        ),
        (
            event(13, EventType::CaseTriaged, Some(Priority::P1), Organisation::Ngb, RegionCode::Vr01),
            vec![&by_priority, &all],
        ),
        // Not yet triaged: no priority, so a minimum-priority filter does not pass it.
        (event(14, EventType::CaseCreated, None, Organisation::Ngb, RegionCode::Vr01), vec![&all]),
    ];
    for (event, expected) in cases {
        let (_, v) = h.post_event(&event);
        let mut got: Vec<String> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| message_status(&h, m["id"].as_str().unwrap())["subscription_id"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        let mut want: Vec<String> = expected.into_iter().cloned().collect();
        want.sort();
        assert_eq!(got, want, "{}", event.event_type);
    }
}

#[test]
fn a_receiver_down_then_up_gets_one_logical_message_after_the_sweep() {
    both_modes(|h| {
        let (_, secret) = h.subscribe(json!({}));
        h.receiver_answers(Reply::Down);
        let (status, v) = h.post_event(&p1(3));
        assert_eq!(status, 202, "the event is safe although the receiver is down");
        assert_eq!(v["messages"][0]["first_attempt"], "retrying");
        // Not due yet: the sweep sends nothing.
        h.sweep();
        assert_eq!(h.received().len(), 1);
        h.advance(Duration::seconds(6));
        h.receiver_answers(Reply::Status(200));
        let (_, report) = h.sweep();
        assert_eq!(report["delivered"], 1, "{report}");
        let got = h.received();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id, got[1].id, "webhook-id is stable across retries");
        assert_eq!(got[0].body, got[1].body);
        assert!(got[1].timestamp > got[0].timestamp, "webhook-timestamp is per attempt");
        assert!(got[1].verifies(&secret));
        h.advance(Duration::hours(30));
        h.sweep();
        assert_eq!(h.received().len(), 2, "a delivered message is never sent again");
        let (_, log) = h.admin("GET", &format!("/notification/messages/{}/attempts", got[0].id), None);
        let attempts = log["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[0]["outcome"], "retrying");
        assert_eq!(attempts[0]["error"], "connection refused");
        assert_eq!(attempts[1]["status"], 200);
        assert_eq!(attempts[1]["response_body"], "ok");
    });
}

#[test]
fn gone_disables_the_subscription() {
    let h = Harness::new();
    let (id, _) = h.subscribe(json!({}));
    h.receiver_answers(Reply::Status(410));
    let (_, v) = h.post_event(&p1(4));
    assert_eq!(v["messages"][0]["first_attempt"], "failed");
    let (_, sub) = h.admin("GET", &format!("/notification/subscriptions/{id}"), None);
    assert_eq!(sub["enabled"], false);
    assert_eq!(sub["disabled_reason"], "gone");
    h.receiver_answers(Reply::Status(200));
    h.post_event(&p1(5));
    assert_eq!(h.received().len(), 1, "a disabled subscription gets nothing");
}

#[test]
fn too_many_requests_waits_as_long_as_retry_after_says() {
    let h = Harness::new();
    h.subscribe(json!({}));
    h.receiver_answers(Reply::StatusWithRetryAfter(429, "120"));
    let (_, v) = h.post_event(&p1(6));
    let id = v["messages"][0]["id"].as_str().unwrap().to_string();
    let m = message_status(&h, &id);
    assert_eq!(m["next_attempt_at"], "2026-11-28T12:02:00.000Z", "Retry-After replaces the 5 s step");
    h.receiver_answers(Reply::Status(200));
    h.advance(Duration::seconds(60));
    h.sweep();
    assert_eq!(h.received().len(), 1, "not before Retry-After");
    h.advance(Duration::seconds(61));
    h.sweep();
    assert_eq!(h.received().len(), 2);
}

#[test]
fn rotation_signs_with_both_secrets_for_a_day() {
    let h = Harness::new();
    let (id, old) = h.subscribe(json!({}));
    let (status, v) = h.admin("POST", &format!("/notification/subscriptions/{id}/rotate-secret"), None);
    assert_eq!(status, 200, "{v}");
    let new = notification::core::signing::SigningSecret::parse(v["secret"].as_str().unwrap()).unwrap();
    h.post_event(&p1(7));
    let got = h.received();
    assert_eq!(got[0].signature.split(' ').count(), 2);
    assert!(got[0].verifies(&old) && got[0].verifies(&new));
    h.advance(Duration::hours(24) + Duration::seconds(1));
    h.post_event(&p1(8));
    let got = h.received();
    assert_eq!(got[1].signature.split(' ').count(), 1);
    assert!(got[1].verifies(&new) && !got[1].verifies(&old));
}

#[test]
fn concurrent_sweeps_never_send_the_same_attempt_twice() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        h.subscribe(json!({}));
        h.subscribe(json!({}));
        h.receiver_answers(Reply::Down);
        for seed in 0..10 {
            h.post_event(&p1(100 + seed));
        }
        assert_eq!(h.received().len(), 20);
        h.advance(Duration::seconds(10));
        {
            let mut s = h.script.lock().unwrap();
            s.otherwise = Some(Reply::Status(200));
            s.delay_ms = 5;
        }
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| h.sweep());
            }
        });
        let got = h.received();
        assert_eq!(got.len(), 40, "{mode:?}: each of 20 messages retried exactly once");
        let mut ids: Vec<&str> = got[20..].iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 20, "{mode:?}");
    }
}

#[test]
fn exhausted_retries_fail_and_a_recovery_window_brings_them_back() {
    let h = Harness::new();
    let (sub, _) = h.subscribe(json!({}));
    h.receiver_answers(Reply::Status(500));
    let (_, v) = h.post_event(&p1(9));
    let id = v["messages"][0]["id"].as_str().unwrap().to_string();
    // An hourly sweep: all ten attempts fit in well under the five days that would
    // disable the endpoint.
    for _ in 0..100 {
        h.advance(Duration::hours(1));
        h.sweep();
    }
    let m = message_status(&h, &id);
    assert_eq!(m["status"], "failed");
    assert_eq!(m["attempts"], 10, "the first attempt and nine retries");
    let (_, list) = h.admin("GET", &format!("/notification/subscriptions/{sub}/messages?status=failed"), None);
    assert_eq!(list["messages"].as_array().unwrap().len(), 1);

    let (_, s) = h.admin("GET", &format!("/notification/subscriptions/{sub}"), None);
    assert_eq!(s["enabled"], true, "{s}");
    h.receiver_answers(Reply::Status(200));
    let (status, r) = h.admin(
        "POST",
        &format!("/notification/subscriptions/{sub}/recover"),
        Some(&json!({ "since": "2026-11-28T00:00:00Z" })),
    );
    assert_eq!(status, 202, "{r}");
    assert_eq!(r["recovered"], 1);
    h.sweep();
    assert_eq!(message_status(&h, &id)["status"], "delivered");
}

#[test]
fn an_endpoint_failing_for_five_days_is_disabled_and_operators_are_told() {
    let h = Harness::new();
    let (failing, _) = h.subscribe(json!({ "url": "http://127.0.0.1:9999/failing" }));
    let (_operator, _) = h.subscribe(
        json!({ "url": "http://127.0.0.1:9999/operator", "event_types": ["case.closed"], "operator_events": true }),
    );
    {
        let mut s = h.script.lock().unwrap();
        s.otherwise = Some(Reply::Status(503));
    }
    h.post_event(&p1(20));
    for day in 0..6 {
        h.advance(Duration::hours(24));
        h.post_event(&p1(21 + day));
        h.sweep();
    }
    let (_, s) = h.admin("GET", &format!("/notification/subscriptions/{failing}"), None);
    assert_eq!(s["enabled"], false);
    assert_eq!(s["disabled_reason"], "failing");
    h.receiver_answers(Reply::Status(200));
    h.sweep();
    let operator_events: Vec<Received> = h.received().into_iter().filter(|r| r.url.ends_with("/operator")).collect();
    let mut ids: Vec<&str> = operator_events.iter().map(|r| r.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "one operator event: {operator_events:?}");
    let body = operator_events.last().unwrap().json();
    assert_eq!(body["type"], "operator.endpoint_disabled");
    assert_eq!(body["data"]["subscription_id"], failing.as_str());
}

#[test]
fn resend_sends_a_delivered_message_again_with_the_same_id() {
    let h = Harness::new();
    h.subscribe(json!({}));
    let (_, v) = h.post_event(&p1(30));
    let id = v["messages"][0]["id"].as_str().unwrap().to_string();
    let (status, r) = h.admin("POST", &format!("/notification/messages/{id}/resend"), None);
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["attempt"]["outcome"], "delivered");
    let got = h.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, got[1].id);
}

#[test]
fn ping_sends_a_signed_test_webhook() {
    let h = Harness::new();
    let (id, secret) = h.subscribe(json!({}));
    let (status, v) = h.admin("POST", &format!("/notification/subscriptions/{id}/ping"), None);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["delivered"], true);
    let got = h.received();
    assert!(got[0].verifies(&secret));
    assert_eq!(got[0].json()["type"], "webhook.ping");
}

/// A receiver answering 200 KB: invalid UTF-8 (each byte shown as a three-byte U+FFFD)
/// and multi-byte characters straddling the cut.
fn a_large_answer() -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < 200 * 1024 {
        body.extend_from_slice(b"\xff\xfe");
        body.extend_from_slice("é€😀".as_bytes());
        body.push(b'x');
    }
    body
}

#[test]
fn the_logged_part_of_an_answer_is_at_most_the_documented_bytes() {
    use notification::core::delivery::{logged_body, LOGGED_BODY_BYTES};
    assert_eq!(logged_body(b"ok"), "ok");
    assert_eq!(logged_body(&[b'a'; 5000]).len(), LOGGED_BODY_BYTES);
    let invalid = logged_body(&[0xff; 5000]);
    assert!(invalid.len() <= LOGGED_BODY_BYTES && invalid.chars().all(|c| c == '\u{fffd}'), "{}", invalid.len());
    for shift in 0..4 {
        let mut body = vec![b'a'; shift];
        body.extend(a_large_answer());
        assert!(logged_body(&body).len() <= LOGGED_BODY_BYTES);
    }
}

#[test]
fn ping_and_attempt_logs_keep_at_most_the_documented_bytes_of_a_large_answer() {
    use notification::core::delivery::LOGGED_BODY_BYTES;
    both_modes(|h| {
        let (sub, _) = h.subscribe(json!({}));
        h.receiver_answers(Reply::Body(200, a_large_answer()));
        let (status, v) = h.admin("POST", &format!("/notification/subscriptions/{sub}/ping"), None);
        assert_eq!(status, 200, "{v}");
        let kept = v["response_body"].as_str().unwrap();
        assert!(!kept.is_empty() && kept.len() <= LOGGED_BODY_BYTES, "ping kept {} bytes", kept.len());

        h.receiver_answers(Reply::Body(500, a_large_answer()));
        let (_, e) = h.post_event(&p1(50));
        let id = e["messages"][0]["id"].as_str().unwrap().to_string();
        h.advance(Duration::minutes(10));
        h.sweep();
        let (status, a) = h.admin("GET", &format!("/notification/messages/{id}/attempts"), None);
        assert_eq!(status, 200, "{a}");
        let attempts = a["attempts"].as_array().unwrap();
        assert!(attempts.len() >= 2, "{a}");
        for attempt in attempts {
            let kept = attempt["response_body"].as_str().unwrap();
            assert!(!kept.is_empty() && kept.len() <= LOGGED_BODY_BYTES, "attempt kept {} bytes", kept.len());
        }
        // Nothing in the store holds more of the answer than that either.
        let full = String::from_utf8_lossy(&a_large_answer()).into_owned();
        let mut end = LOGGED_BODY_BYTES + 8;
        while !full.is_char_boundary(end) {
            end += 1;
        }
        let marker = &full[..end];
        for (key, value) in h.store.dump() {
            assert!(!String::from_utf8_lossy(&value).contains(marker), "{key} holds more of the answer");
        }
    });
}

#[test]
fn the_sweep_head_waits_for_a_slot_being_written_then_moves_on() {
    use shared::kv::KeyValue;
    let h = Harness::new();
    h.subscribe(json!({}));
    h.post_event(&p1(40));
    // A request reserved outbox slot 2 and has not written it (yet, or ever).
    h.store.increment("ntf/outbox/n", 1).unwrap();
    h.receiver_answers(Reply::Down);
    h.post_event(&p1(41));
    let (_, report) = h.sweep();
    assert_eq!(report["head"], 2, "the empty slot holds the head: {report}");
    h.receiver_answers(Reply::Status(200));
    h.advance(Duration::seconds(10));
    let (_, report) = h.sweep();
    assert_eq!(report["delivered"], 1, "work past the empty slot is still found: {report}");
    h.advance(Duration::minutes(11));
    let (_, report) = h.sweep();
    assert_eq!(report["head"], 4, "after the grace the dead slot is passed: {report}");
}

#[test]
fn first_attempts_past_the_budget_are_sent_right_after_the_answer_under_the_requests_lease() {
    both_modes(|mut h| {
        // A 4 s attempt never fits the 4 s budget once any time has passed.
        h.vars.set("webhook_first_attempt_timeout_ms", "4000");
        h.subscribe(json!({}));
        h.subscribe(json!({}));
        let (status, v) = h.post_event(&p1(40));
        assert_eq!(status, 202, "{v}");
        for m in v["messages"].as_array().unwrap() {
            assert_eq!(m["first_attempt"], "queued", "{v}");
        }
        // The answer went out first; the sends followed in the same request.
        let got = h.received();
        assert_eq!(got.len(), 2);
        for m in v["messages"].as_array().unwrap() {
            let id = m["id"].as_str().unwrap();
            assert!(got.iter().any(|g| g.id == id));
            let view = message_status(&h, id);
            assert_eq!(view["status"], "delivered", "{view}");
            assert_eq!(view["attempts"], 1, "{view}");
        }
        // Settled: a sweep finds nothing to send again.
        h.advance(Duration::minutes(5));
        h.sweep();
        assert_eq!(h.received().len(), 2);
    });
}

#[test]
fn a_message_created_leased_is_sent_by_the_sweep_once_the_lease_ran_out() {
    both_modes(|h| {
        h.subscribe(json!({}));
        h.receiver_answers(Reply::Down);
        let (_, v) = h.post_event(&p1(41));
        let id = v["messages"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(v["messages"][0]["first_attempt"], "retrying");
        // The first attempt was settled after the answer: the retry is scheduled and
        // the request's lease released, so the sweep may send at the retry time.
        let view = message_status(&h, &id);
        assert_eq!(view["attempts"], 1, "{view}");
        h.receiver_answers(Reply::Status(204));
        h.advance(Duration::seconds(10));
        let (_, report) = h.sweep();
        assert_eq!(report["delivered"], 1, "{report}");
        let got = h.received();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id, got[1].id, "the same webhook-id on every attempt");
        let (_, log) = h.admin("GET", &format!("/notification/messages/{id}/attempts"), None);
        let attempts = log["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2, "{log}");
        assert_eq!((attempts[0]["attempt"].as_u64(), attempts[1]["attempt"].as_u64()), (Some(1), Some(2)));
        assert_eq!(attempts[0]["trigger"], "first");
        assert_eq!(attempts[1]["trigger"], "retry");
    });
}
