//! Retention: finished messages, their attempt logs, list entries and event data are
//! purged `notification_retention_days` after they finished; pending ones are kept.

use crate::common::*;
use serde_json::json;
use shared::domain::{Organisation, Priority, RegionCode};
use shared::events::EventType;
use shared::kv::memory::CasMode;
use shared::time::Duration;

/// Keys of the store whose key or value mentions `needle`.
fn traces(h: &Harness, needle: &str) -> Vec<String> {
    h.store
        .dump()
        .into_iter()
        .filter(|(k, v)| k.contains(needle) || String::from_utf8_lossy(v).contains(needle))
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn finished_messages_and_their_event_data_are_purged_after_the_retention() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        h.subscribe(json!({}));
        let delivered = p1(1);
        assert_eq!(h.post_event(&delivered).0, 202);
        h.receiver_answers(Reply::Status(410));
        let failed = p1(2);
        assert_eq!(h.post_event(&failed).0, 202, "410: failed at once, subscription disabled");
        let (sub, _) = h.subscribe(json!({}));
        h.receiver_answers(Reply::Down);
        let pending = p1(3);
        let (_, v) = h.post_event(&pending);
        let pending_msg = v["messages"][0]["id"].as_str().unwrap().to_string();
        let case = |e: &shared::events::CaseEvent| e.data.case_reference.as_str().to_string();

        h.advance(Duration::days(29));
        let (_, report) = h.sweep();
        assert_eq!(report["purged_messages"], 0, "{mode:?}: {report}");
        assert!(!traces(&h, &case(&delivered)).is_empty());

        h.advance(Duration::days(2));
        let (status, report) = h.sweep();
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["purged_messages"], 2, "{mode:?}: {report}");
        assert_eq!(report["purged_events"], 2, "{mode:?}: {report}");
        for gone in [&delivered, &failed] {
            assert_eq!(traces(&h, &case(gone)), Vec::<String>::new(), "{mode:?}: the case is gone");
            assert_eq!(traces(&h, gone.id.as_str()), Vec::<String>::new(), "{mode:?}: the event is gone");
        }
        assert!(traces(&h, &case(&pending)).iter().any(|k| k.contains(&pending_msg)), "{mode:?}: pending is kept");
        let (status, _) = h.admin("GET", &format!("/notification/subscriptions/{sub}/messages"), None);
        assert_eq!(status, 200);
        assert_eq!(h.sweep().1["purged_messages"], 0, "{mode:?}: purged once");
    }
}

#[test]
fn a_resent_message_is_kept_for_the_retention_after_its_new_finish() {
    let h = Harness::new();
    h.subscribe(json!({}));
    let event = p1(7);
    let (_, v) = h.post_event(&event);
    let msg = v["messages"][0]["id"].as_str().unwrap().to_string();
    h.advance(Duration::days(20));
    let (status, _) = h.admin("POST", &format!("/notification/messages/{msg}/resend"), None);
    assert_eq!(status, 200);
    h.advance(Duration::days(11));
    let (_, report) = h.sweep();
    assert_eq!(report["purged_messages"], 0, "the first finish's entry is stale: {report}");
    assert_eq!(h.admin("GET", &format!("/notification/messages/{msg}"), None).0, 200);
    h.advance(Duration::days(20));
    assert_eq!(h.sweep().1["purged_messages"], 1);
    assert!(traces(&h, &msg).is_empty(), "{:?}", traces(&h, &msg));
    assert!(traces(&h, event.data.case_reference.as_str()).is_empty());
}

