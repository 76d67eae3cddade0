//! Load on the real components (issue 15): many reports at once, many confidants on
//! one case, many assignments against members' capacity; afterwards the store is read
//! whole (`kv_dump`) and every case, index entry, audit entry and webhook accounted for.
//! Runs on this run's store (SQLite, or Redis with `WEERBAAR_TEST_STORE=redis`).
//!
//! `WEERBAAR_LOAD_REPORTS` sets how many reports the first test files (default 120, as
//! `tests/run` runs it); the full run of the issue is
//! `WEERBAAR_LOAD_REPORTS=500 cargo test -p weerbaar-tests --test suite load:: -- --nocapture`.
//! Figures are printed, never asserted against a time.

use crate::e2e::receiver::Receiver;
use crate::e2e::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use weerbaar_tests::TestApp;

/// How many clients send at once.
const CLIENTS: usize = 32;

fn reports_to_file() -> usize {
    std::env::var("WEERBAAR_LOAD_REPORTS").ok().and_then(|v| v.parse().ok()).unwrap_or(120)
}

fn app() -> TestApp {
    start(webhook_options().variable("submission_limit_per_hour", "100000"))
}

/// Report `i` of the mix: every priority, three organisations, two regions.
fn report(i: usize) -> (Value, &'static str) {
    let (changes, priority) = match i % 4 {
        0 => (json!({"immediate_danger": true, "incident_kinds": ["threat_of_violence"]}), "P1"),
        1 => (json!({"incident_kinds": ["stalking"]}), "P2"),
        2 => (json!({}), "P3"),
        _ => (json!({"request_kind": "prevention", "incident_kinds": []}), "P4"),
    };
    let role = ["mayor", "alderman", "provincial_executive"][i % 3];
    let region = ["VR09", "VR13"][i % 2];
    let mut r = json!({
        "role": role, "relation": "self",
        "region": region, "municipality": "Wijk bij Duurstede",
        "request_kind": "incident", "incident_kinds": ["intimidation"], "immediate_danger": false,
        "description": "Een man staat elke avond voor de deur.",
        "contact": {"channel": "phone", "phone": "+31 6 12345678"}, "language": "nl"
    });
    for (k, v) in changes.as_object().unwrap() {
        r[k] = v.clone();
    }
    (r, priority)
}

/// Every stored JSON document by key.
fn documents(app: &TestApp) -> BTreeMap<String, Value> {
    app.kv_dump("default")
        .into_iter()
        .filter_map(|(k, v)| serde_json::from_slice::<Value>(&v).ok().map(|v| (k, v)))
        .collect()
}

/// The case records in the store, by id (`case/<id>`, nothing under it).
fn case_records(docs: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    docs.iter()
        .filter(|(k, _)| k.starts_with("case/") && k.matches('/').count() == 1)
        .map(|(k, v)| (k["case/".len()..].to_string(), v["data"].clone()))
        .collect()
}

fn internal_post(app: &TestApp, path: &str) -> Reply {
    let r = call(app, "POST", path, &[("weerbaar-internal-secret", INTERNAL_SECRET)], None);
    r.conforms("POST", path);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r
}

/// Runs the triage and notification sweeps until a round does nothing; returns the
/// rounds it took. The clock moves 10 s a round, so the first retry (5 s) falls due
/// and no deadline (15 min at the shortest) passes.
pub fn sweep_until_quiet(app: &TestApp) -> usize {
    for round in 1..=30 {
        let t = internal_post(app, "/triage/sweep").body;
        let busy_triage = ["triaged", "rematched", "events_sent", "events_unsent", "messages_taken_in"]
            .iter()
            .any(|k| t[*k].as_u64().unwrap_or(0) > 0);
        let mut attempted = 0;
        loop {
            let n = internal_post(app, "/notification/sweep").body;
            attempted += n["attempted"].as_u64().unwrap();
            if n["more"] != true {
                break;
            }
        }
        let waiting = documents(app)
            .iter()
            .filter(|(k, v)| {
                k.starts_with("ntf/msg/") && k.matches('/').count() == 2 && v["data"]["status"] == "pending"
            })
            .count();
        if !busy_triage && attempted == 0 && waiting == 0 {
            return round;
        }
        app.advance_clock(std::time::Duration::from_secs(10));
    }
    panic!("the sweeps did not come to rest in 30 rounds");
}

