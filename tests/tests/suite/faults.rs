//! Faults injected through the host (issue 15): a component down, webhook receivers
//! that fail in every way a receiver can, a store write failing or the host trapping
//! mid-request, and reporters and confidants racing a purge. After each fault heals
//! and the sweeps run, every case is where it would have been without the fault.
//! Every answer of the components is held to openapi.yaml (`Reply::conforms`); the
//! module prints how many faults it injected.
//!
//! Build the components first:
//! `cargo build --target wasm32-wasip2 --release --workspace --exclude weerbaar-tests`.

use crate::e2e::callers::issue;
use crate::e2e::receiver::Receiver;
use crate::e2e::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weerbaar_tests::{TestApp, WriteFault};

/// Faults injected by this module's tests, printed by each.
static INJECTED: AtomicUsize = AtomicUsize::new(0);

fn injected(n: usize) {
    INJECTED.fetch_add(n, Ordering::SeqCst);
}

fn report_injected(test: &str, n: usize) {
    injected(n);
    println!("faults: {test}: {n} faults injected ({} so far in this run)", INJECTED.load(Ordering::SeqCst));
}

/// The app with short webhook timeouts, so receivers that hang cost seconds.
fn app() -> TestApp {
    start(
        webhook_options().variable("webhook_first_attempt_timeout_ms", "500").variable("webhook_timeout_seconds", "2"),
    )
}

fn internal_post(app: &TestApp, path: &str) -> Value {
    let r = call(app, "POST", path, &[("weerbaar-internal-secret", INTERNAL_SECRET)], None);
    r.conforms("POST", path);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.body
}

/// One round of the sweeps, as the scheduler runs them.
fn sweep(app: &TestApp) -> (Value, Value) {
    let triage = internal_post(app, "/triage/sweep");
    let notification = internal_post(app, "/notification/sweep");
    (triage, notification)
}

