//! The confidant case listing beside the case read and the trivial component, in one
//! run with one client (issue 16, brief L2): what a listing costs relative to the
//! other two, what it reads, and what a page costs by its length (a fixed part and a
//! part per listed case). A measurement: prints figures, asserts only that the requests
//! answer as they should.
//!
//! `cargo test -p weerbaar-tests --test suite bench::listing:: -- --ignored --nocapture`
//! (a debug host is fine for the ratios between guest paths; `tests/bench`'s release
//! host for figures comparable to docs/benchmarks.md).

use super::{agent, app_options, remove_store, send, spin_default_store};
use crate::e2e::callers::issue;
use crate::e2e::{self, ADMIN_TOKEN};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use weerbaar_tests::{OpKind, TestApp};

#[test]
#[ignore = "a measurement; prints the listing beside the case read and the trivial component"]
fn listing_beside_case_read_and_trivial() {
    let trivial_app = TestApp::start(crate::common::probe_options()).expect("the probe app starts");
    let trivial_url = format!("{}/probe?do=noop", trivial_app.url());

    let store = spin_default_store("listing");
    let mut o = app_options(store.clone());
    o.echo_logs = false;
    let app = TestApp::start(o).expect("the app starts");
    let confidant =
        issue(&app, ADMIN_TOKEN, json!({"organisation": "ngb", "role": "confidant", "holder": "Bench desk"}));
    let mut cases = Vec::new();
    for n in 0..30 {
        let filed = e2e::post_json(&app, "/intake/reports", &serde_json::from_slice(&super::p1_report(n)).unwrap());
        assert_eq!(filed.status, 201, "{}", filed.body);
        cases.push(filed.body["case_reference"].as_str().unwrap().to_string());
    }
    assert!(app.settle_all(Duration::from_secs(60)), "the reports' chains finish");

    let auth = format!("Bearer {confidant}");
    let list_url = format!("{}/triage/cases", app.url());
    let read_url = format!("{}/triage/cases/{}", app.url(), cases[0]);
    let a = agent();
    let page = e2e::staff(&app, &confidant, "GET", "/triage/cases", &[], None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["cases"].as_array().unwrap().len(), 20, "{}", page.body);

    let sizes: Vec<usize> = app
        .kv_dump("default")
        .into_iter()
        .filter(|(k, _)| k.starts_with("case/") && k.matches('/').count() == 1)
        .map(|(_, v)| v.len())
        .collect();
    println!(
        "{} case records, {}..{} bytes each",
        sizes.len(),
        sizes.iter().min().unwrap(),
        sizes.iter().max().unwrap()
    );
    if let Ok(path) = std::env::var("WEERBAAR_LISTING_SAMPLE") {
        let (_, v) = app.kv_dump("default").into_iter().find(|(k, _)| *k == format!("case/{}", cases[0])).unwrap();
        std::fs::write(path, v).unwrap();
    }

    // What one listing and one case read do to the store (after a first of each, whose
    // audit entries a repeat within 5 minutes finds).
    assert_eq!(send(&a, "GET", &read_url, &[("authorization", &auth)], None), 200);
    for (name, url) in [("listing", &list_url), ("case read", &read_url)] {
        app.record(true);
        assert_eq!(send(&a, "GET", url, &[("authorization", &auth)], None), 200);
        app.settle_all(Duration::from_secs(10));
        let ops = app.take_store_ops();
        app.record(false);
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for op in &ops {
            *kinds.entry(format!("{:?}", op.kind)).or_default() += 1;
        }
        let calls: BTreeSet<u64> = ops.iter().map(|op| op.call).collect();
        let commits = ops.iter().filter(|op| op.kind.commits() && op.kind != OpKind::CounterRead).count();
        println!(
            "{name}: {} store operations in {} host calls, {commits} committing; {kinds:?}",
            ops.len(),
            calls.len()
        );
    }

    // One client, the three interleaved request by request (so that load from elsewhere
    // on the machine hits all three alike): the median time of each, and requests/s.
    let rounds: usize = std::env::var("WEERBAAR_LISTING_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(600);
    let (mut t, mut l, mut r) = (Vec::new(), Vec::new(), Vec::new());
    let timed = |v: &mut Vec<Duration>, url: &str, headers: &[(&str, &str)]| {
        let started = Instant::now();
        assert_eq!(send(&a, "GET", url, headers, None), 200);
        v.push(started.elapsed());
    };
    for _ in 0..rounds {
        timed(&mut t, &trivial_url, &[]);
        timed(&mut l, &list_url, &[("authorization", &auth)]);
        timed(&mut r, &read_url, &[("authorization", &auth)]);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1000.0
    };
    let per_second = |v: &[Duration]| v.len() as f64 / v.iter().map(Duration::as_secs_f64).sum::<f64>();
    let (tr, lr, rr) = (per_second(&t), per_second(&l), per_second(&r));
    let (tm, lm, rm) = (median(&mut t), median(&mut l), median(&mut r));
    println!("1 client, {rounds} rounds: req/s trivial {tr:.1}, listing {lr:.1}, case read {rr:.1}");
    println!("  median ms: trivial {tm:.3}, listing {lm:.3}, case read {rm:.3}");
    println!(
        "  ratios (req/s): listing/trivial {:.3}, case read/trivial {:.3}, listing/case read {:.3}",
        lr / tr,
        rr / tr,
        lr / rr
    );
    println!(
        "  ratios (medians): listing/trivial {:.3}, case read/trivial {:.3}, listing/case read {:.3}",
        tm / lm,
        tm / rm,
        rm / lm
    );

    // What a page costs by its length: the same listing with 1, 5, 10 and 20 cases a
    // page, interleaved with the trivial component, one client. Each listed case adds
    // two reads (its index entry and its record) and its decode; the rest (the token,
    // the audit check, the list's counter, instantiation) is paid once a page.
    let limits = [1usize, 5, 10, 20];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); limits.len()];
    let mut trivial = Vec::new();
    for _ in 0..rounds {
        timed(&mut trivial, &trivial_url, &[]);
        for (i, limit) in limits.iter().enumerate() {
            timed(&mut times[i], &format!("{list_url}?limit={limit}"), &[("authorization", &auth)]);
        }
    }
    let trivial_rate = per_second(&trivial);
    println!("page length, 1 client, {rounds} rounds (trivial {trivial_rate:.1} req/s):");
    let mut medians = Vec::new();
    for (limit, v) in limits.iter().zip(times.iter_mut()) {
        let rate = per_second(v);
        let m = median(v);
        medians.push(m);
        println!(
            "  {limit:>2} a page: {:>2} reads, {rate:7.1} req/s, ratio {:.3}, median {m:.3} ms",
            4 + 2 * limit,
            rate / trivial_rate
        );
    }
    let per_case = (medians[3] - medians[0]) / 19.0;
    println!(
        "  a listed case adds {:.3} ms; a page of one costs {:.3} ms (the trivial component {:.3} ms)",
        per_case,
        medians[0],
        median(&mut trivial)
    );
    drop(app);
    remove_store(&store);
}