/// Checks the store after the sweeps: each case once, in each of its indexes once,
/// triaged once, nothing left waiting. Returns (cases, index entries checked).
pub fn check_cases(app: &TestApp, expected: &BTreeMap<String, &str>) -> (usize, usize) {
    let docs = documents(app);
    let cases = case_records(&docs);
    assert_eq!(cases.len(), expected.len(), "every report is exactly one case");
    let mut entries_checked = 0;
    for (id, priority) in expected {
        let case = cases.get(id).unwrap_or_else(|| panic!("case {id} missing"));
        assert_eq!(case["status"], "triaged", "{id}");
        let assessment = &case["assessment"];
        assert_eq!(assessment["priority"], *priority, "{id}");
        let org = assessment["organisation"].as_str().unwrap();
        let held: Vec<(String, u64)> = case["work"]["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["log"].as_str().unwrap().to_string(), s["slot"].as_u64().unwrap()))
            .collect();
        for log in [
            format!("triage/idx/{org}/all"),
            format!("triage/idx/{org}/status/triaged"),
            format!("triage/idx/{org}/priority/{priority}"),
            format!("triage/idx/{org}/unacked/{priority}"),
        ] {
            let mine: Vec<&(String, u64)> = held.iter().filter(|(l, _)| *l == log).collect();
            assert_eq!(mine.len(), 1, "{id} holds one entry of {log}: {held:?}");
            let entry = &docs[&format!("{log}/s/{:012}", mine[0].1)];
            assert_eq!(entry["case_id"], id.as_str(), "{log}");
            // Entries the case does not hold are skipped by readers; there may be none
            // for this case all the same, or the index would list it twice.
            let listing_it =
                docs.iter().filter(|(k, v)| k.starts_with(&format!("{log}/s/")) && v["case_id"] == id.as_str()).count();
            assert_eq!(listing_it, 1, "{id} listed once in {log}");
            entries_checked += 1;
        }
        let triaged_entries = docs
            .iter()
            .filter(|(k, v)| {
                k.starts_with(&format!("case/{id}/audit/s/"))
                    && v["action"].as_str().is_some_and(|a| a.starts_with("triaged:"))
            })
            .count();
        assert_eq!(triaged_entries, 1, "{id}: triage ran exactly once");
    }
    let left: Vec<&String> =
        docs.keys().filter(|k| k.starts_with("idx/pending_triage/s/") || k.starts_with("triage/outbox/s/")).collect();
    assert!(left.is_empty(), "nothing waits for triage or in its outbox: {left:?}");
    (cases.len(), entries_checked)
}

/// Per case, the distinct webhook-ids of each event type the receiver got; checks one
/// logical message per event and every message signed. Returns (messages, duplicates).
pub fn check_webhooks(app: &TestApp, receiver: &Receiver, cases: &BTreeMap<String, &str>) -> (usize, usize) {
    let hits = receiver.hits();
    let mut logical: BTreeMap<String, (String, String)> = BTreeMap::new();
    for hit in &hits {
        let body = hit.json();
        let key = (body["data"]["case_reference"].as_str().unwrap().to_string(), body["type"].as_str().unwrap().into());
        if let Some(seen) = logical.insert(hit.id.clone(), key.clone()) {
            assert_eq!(seen, key, "one webhook-id, one event");
        }
    }
    let mut per_case: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (case, kind) in logical.values() {
        per_case.entry(case).or_default().push(kind);
    }
    for id in cases.keys() {
        let mut kinds = per_case.remove(id.as_str()).unwrap_or_default();
        kinds.sort();
        assert_eq!(kinds, vec!["case.created", "case.triaged"], "{id}: one message per event");
    }
    assert!(per_case.is_empty(), "webhooks for unknown cases: {per_case:?}");
    let docs = documents(app);
    let events = docs.keys().filter(|k| k.starts_with("ntf/evt/") && k.matches('/').count() == 2).count();
    assert_eq!(events, logical.len(), "every event notification took in was delivered once");
    let undelivered: Vec<&String> = docs
        .iter()
        .filter(|(k, v)| k.starts_with("ntf/msg/") && k.matches('/').count() == 2 && v["data"]["status"] != "delivered")
        .map(|(k, _)| k)
        .collect();
    assert!(undelivered.is_empty(), "{undelivered:?}");
    (logical.len(), hits.len() - logical.len())
}

#[test]
fn many_reports_at_once_are_each_filed_triaged_indexed_and_notified_exactly_once() {
    let app = app();
    let receiver = Receiver::start();
    let sub = staff(
        &app,
        ADMIN_TOKEN,
        "POST",
        "/notification/subscriptions",
        &[],
        Some(json!({"url": receiver.url("/hook"), "description": "coordinators"})),
    );
    sub.conforms("POST", "/notification/subscriptions");
    assert_eq!(sub.status, 201, "{}", sub.body);

    let total = reports_to_file();
    let next = AtomicUsize::new(0);
    let filed: Mutex<BTreeMap<String, &'static str>> = Mutex::default();
    let refused: Mutex<Vec<(u16, Value)>> = Mutex::default();
    let began = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    break;
                }
                let (body, priority) = report(i);
                let r = post_json(&app, "/intake/reports", &body);
                r.conforms("POST", "/intake/reports");
                if r.status == 201 {
                    let id = r.body["case_reference"].as_str().unwrap().to_string();
                    assert!(filed.lock().unwrap().insert(id, priority).is_none(), "a case reference twice");
                } else {
                    refused.lock().unwrap().push((r.status, r.body));
                }
            });
        }
    });
    let filing = began.elapsed();
    let refused = refused.into_inner().unwrap();
    assert!(refused.is_empty(), "every report gets 201: {} did not, e.g. {:?}", refused.len(), refused.first());
    let filed = filed.into_inner().unwrap();
    assert_eq!(filed.len(), total);

    let swept = Instant::now();
    let rounds = sweep_until_quiet(&app);
    let sweeping = swept.elapsed();
    let (cases, entries) = check_cases(&app, &filed);
    let (messages, duplicates) = check_webhooks(&app, &receiver, &filed);
    let store = if on_redis() { "redis" } else { "sqlite" };
    println!(
        "load ({store}): {total} reports from {CLIENTS} clients filed in {filing:.1?}, all 201; swept quiet in \
         {rounds} rounds ({sweeping:.1?}); {cases} cases each once, {entries} index entries each once; \
         {messages} webhook messages, each event once, {duplicates} duplicate deliveries (same webhook-id)"
    );
}

