//! The batch endpoint (issue 16): a change's events in one request, each deduplicated and
//! durable as if posted alone, first attempts in the batch's order; and an event nobody
//! hears writes nothing.

use crate::common::*;
use serde_json::{json, Value};
use shared::events::{CaseEvent, EventType};
use shared::id::EventId;
use shared::kv::memory::CasMode;
use shared::random::SeededRandom;

const BATCH: &str = "/notification/internal/events/batch";

/// `case.created` and `case.triaged` of one new case, as triage emits them.
fn new_case(seed: u64) -> Vec<CaseEvent> {
    let triaged = p1(seed);
    let mut created = triaged.clone();
    created.event_type = EventType::CaseCreated;
    created.id = EventId::generate(&SeededRandom::new(seed + 10_000));
    vec![created, triaged]
}

fn post_batch(h: &Harness, body: &Value) -> (u16, Value) {
    h.call("POST", BATCH, &[("weerbaar-internal-secret", INTERNAL)], Some(body))
}

fn batch(events: &[CaseEvent]) -> Value {
    json!({ "events": events })
}

#[test]
fn a_changes_events_are_delivered_in_order_each_once() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        h.subscribe(json!({}));
        let events = new_case(1);
        let (status, v) = post_batch(&h, &batch(&events));
        assert_eq!(status, 202, "{mode:?}: {v}");
        let answers = v["events"].as_array().unwrap();
        assert_eq!(answers.len(), 2);
        for (answer, event) in answers.iter().zip(&events) {
            assert_eq!(answer["event_id"], event.id.as_str(), "{mode:?}: answers in the batch's order");
            assert_eq!(answer["duplicate"], false);
            assert_eq!(answer["messages"][0]["first_attempt"], "delivered", "{mode:?}: {v}");
        }
        let types: Vec<String> = h.received().iter().map(|r| r.json()["type"].as_str().unwrap().to_string()).collect();
        assert_eq!(types, vec!["case.created", "case.triaged"], "{mode:?}: the change's order");

        // The same batch again (a retry), and one of its events alone: duplicates.
        let (status, again) = post_batch(&h, &batch(&events));
        assert_eq!(status, 202);
        assert!(again["events"].as_array().unwrap().iter().all(|e| e["duplicate"] == true), "{again}");
        assert_eq!(h.post_event(&events[1]).1["duplicate"], true);
        h.advance(shared::time::Duration::minutes(2));
        h.sweep();
        assert_eq!(h.received().len(), 2, "{mode:?}: each event delivered once");
    }
}

#[test]
fn a_batch_whose_write_failed_is_retried_whole_and_delivered_once() {
    let h = Harness::new();
    h.subscribe(json!({}));
    let events = new_case(2);
    h.store.fail_writes(true);
    let (status, v) = post_batch(&h, &batch(&events));
    assert_eq!(status, 503, "{v}");
    assert!(h.received().is_empty(), "nothing is sent that is not durable");
    h.store.fail_writes(false);
    let (status, v) = post_batch(&h, &batch(&events));
    assert_eq!(status, 202, "{v}");
    assert_eq!(h.received().len(), 2);
}

/// A batch retried after its first event was accepted before (the failed try wrote
/// it, then failed on the second): the first is a duplicate, written once and left to
/// the sweep, the second is written and sent; neither is lost nor delivered twice.
#[test]
fn a_batch_retried_after_its_first_event_was_accepted_loses_nothing() {
    let h = Harness::new();
    h.subscribe(json!({}));
    let events = new_case(3);
    h.receiver_answers(Reply::Down);
    assert_eq!(h.post_event(&events[0]).0, 202);
    h.receiver_answers(Reply::Status(204));
    let (status, v) = post_batch(&h, &batch(&events));
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["events"][0]["duplicate"], true);
    assert_eq!(v["events"][1]["duplicate"], false);
    h.advance(shared::time::Duration::minutes(10));
    h.sweep();
    h.advance(shared::time::Duration::minutes(10));
    h.sweep();
    // The receiver saw the failed first try of case.created too: one message each.
    let logical: std::collections::BTreeSet<(String, String)> =
        h.received().iter().map(|r| (r.id.clone(), r.json()["type"].as_str().unwrap().to_string())).collect();
    let mut types: Vec<String> = logical.into_iter().map(|(_, t)| t).collect();
    types.sort();
    assert_eq!(types, vec!["case.created", "case.triaged"], "each one message");
}