#[test]
fn an_event_no_subscription_wanted_is_forgotten_too() {
    let h = Harness::new();
    h.subscribe(json!({ "organisations": ["bzk"] }));
    // Nobody hears it: nothing of it is written at all, so nothing waits for a purge.
    let unheard = event(9, EventType::CaseTriaged, Some(Priority::P2), Organisation::Ngb, RegionCode::Vr09);
    assert_eq!(h.post_event(&unheard).0, 202);
    assert!(traces(&h, unheard.id.as_str()).is_empty());
    // One claimed by an earlier try (that meant to write messages) is written with its
    // record, and the record and claim are purged after the retention.
    let claimed = event(10, EventType::CaseTriaged, Some(Priority::P2), Organisation::Ngb, RegionCode::Vr09);
    use shared::kv::KeyValue;
    h.store.increment(&format!("ntf/evt/{}/claim", claimed.id), 1).unwrap();
    assert_eq!(h.post_event(&claimed).0, 202);
    assert!(!traces(&h, claimed.id.as_str()).is_empty());
    h.advance(Duration::days(31));
    assert_eq!(h.sweep().1["purged_events"], 1);
    assert!(traces(&h, claimed.id.as_str()).is_empty());
    assert!(traces(&h, unheard.id.as_str()).is_empty());
}

#[test]
fn the_retention_may_not_exceed_the_case_retention() {
    let mut h = Harness::new();
    h.vars.set("notification_retention_days", "400");
    let (status, body) = h.sweep();
    assert_eq!((status, body["type"].as_str()), (503, Some("urn:weerbaar:problem:misconfigured")));
    assert!(body["detail"].as_str().unwrap().contains("notification_retention_days"), "{body}");
    h.vars.set("case_retention_days", "500");
    assert_eq!(h.sweep().0, 200);
    h.vars.set("notification_retention_days", "7");
    h.subscribe(json!({}));
    assert_eq!(h.post_event(&p1(4)).0, 202);
    h.advance(Duration::days(8));
    assert_eq!(h.sweep().1["purged_messages"], 1);
}

#[test]
fn a_message_finished_soon_is_purged_in_outbox_order_and_one_finished_late_by_its_own_entry() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        h.subscribe(json!({}));
        h.receiver_answers(Reply::Status(503));
        let (_, soon) = h.post_event(&p1(50));
        let soon = soon["messages"][0]["id"].as_str().unwrap().to_string();
        let (_, late) = h.post_event(&p1(51));
        let late = late["messages"][0]["id"].as_str().unwrap().to_string();
        // `soon` is delivered on its 5 s retry; `late` fails that one too.
        h.advance(Duration::seconds(10));
        h.receiver_answers(Reply::Status(503));
        h.script.lock().unwrap().queue.push_back(Reply::Status(204));
        h.sweep();
        assert_eq!(h.admin("GET", &format!("/notification/messages/{soon}"), None).1["status"], "delivered");
        // `late` is delivered on its next retry, about 5 minutes on... then 2 hours on.
        h.advance(Duration::minutes(6));
        h.sweep();
        h.receiver_answers(Reply::Status(204));
        h.advance(Duration::minutes(40));
        h.sweep();
        let view = h.admin("GET", &format!("/notification/messages/{late}"), None).1;
        assert_eq!(view["status"], "delivered", "{mode:?}: {view}");

        h.advance(Duration::days(30) - Duration::minutes(47));
        let (_, report) = h.sweep();
        assert_eq!(report["purged_messages"], 0, "{mode:?}: nothing before its time: {report}");
        h.advance(Duration::minutes(2));
        let (_, report) = h.sweep();
        assert_eq!(report["purged_messages"], 1, "{mode:?}: the one finished soon: {report}");
        assert!(traces(&h, &soon).is_empty(), "{mode:?}: {:?}", traces(&h, &soon));
        assert!(!traces(&h, &late).is_empty(), "{mode:?}: the late one is kept");
        h.advance(Duration::minutes(45));
        let (_, report) = h.sweep();
        assert_eq!(report["purged_messages"], 1, "{mode:?}: the late one, by its entry: {report}");
        assert!(traces(&h, &late).is_empty(), "{mode:?}: {:?}", traces(&h, &late));
    }
}