fn etag_version(r: &Reply) -> u64 {
    r.header("etag").unwrap().trim_matches(|c: char| !c.is_ascii_digit()).parse().unwrap()
}

fn ngb_token(app: &TestApp) -> String {
    crate::e2e::callers::issue(
        app,
        ADMIN_TOKEN,
        json!({"organisation": "ngb", "role": "confidant", "holder": "Desk Noord"}),
    )
}

#[test]
fn fifty_confidants_changing_one_case_at_once_lose_no_change() {
    let app = app();
    let token = ngb_token(&app);
    let (case, _) = file_mayor_report(&app);
    let before = etag_version(&read(&app, &token, &case));
    let outcomes: Vec<(usize, u16)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let (app, token, case) = (&app, &token, &case);
                s.spawn(move || {
                    let etag = read(app, token, case).header("etag").unwrap().to_string();
                    let body = json!({"confidant": format!("Desk {i}"), "members": []});
                    let r = staff(app, token, "POST", &case_path(case, "/assign"), &[("if-match", &etag)], Some(body));
                    r.conforms("POST", "/triage/cases/{case_id}/assign");
                    (i, r.status)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let applied: Vec<usize> = outcomes.iter().filter(|(_, s)| *s == 200).map(|(i, _)| *i).collect();
    let stale = outcomes.iter().filter(|(_, s)| *s == 412).count();
    assert_eq!(applied.len() + stale, 50, "each change applied or 412: {outcomes:?}");
    assert!(!applied.is_empty());
    let view = read(&app, &token, &case);
    assert_eq!(etag_version(&view), before + applied.len() as u64, "one version per applied change");
    let last = view.body["assignment"]["confidant"].as_str().unwrap().to_string();
    assert!(applied.iter().any(|i| format!("Desk {i}") == last), "the final state is an applied change");
    let audit = staff(&app, &token, "GET", &case_path(&case, "/audit"), &[], None);
    audit.conforms("GET", "/triage/cases/{case_id}/audit");
    let assigned = audit.body["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "assigned").count();
    assert_eq!(assigned, applied.len(), "one audit entry per applied change, none for a 412");
    println!("load: 50 concurrent changes to one case: {} applied, {stale} got 412, none lost", applied.len());
}

#[test]
fn fifty_assignments_at_once_never_overload_a_member_nor_lose_a_load_entry() {
    let app = app();
    let token = ngb_token(&app);
    let members: Vec<String> = (0..6)
        .map(|i| {
            let body = json!({
                "name": format!("Peer {i}"), "kind": "peer", "role": "mayor", "organisation": "ngb",
                "municipality": "Utrecht", "regions": ["VR09"], "languages": ["nl"], "capacity": 3,
                "contact": {"email": format!("peer{i}@example.org")}
            });
            let r = staff(&app, ADMIN_TOKEN, "POST", "/directory/members", &[], Some(body));
            r.conforms("POST", "/directory/members");
            assert_eq!(r.status, 201, "{}", r.body);
            r.body["id"].as_str().unwrap().to_string()
        })
        .collect();
    // 25 cases, each assigned twice at once to the same member with the same ETag: 50
    // assignments against 6 members of capacity 3 (18 places).
    let cases: Vec<(String, String)> = (0..25)
        .map(|_| {
            let (case, _) = file_mayor_report(&app);
            let etag = read(&app, &token, &case).header("etag").unwrap().to_string();
            (case, etag)
        })
        .collect();
    let outcomes: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|n| {
                let (app, token) = (&app, &token);
                let (case, etag) = &cases[n / 2];
                let member = &members[(n / 2) % members.len()];
                s.spawn(move || {
                    let body = json!({"confidant": "Desk Noord", "members": [member]});
                    let r = staff(app, token, "POST", &case_path(case, "/assign"), &[("if-match", etag)], Some(body));
                    r.conforms("POST", "/triage/cases/{case_id}/assign");
                    r.status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(outcomes.iter().all(|s| [200, 409, 412].contains(s)), "{outcomes:?}");
    let docs = documents(&app);
    let mut holding: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, case) in case_records(&docs) {
        for m in case["work"]["assignment"]["members"].as_array().into_iter().flatten() {
            holding.entry(m.as_str().unwrap().to_string()).or_default().insert(id.clone());
        }
    }
    let mut placed = 0;
    for member in &members {
        let load: BTreeSet<String> = docs[&format!("dir/load/{member}")]["data"]["open_cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert!(load.len() <= 3, "{member} over capacity: {load:?}");
        let held = holding.get(member).cloned().unwrap_or_default();
        assert_eq!(load, held, "{member}: the directory's load is exactly the cases assigned to them");
        placed += load.len();
    }
    let count = |s: u16| outcomes.iter().filter(|o| **o == s).count();
    assert_eq!(count(200), placed, "every 200 placed a member, nothing else did");
    println!(
        "load: 50 concurrent assignments (25 cases x 2, same member and ETag) to 6 members of capacity 3: \
         {} applied, {} at capacity (409), {} stale (412); {placed} load entries, each matching its case",
        count(200),
        count(409),
        count(412)
    );
}

/// Store operations of the three read endpoints of issue 16, per request, counted in
/// the host over ten repeated requests each (one client, nothing else running): a
/// repeated status lookup, case listing and case read commit nothing. Prints the
/// counts (`--nocapture`); `docs/benchmarks.md` has them before and after.
#[test]
fn repeated_reads_commit_nothing() {
    use weerbaar_tests::OpKind;
    const REQUESTS: usize = 10;
    let app = app();
    let token = ngb_token(&app);
    let (case, receipt) = file_mayor_report(&app);
    let lookup = || {
        let r = post_json(&app, "/intake/reports/status", &json!({ "receipt_code": receipt }));
        r.conforms("POST", "/intake/reports/status");
        assert_eq!(r.status, 200, "{}", r.body);
    };
    let list = || {
        let r = staff(&app, &token, "GET", "/triage/cases", &[], None);
        r.conforms("GET", "/triage/cases");
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body["cases"].as_array().unwrap().iter().any(|c| c["case_id"] == case.as_str()));
    };
    let open = || assert_eq!(read(&app, &token, &case).status, 200);
    let endpoints: [(&str, &dyn Fn()); 3] =
        [("reporter status lookup", &lookup), ("confidant case listing", &list), ("confidant case read", &open)];
    println!(
        "store operations per request, {REQUESTS} repeated requests each (quota writes: writes + cas + increments)"
    );
    println!(
        "{:<26} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
        "request", "reads", "ctr rd", "writes", "cas", "incr", "quota"
    );
    let mut failures = Vec::new();
    for (name, request) in endpoints {
        request(); // the first: a list or case read is recorded in the audit
        app.record(true);
        for _ in 0..REQUESTS {
            request();
        }
        let ops = app.take_store_ops();
        app.record(false);
        let per = |kinds: &[OpKind]| ops.iter().filter(|op| kinds.contains(&op.kind)).count() as f64 / REQUESTS as f64;
        let quota = per(&[OpKind::Write, OpKind::Cas, OpKind::Increment]);
        println!(
            "{name:<26} {:>6.1} {:>6.1} {:>6.1} {:>6.1} {:>6.1} {quota:>6.1}",
            per(&[OpKind::Read]),
            per(&[OpKind::CounterRead]),
            per(&[OpKind::Write]),
            per(&[OpKind::Cas]),
            per(&[OpKind::Increment]),
        );
        let writes: Vec<_> = ops
            .iter()
            .filter(|op| !matches!(op.kind, OpKind::Read | OpKind::CounterRead))
            .map(|op| (&op.component, op.kind, &op.key))
            .collect();
        if !writes.is_empty() {
            failures.push(format!("{name}: {writes:?}"));
        }
    }
    assert!(failures.is_empty(), "a repeated read writes nothing: {failures:#?}");
}