fn subscribe(app: &TestApp, url: &str, extra: Value) -> String {
    let mut body = json!({"url": url, "description": "coordinators"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = staff(app, ADMIN_TOKEN, "POST", "/notification/subscriptions", &[], Some(body));
    r.conforms("POST", "/notification/subscriptions");
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn ngb(app: &TestApp) -> String {
    issue(app, ADMIN_TOKEN, json!({"organisation": "ngb", "role": "confidant", "holder": "Desk Noord"}))
}

/// A security expert the directory can suggest for a threat in VR09.
fn add_expert(app: &TestApp) {
    let body = json!({
        "name": "Expert Een", "kind": "expert", "expertise": ["security"], "specialties": ["aangifte"],
        "regions": ["VR09"], "languages": ["nl"], "capacity": 3, "contact": {"phone": "+31 6 55509876"}
    });
    let r = staff(app, ADMIN_TOKEN, "POST", "/directory/members", &[], Some(body));
    r.conforms("POST", "/directory/members");
    assert_eq!(r.status, 201, "{}", r.body);
}

/// Files a report that wants a peer (threat of violence, P2).
fn file_threat(app: &TestApp) -> (String, String) {
    let report = json!({
        "role": "mayor", "relation": "self", "region": "VR09", "municipality": "Wijk bij Duurstede",
        "request_kind": "incident", "incident_kinds": ["threat_of_violence"], "immediate_danger": false,
        "description": "Een man staat elke avond voor de deur.",
        "contact": {"channel": "phone", "phone": "+31 6 12345678"}, "language": "nl"
    });
    let r = post_json(app, "/intake/reports", &report);
    r.conforms("POST", "/intake/reports");
    assert_eq!(r.status, 201, "{}", r.body);
    (r.body["case_reference"].as_str().unwrap().to_string(), r.body["receipt_code"].as_str().unwrap().to_string())
}

/// A case as a confidant sees it, with what differs between two runs of one story
/// (ids, times, versions) masked.
fn comparable(app: &TestApp, token: &str, case: &str) -> Value {
    fn mask(v: &mut Value) {
        match v {
            Value::String(s) => {
                let id_like = s.split_once('_').is_some_and(|(k, rest)| {
                    !k.is_empty() && rest.len() == 26 && k.chars().all(|c| c.is_ascii_lowercase())
                });
                if id_like || shared::time::Timestamp::parse(s).is_ok() || s.starts_with("/triage/cases/") {
                    *s = "<masked>".into();
                }
            }
            Value::Array(a) => a.iter_mut().for_each(mask),
            Value::Object(o) => o.values_mut().for_each(mask),
            _ => {}
        }
    }
    let mut view = read(app, token, case).body;
    mask(&mut view);
    // How many writes it took (a re-match after the directory came back is one more),
    // not where the case stands.
    view.as_object_mut().unwrap().remove("version");
    view
}

/// The story each component fault is compared with: a peer in the directory, a
/// subscriber, a P2 report filed and one sweep run. Returns the case as seen and the
/// event types the subscriber got.
fn story(fault: Option<&str>) -> (Value, Vec<String>) {
    let app = app();
    add_expert(&app);
    let receiver = Receiver::start();
    subscribe(&app, &receiver.url("/hook"), json!({}));
    let token = ngb(&app);
    if let Some(component) = fault {
        app.set_down(component, true);
    }
    let (case, _) = file_threat(&app);
    if let Some(component) = fault {
        app.set_down(component, false);
    }
    sweep(&app);
    let mut types = receiver.types_for(&case);
    types.dedup();
    (comparable(&app, &token, &case), types)
}

#[test]
fn each_component_down_during_a_report_heals_after_one_sweep_to_the_same_case() {
    let (expected, expected_types) = story(None);
    assert_eq!(expected_types, vec!["case.created", "case.triaged"]);
    assert_eq!(expected["rematch_pending"], false);
    assert_eq!(expected["suggestions"].as_array().map(Vec::len), Some(1), "{expected}");
    // Triage down during intake; the directory, or notification, down during triage.
    for component in ["triage", "directory", "notification"] {
        let (got, types) = story(Some(component));
        assert_eq!(got, expected, "{component} down, then one sweep");
        assert_eq!(types, expected_types, "{component} down, then one sweep");
    }
    report_injected("components down", 3);
}

/// Distinct webhook-ids by event type for one case.
fn logical(receiver: &Receiver, case: &str) -> BTreeMap<String, Vec<String>> {
    let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for hit in receiver.hits() {
        let body = hit.json();
        if body["data"]["case_reference"] != case {
            continue;
        }
        let ids = by_type.entry(body["type"].as_str().unwrap().to_string()).or_default();
        if !ids.contains(&hit.id) {
            ids.push(hit.id.clone());
        }
    }
    by_type
}

fn subscription(app: &TestApp, id: &str) -> Value {
    let r = staff(app, ADMIN_TOKEN, "GET", &format!("/notification/subscriptions/{id}"), &[], None);
    r.conforms("GET", "/notification/subscriptions/{subscription_id}");
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[test]
fn receivers_down_slow_or_refusing_get_each_event_once_when_they_recover() {
    let app = app();
    let healthy = Receiver::start();
    let slow = Receiver::start();
    slow.state.lock().unwrap().delay = Duration::from_millis(2500); // past both timeouts
    let failing = Receiver::start();
    failing.state.lock().unwrap().queue.extend([(500, None), (500, None)]);
    let throttling = Receiver::start();
    throttling.state.lock().unwrap().queue.extend([(429, Some("120")), (429, Some("120"))]);
    let gone = Receiver::start();
    gone.answer(410, None);
    // A receiver that is down: its port is free until it comes up.
    let down_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();

    let subs: Vec<String> = [
        healthy.url("/hook"),
        slow.url("/hook"),
        failing.url("/hook"),
        throttling.url("/hook"),
        gone.url("/hook"),
        format!("http://127.0.0.1:{down_port}/hook"),
    ]
    .iter()
    .map(|url| subscribe(&app, url, json!({})))
    .collect();
    let (case, _) = file_mayor_report(&app);

    // The slow receiver answers within the sweep's timeout from now on.
    let down = Receiver::on_port(down_port);
    slow.state.lock().unwrap().delay = Duration::from_millis(500);
    for _ in 0..4 {
        app.advance_clock(Duration::from_secs(10));
        sweep(&app);
    }
    let events = ["case.created", "case.triaged"];
    for (name, receiver) in [("healthy", &healthy), ("down", &down), ("slow", &slow), ("500", &failing)] {
        let got = logical(receiver, &case);
        for event in events {
            assert_eq!(got.get(event).map(Vec::len), Some(1), "{name}: one message for {event}: {got:?}");
        }
    }
    assert!(slow.hits().len() >= 2, "the slow receiver got its first attempts, which timed out");
    // 429 with Retry-After: 120 s is waited for, then delivered.
    assert!(logical(&throttling, &case).values().all(|ids| ids.len() == 1));
    let before = throttling.hits().len();
    app.advance_clock(Duration::from_secs(130));
    sweep(&app);
    assert!(throttling.hits().len() > before, "retried after its Retry-After");
    let got = logical(&throttling, &case);
    assert_eq!(got.keys().collect::<Vec<_>>(), events.iter().collect::<Vec<_>>());
    assert!(got.values().all(|ids| ids.len() == 1), "{got:?}");
    // 410: the subscription is disabled and nothing more is sent to it.
    let hits_at_410 = gone.hits().len();
    assert_eq!(subscription(&app, &subs[4])["enabled"], false);
    app.advance_clock(Duration::from_secs(600));
    sweep(&app);
    assert_eq!(gone.hits().len(), hits_at_410, "nothing after 410");
    for id in &subs[..4] {
        assert_eq!(subscription(&app, id)["enabled"], true);
    }
    report_injected("receivers", 6);
}

/// A receiver on 127.0.0.1 that answers 200 and then never ends its body: `drip`
/// sends a byte a second, else it sends as fast as it can. Returns its URL and a flag
/// set when the client hung up first.
fn never_ending(drip: bool) -> (String, Arc<AtomicBool>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let hung_up = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicUsize::new(0));
    let (flag, count) = (hung_up.clone(), requests.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (flag, count) = (flag.clone(), count.clone());
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 8192];
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = stream.read(&mut buf);
                count.fetch_add(1, Ordering::SeqCst);
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = if drip { "1\r\nx\r\n".to_string() } else { format!("10000\r\n{}\r\n", "y".repeat(65536)) };
                // Ten minutes at most, so that a client without a deadline fails the
                // test instead of hanging it.
                for _ in 0..600 {
                    if stream.write_all(chunk.as_bytes()).and_then(|_| stream.flush()).is_err() {
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                    std::thread::sleep(if drip { Duration::from_secs(1) } else { Duration::from_millis(1) });
                }
            });
        }
    });
    (url, hung_up, requests)
}

