//! The writes of one P1 chain, in order, and where the signed webhook arrives among them
//! (issue 16): the commits before that point are the P1 path's own syncs. Printed, not
//! asserted as figures:
//! `cargo test -p weerbaar-tests --test suite p1_path:: -- --nocapture`.
//!
//! The receiver holds its answer for a while: the whole chain waits on it (notification
//! for the answer, triage for notification, intake for triage), so what was recorded
//! when the webhook arrived is exactly what came before it.

use std::time::{Duration, Instant};
use weerbaar_tests::{count_commits, OpKind, StoreOp, TestApp};

use crate::e2e;
use crate::e2e::receiver::Receiver;

fn writes(ops: &[StoreOp]) -> Vec<&StoreOp> {
    ops.iter().filter(|op| op.kind.commits() && op.kind != OpKind::CounterRead).collect()
}

#[test]
fn one_p1_chain_writes_in_order_with_the_webhook_among_them() {
    let mut o = e2e::webhook_options();
    o.components = None;
    let app = TestApp::start(o).expect("the app starts");
    let receiver = Receiver::start();
    crate::bench::subscribe_p1_pager(&app, &receiver);
    let report: serde_json::Value = serde_json::from_slice(&crate::bench::p1_report(0)).unwrap();
    // A first report, so that every instance and list exists: the second is measured.
    assert_eq!(e2e::post_json(&app, "/intake/reports", &report).status, 201);
    app.settle_all(Duration::from_secs(30));
    receiver.state.lock().unwrap().hits.clear();
    receiver.state.lock().unwrap().delay = Duration::from_millis(400);

    app.record(true);
    let filing = {
        let app = &app;
        let report = report.clone();
        std::thread::scope(|s| {
            let filing = s.spawn(move || e2e::post_json(app, "/intake/reports", &report));
            let started = Instant::now();
            while receiver.hits_at("/pager").is_empty() && started.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_micros(200));
            }
            let before = app.take_store_ops();
            let filed = filing.join().unwrap();
            (before, filed)
        })
    };
    let (before, filed) = filing;
    assert_eq!(filed.status, 201, "{}", filed.body);
    assert_eq!(receiver.hits_at("/pager").len(), 1, "the P1 webhook arrived");
    app.settle_all(Duration::from_secs(30));
    let after = app.take_store_ops();
    app.record(false);

    let quota = |ops: &[&StoreOp]| ops.len();
    let (w_before, w_after) = (writes(&before), writes(&after));
    println!(
        "one P1 chain: {} commits, {} quota writes; before the webhook arrived: {} commits, {} quota writes",
        count_commits(&before) + count_commits(&after),
        quota(&w_before) + quota(&w_after),
        count_commits(&before),
        quota(&w_before),
    );
    let comps: std::collections::BTreeSet<&str> = before.iter().chain(&after).map(|o| o.component.as_str()).collect();
    for c in comps {
        let mine: Vec<StoreOp> = before.iter().chain(&after).filter(|o| o.component == c).cloned().collect();
        let path: Vec<StoreOp> = before.iter().filter(|o| o.component == c).cloned().collect();
        println!(
            "  {c:<13} {:>3} quota writes, {:>3} commits; on the path to the webhook {:>3} commits",
            writes(&mine).len(),
            count_commits(&mine),
            count_commits(&path)
        );
    }
    let mut n = 0;
    let mut commit = 0;
    let mut last = None;
    for (ops, label) in [(&w_before, None), (&w_after, Some("---- the webhook arrives here ----"))] {
        if let Some(label) = label {
            println!("        {label}");
        }
        for op in ops.iter() {
            if last != Some(op.call) {
                commit += 1;
                last = Some(op.call);
            }
            n += 1;
            println!(
                "    {n:>2}. commit {commit:>2}  {:<13} {:<10} {}",
                op.component,
                format!("{:?}", op.kind).to_lowercase(),
                crate::bench::key_shape(&op.key)
            );
        }
    }
}
