//! Store writes per event and per swept message (issue 16): printed, not asserted as
//! figures (`--nocapture`). Each write is one commit on Spin's SQLite store; quota
//! writes count every key a batch writes. Run:
//! `cargo test -p notification --test api store_ops:: -- --nocapture`.

use crate::common::*;
use serde_json::json;
use shared::domain::{Organisation, Priority, RegionCode};
use shared::events::EventType;
use shared::time::Duration;

fn commits(ops: &[Op]) -> usize {
    ops.iter().filter(|o| o.kind != "send").count()
}

fn quota(ops: &[Op]) -> usize {
    ops.iter().map(|o| o.quota_writes).sum()
}

fn show(label: &str, ops: &[Op]) {
    let before_send = ops.iter().position(|o| o.kind == "send").unwrap_or(ops.len());
    println!(
        "{label}: {} commits, {} quota writes in all; before the webhook: {} commits, {} quota writes",
        commits(ops),
        quota(ops),
        commits(&ops[..before_send]),
        quota(&ops[..before_send]),
    );
    for o in ops {
        println!("    {:<12} {:<50} {}", o.kind, o.key, o.quota_writes);
    }
}

#[test]
fn store_writes_of_one_event_and_of_a_sweep() {
    let h = Harness::new();
    h.subscribe(json!({ "event_types": ["case.triaged"], "min_priority": "P1" }));

    h.record(true);
    let unheard = event(1, EventType::CaseCreated, None, Organisation::Ngb, RegionCode::Vr09);
    assert_eq!(h.post_event(&unheard).0, 202);
    let ops = h.take_ops();
    show("event nobody hears (case.created)", &ops);
    assert!(!ops.iter().any(|o| o.kind == "send"));

    let (status, v) = h.post_event(&p1(2));
    assert_eq!(status, 202, "{v}");
    let ops = h.take_ops();
    show("event with one subscription, delivered at once (case.triaged)", &ops);
    assert_eq!(ops.iter().filter(|o| o.kind == "send").count(), 1);
    assert_eq!(h.received().len(), 1);

    // A sweep of ten due messages: the receiver was down for their first attempts.
    h.receiver_answers(Reply::Status(503));
    for n in 10..20 {
        let e = event(n, EventType::CaseTriaged, Some(Priority::P1), Organisation::Ngb, RegionCode::Vr09);
        assert_eq!(h.post_event(&e).0, 202);
    }
    h.advance(Duration::seconds(10));
    h.receiver_answers(Reply::Status(204));
    h.take_ops();
    let (status, report) = h.sweep();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["delivered"], 10, "{report}");
    let ops = h.take_ops();
    show("sweep of 10 due messages, all delivered", &ops);
    println!(
        "  per swept message: {:.1} commits, {:.1} quota writes",
        commits(&ops) as f64 / 10.0,
        quota(&ops) as f64 / 10.0
    );

    h.receiver_answers(Reply::Status(503));
    for n in 20..30 {
        let e = event(n, EventType::CaseTriaged, Some(Priority::P1), Organisation::Ngb, RegionCode::Vr09);
        assert_eq!(h.post_event(&e).0, 202);
    }
    h.advance(Duration::seconds(10));
    h.take_ops();
    let (_, report) = h.sweep();
    assert_eq!(report["retrying"], 10, "{report}");
    let ops = h.take_ops();
    println!(
        "sweep of 10 due messages, all failing again: {} commits, {} quota writes; per message {:.1} / {:.1}",
        commits(&ops),
        quota(&ops),
        commits(&ops) as f64 / 10.0,
        quota(&ops) as f64 / 10.0
    );
    h.record(false);
}