#[test]
fn a_receiver_that_drips_or_never_ends_its_answer_cannot_stall_the_sweep() {
    let app = app();
    let healthy = Receiver::start();
    subscribe(&app, &healthy.url("/hook"), json!({}));
    let (drip_url, drip_hung_up, drip_requests) = never_ending(true);
    let (flood_url, flood_hung_up, flood_requests) = never_ending(false);
    let only_triaged = json!({"event_types": ["case.triaged"]});
    let drip = subscribe(&app, &drip_url, only_triaged.clone());
    let flood = subscribe(&app, &flood_url, only_triaged);

    let (case, _) = file_mayor_report(&app);
    assert_eq!(healthy.types_for(&case), vec!["case.created", "case.triaged"], "within the request");
    app.advance_clock(Duration::from_secs(10));
    let (_, swept) = sweep(&app);
    assert_eq!(swept["delivered"], 0, "{swept}");
    for _ in 0..50 {
        if drip_hung_up.load(Ordering::SeqCst) && flood_hung_up.load(Ordering::SeqCst) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(drip_requests.load(Ordering::SeqCst) >= 1 && flood_requests.load(Ordering::SeqCst) >= 1);
    assert!(drip_hung_up.load(Ordering::SeqCst), "the sender gave up on the dripping answer");
    assert!(flood_hung_up.load(Ordering::SeqCst), "the sender gave up on the endless answer");
    for sub in [&drip, &flood] {
        let r = staff(&app, ADMIN_TOKEN, "GET", &format!("/notification/subscriptions/{sub}/messages"), &[], None);
        r.conforms("GET", "/notification/subscriptions/{subscription_id}/messages");
        let message = &r.body["messages"][0];
        assert_ne!(message["status"], "delivered", "{}", r.body);
        let id = message["id"].as_str().unwrap();
        let attempts = staff(&app, ADMIN_TOKEN, "GET", &format!("/notification/messages/{id}/attempts"), &[], None);
        attempts.conforms("GET", "/notification/messages/{message_id}/attempts");
        let logged = attempts.body.to_string();
        assert!(!logged.contains("yyyyyyyy") && !logged.contains("xxxxxxxx"), "no answer kept: {logged}");
    }
    report_injected("never-ending answers", 2);
}

/// Every key and value of the store, without the counters that only reserve slots and
/// claims (a failed write may leave a reservation: readers skip empty slots).
fn settled(app: &TestApp) -> BTreeMap<String, Vec<u8>> {
    app.kv_dump("default")
        .into_iter()
        .filter(|(k, _)| !(k.ends_with("/n") || k.ends_with("/claim") || k.starts_with("watchdog/")))
        .collect()
}

fn assert_problem_with_correlation(r: &Reply, what: &str) {
    assert!(r.status >= 500, "{what}: {} {}", r.status, r.body);
    assert_eq!(r.header("content-type"), Some("application/problem+json"), "{what}");
    let id = r.body["correlation_id"].as_str().unwrap_or_else(|| panic!("{what}: no correlation id: {}", r.body));
    assert!(!id.is_empty());
    assert_eq!(r.header("x-correlation-id"), Some(id), "{what}");
}

#[test]
fn a_store_write_failing_mid_request_is_a_5xx_problem_and_all_or_nothing() {
    let app = app();
    let token = ngb(&app);
    let (case, receipt) = file_mayor_report(&app);
    let mut faults = 0;

    // Intake: the case write fails after the receipt and slot reservations.
    let before = settled(&app);
    app.set_write_fault(WriteFault::KeysStartingWith("case/".into()));
    let report = json!({
        "role": "mayor", "relation": "self", "region": "VR09", "municipality": "Wijk bij Duurstede",
        "request_kind": "incident", "incident_kinds": ["intimidation"], "immediate_danger": false,
        "description": "Een man staat elke avond voor de deur.",
        "contact": {"channel": "phone", "phone": "+31 6 12345678"}, "language": "nl"
    });
    let r = post_json(&app, "/intake/reports", &report);
    r.conforms("POST", "/intake/reports");
    assert_problem_with_correlation(&r, "intake");
    faults += 1;
    app.set_write_fault(WriteFault::None);
    let after = settled(&app);
    let new: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    // Only the submission's abuse counter may have moved (counted before the write).
    assert!(new.iter().all(|k| k.starts_with("limit/") || k.starts_with("idx/expiring/limit")), "{new:?}");

    // Triage: a confidant's change (new index entries and an audit entry prepared, then
    // the case swapped) whose writes fail.
    let etag = read(&app, &token, &case).header("etag").unwrap().to_string();
    let raise = |etag: &str| {
        let body = json!({"priority": "P1", "reason": "wapen gezien"});
        let r = staff(&app, &token, "POST", &case_path(&case, "/priority"), &[("if-match", etag)], Some(body));
        r.conforms("POST", "/triage/cases/{case_id}/priority");
        r
    };
    for prefix in ["case/", "triage/"] {
        let before = settled(&app);
        app.set_write_fault(WriteFault::KeysStartingWith(prefix.into()));
        let r = raise(&etag);
        app.set_write_fault(WriteFault::None);
        assert_problem_with_correlation(&r, prefix);
        faults += 1;
        assert_eq!(settled(&app), before, "writes under {prefix} fail: nothing of the change is stored");
    }
    // The reporter's message: the message and its pending entry together or not at all.
    let before = settled(&app);
    app.set_write_fault(WriteFault::KeysStartingWith("idx/pending_messages/".into()));
    let r = post_json(&app, "/intake/reports/messages", &json!({"receipt_code": receipt, "text": "Hij is er weer."}));
    r.conforms("POST", "/intake/reports/messages");
    app.set_write_fault(WriteFault::None);
    assert_problem_with_correlation(&r, "reporter message");
    faults += 1;
    let after = settled(&app);
    let new: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(new.iter().all(|k| k.starts_with("limit/") || k.starts_with("idx/expiring/limit")), "{new:?}");

    // Healed, the same change goes through, once.
    let r = raise(&etag);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["priority"], "P1");
    let audit = staff(&app, &token, "GET", &case_path(&case, "/audit"), &[], None);
    audit.conforms("GET", "/triage/cases/{case_id}/audit");
    let raised = audit.body["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "priority:P1").count();
    assert_eq!(raised, 1, "the change applied once");
    report_injected("store writes failing", faults);
}

#[test]
fn a_trap_between_the_idempotency_claim_and_the_case_write_does_not_block_the_key() {
    let app = app();
    let report = json!({
        "role": "mayor", "relation": "self", "region": "VR09", "municipality": "Wijk bij Duurstede",
        "request_kind": "incident", "incident_kinds": ["intimidation"], "immediate_danger": false,
        "description": "Een man staat elke avond voor de deur.",
        "contact": {"channel": "phone", "phone": "+31 6 12345678"}, "language": "nl"
    });
    let send = || {
        call(
            &app,
            "POST",
            "/intake/reports",
            &[("content-type", "application/json"), ("idempotency-key", "trap-3f9a")],
            Some(serde_json::to_vec(&report).unwrap()),
        )
    };
    app.set_write_fault(WriteFault::TrapKeysStartingWith("case/".into()));
    let trapped = send();
    app.set_write_fault(WriteFault::None);
    // The host's answer to a trap (Spin's bare 500), not the component's.
    assert_eq!(trapped.status, 500);
    assert!(trapped.raw.is_empty());
    assert!(!store_text(&app).iter().any(|(k, _)| k.starts_with("case/")));

    let busy = send();
    busy.conforms("POST", "/intake/reports");
    assert_eq!(busy.status, 409, "right after, the claim may still be live: {}", busy.body);
    assert_eq!(busy.body["field"], "idempotency-key");
    app.advance_clock(Duration::from_secs(61));
    let filed = send();
    filed.conforms("POST", "/intake/reports");
    assert_eq!(filed.status, 201, "the dead claim is taken over: {}", filed.body);
    let again = send();
    again.conforms("POST", "/intake/reports");
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["case_reference"], filed.body["case_reference"]);
    assert_eq!(again.body["receipt_code"], filed.body["receipt_code"]);
    let cases = store_text(&app).iter().filter(|(k, _)| k.starts_with("case/") && k.matches('/').count() == 1).count();
    assert_eq!(cases, 1);
    report_injected("trap after the idempotency claim", 1);
}