#[test]
fn bad_batches_are_refused_naming_the_field_and_write_nothing() {
    let h = Harness::new();
    h.subscribe(json!({}));
    let before = h.store.dump();
    let (status, v) = post_batch(&h, &json!({ "events": [] }));
    assert_eq!((status, v["field"].as_str()), (422, Some("/events")), "{v}");
    let many: Vec<CaseEvent> = (0..17).map(p1).collect();
    let (status, v) = post_batch(&h, &batch(&many));
    assert_eq!((status, v["field"].as_str()), (422, Some("/events")), "{v}");
    let mut events = new_case(4);
    events[1].data.api_link = "https://elsewhere.example/".into();
    let (status, v) = post_batch(&h, &batch(&events));
    assert_eq!((status, v["field"].as_str()), (422, Some("/events/1/data/api_link")), "{v}");
    let mut body = batch(&new_case(5));
    body["events"][1]["data"]["reporter_name"] = json!("Jan Jansen");
    let (status, v) = post_batch(&h, &body);
    assert_eq!((status, v["field"].as_str()), (422, Some("/events/1/data/reporter_name")), "{v}");
    let (status, _) = h.call("POST", BATCH, &[], Some(&batch(&new_case(6))));
    assert_eq!(status, 401);
    assert_eq!(h.store.dump(), before, "nothing written");
    assert!(h.received().is_empty());
}

/// An event no subscription wants writes nothing: no claim, no record, no retention
/// entry (there is nothing to deliver, once or twice); a repeat again nothing.
#[test]
fn an_event_nobody_hears_writes_nothing() {
    let h = Harness::new();
    h.subscribe(json!({ "event_types": ["case.triaged"] }));
    let before = h.store.dump();
    let events = new_case(7);
    for _ in 0..2 {
        let (status, v) = h.post_event(&events[0]);
        assert_eq!(status, 202, "{v}");
        assert_eq!(v["messages"], json!([]));
    }
    assert_eq!(h.store.dump(), before, "nothing written for case.created");
    let (status, v) = post_batch(&h, &batch(&events));
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["events"][0]["messages"], json!([]));
    let types: Vec<String> = h.received().iter().map(|r| r.json()["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types, vec!["case.triaged"]);
}

/// An event's message is listed after its first send. An instance that died between
/// the listing and the outcome's record leaves an entry the message does not name, and
/// the next sender lists it again: the list still shows it once.
#[test]
fn a_stray_list_entry_does_not_show_a_message_twice() {
    let h = Harness::new();
    let (sub, _) = h.subscribe(json!({}));
    let (status, v) = h.post_event(&p1(8));
    assert_eq!(status, 202, "{v}");
    let msg = v["messages"][0]["id"].as_str().unwrap().to_string();
    let list = format!("/notification/subscriptions/{sub}/messages");
    // Read a page at a time (one message a page): every page, not just one.
    let ids = |h: &Harness| -> Vec<String> {
        let mut seen = Vec::new();
        let mut query = "?limit=1".to_string();
        loop {
            let (status, page) = h.admin("GET", &format!("{list}{query}"), None);
            assert_eq!(status, 200, "{page}");
            seen.extend(page["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()));
            match page["next_cursor"].as_str() {
                Some(cursor) => query = format!("?limit=1&cursor={cursor}"),
                None => return seen,
            }
        }
    };
    assert_eq!(ids(&h), vec![msg.clone()], "listed after its first attempt");
    let sub_id: shared::id::SubscriptionId = serde_json::from_value(json!(sub)).unwrap();
    let msg_id: shared::id::MessageId = serde_json::from_value(json!(msg)).unwrap();
    let now = shared::time::Timestamp::parse("2026-11-28T12:00:00Z").unwrap();
    notification::core::outbox::list_message(&*h.store, &sub_id, &msg_id, now).unwrap();
    assert_eq!(ids(&h), vec![msg], "shown once, where the message says");
}