#[test]
fn reporters_and_confidants_racing_a_purge_leave_nothing_of_the_case() {
    let app = app();
    let token = ngb(&app);
    let stories: Vec<(String, String)> = (0..4)
        .map(|_| {
            let (case, receipt) = file_mayor_report(&app);
            let etag = read(&app, &token, &case).header("etag").unwrap().to_string();
            let r = staff(
                &app,
                &token,
                "POST",
                &case_path(&case, "/status"),
                &[("if-match", &etag)],
                Some(json!({"status": "closed", "reason": "afgerond"})),
            );
            r.conforms("POST", "/triage/cases/{case_id}/status");
            assert_eq!(r.status, 200, "{}", r.body);
            (case, receipt)
        })
        .collect();
    app.advance_clock(Duration::from_secs(366 * 24 * 3600));
    let token = ngb(&app);
    let done = AtomicBool::new(false);
    let (mut writes, mut reads) = (0, 0);
    std::thread::scope(|s| {
        let racers: Vec<_> = stories
            .iter()
            .flat_map(|(case, receipt)| {
                let (app, token, done) = (&app, &token, &done);
                let reporter = s.spawn(move || {
                    let mut n = 0;
                    while !done.load(Ordering::SeqCst) {
                        let body = json!({"receipt_code": receipt, "text": "Hij is er weer."});
                        let r = post_json(app, "/intake/reports/messages", &body);
                        r.conforms("POST", "/intake/reports/messages");
                        assert!([201, 404, 429, 503].contains(&r.status), "{} {}", r.status, r.body);
                        n += 1;
                    }
                    (n, 0)
                });
                let confidant = s.spawn(move || {
                    let mut n = 0;
                    while !done.load(Ordering::SeqCst) {
                        let r = staff(app, token, "GET", &case_path(case, ""), &[], None);
                        r.conforms("GET", "/triage/cases/{case_id}");
                        assert!([200, 404, 503].contains(&r.status), "{} {}", r.status, r.body);
                        n += 1;
                    }
                    (0, n)
                });
                [reporter, confidant]
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let report = internal_post(&app, "/triage/sweep");
        assert_eq!(report["cases_purged"], stories.len(), "{report}");
        std::thread::sleep(Duration::from_millis(300));
        done.store(true, Ordering::SeqCst);
        for racer in racers {
            let (w, r) = racer.join().unwrap();
            writes += w;
            reads += r;
        }
    });
    // What the racers left for the sweeps is settled by them: pending messages at once,
    // an outbox event whose change lost to the purge after 5 minutes (docs/triage.md).
    app.advance_clock(Duration::from_secs(600));
    sweep(&app);
    sweep(&app);
    internal_post(&app, "/intake/sweep");
    for (case, _) in &stories {
        let left: Vec<String> = store_text(&app)
            .into_iter()
            .filter(|(k, v)| k.contains(case.as_str()) || v.contains(case.as_str()))
            .map(|(k, _)| k)
            .filter(|k| !k.starts_with("triage/org-audit/") && !k.starts_with("ntf/"))
            .collect();
        assert!(left.is_empty(), "{case}: left after the purge: {left:?}");
    }
    println!("faults: purge race: {writes} reporter messages and {reads} confidant reads raced the purge of 4 cases");
    report_injected("purge races", stories.len());
}
