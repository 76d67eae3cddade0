//! The split deployment end to end: each component runs as its own app from its
//! `deploy/<component>/spin.toml`, the four apps share one key-value store (a SQLite file,
//! or one Redis database with `WEERBAAR_TEST_STORE=redis`, as in production), and every call between them goes
//! over real HTTP on loopback, through the peer URL variables, as between pods.
//!
//! Build the components first:
//! `cargo build --target wasm32-wasip2 --release -p intake -p triage -p directory -p notification`.

use crate::e2e::receiver::Receiver;
use crate::e2e::*;
use serde_json::{json, Value};
use shared::crypto::base64_encode;
use std::path::PathBuf;
use std::time::Instant;
use weerbaar_tests::{Options, StoreBacking, TestApp};

/// `deploy/<component>/spin.toml`, with the same secrets every app of the deployment shares.
fn split(component: &str, store: &StoreBacking) -> Options {
    let manifest =
        weerbaar_tests::project_manifest().parent().unwrap().join("deploy").join(component).join("spin.toml");
    let mut o = Options::new(manifest);
    let shared_secrets = [
        ("case_keys", keyring_spec()),
        ("directory_keys", directory_keys()),
        ("webhook_keys", webhook_keys()),
        ("record_mac_key", record_mac_key()),
        ("receipt_hmac_key", base64_encode(&[12u8; 32])),
        ("internal_secret", INTERNAL_SECRET.to_string()),
        ("admin_token", ADMIN_TOKEN.to_string()),
    ];
    // Each app declares only the secrets its component reads; give it just those, as an
    // operator's Secret per app would.
    let declared = weerbaar_tests::manifest::Manifest::load(&o.manifest).unwrap().variables;
    for (name, value) in shared_secrets {
        if declared.contains_key(name) {
            o = o.variable(name, value);
        }
    }
    o.environment_variables = false;
    o.echo_logs = false;
    o.store = store.clone();
    o
}

struct Deployment {
    intake: TestApp,
    triage: TestApp,
    directory: TestApp,
    notification: TestApp,
    dir: PathBuf,
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts the four apps in dependency order: the leaves first, then whoever calls them,
/// each told its peers' real URLs.
fn deploy(name: &str) -> Deployment {
    let dir = std::env::temp_dir().join(format!("weerbaar-split-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = shared_backing(&dir);
    let directory = start(split("directory", &store));
    let notification = start(
        split("notification", &store)
            .variable("webhook_allowed_http_hosts", "127.0.0.1")
            .variable("webhook_outbound_host_a", "http://127.0.0.1:*"),
    );
    let triage = start(
        split("triage", &store)
            .variable("directory_url", directory.url())
            .variable("notification_url", notification.url()),
    );
    let intake = start(split("intake", &store).variable("triage_url", triage.url()));
    Deployment { intake, triage, directory, notification, dir }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn staff(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
    let auth = bearer(token);
    let mut headers = vec![("authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    call(app, method, path, &headers, body.map(|b| serde_json::to_vec(&b).unwrap()))
}

fn internal(app: &TestApp, path: &str) -> Reply {
    call(app, "POST", path, &[("weerbaar-internal-secret", INTERNAL_SECRET)], None)
}

// ------------------------------------------------------------------ the tests

/// The whole story across four separately deployed apps: a peer is added to the
/// directory and a webhook subscribed; a P1 report filed at intake is triaged (matched
/// against the directory) and its webhook arrives signed at the coordinators' receiver
/// before intake answers; a confidant of the right organisation reads the case,
/// acknowledges, assigns the peer, messages the reporter, who reads it back with the
/// receipt code at intake, and closes the case.
#[test]
fn the_full_story_runs_across_four_separately_deployed_apps() {
    let d = deploy("story");

    // Every app answers its own health route, and only its own routes.
    for (app, component) in
        [(&d.intake, "intake"), (&d.triage, "triage"), (&d.directory, "directory"), (&d.notification, "notification")]
    {
        let health = get(app, &format!("/{component}/health"));
        health.conforms("GET", &format!("/{component}/health"));
        assert_eq!(health.status, 200, "{component}: {}", health.body);
        assert_eq!(health.body["store"], "ok", "{component} reaches the shared store");
    }
    assert_eq!(get(&d.intake, "/triage/health").status, 404, "intake's app serves no triage route");

    // Set-up through each owner's app: a peer in the directory, a webhook subscription.
    let peer = json!({
        "name": "Anna de Vries", "kind": "peer", "role": "mayor", "organisation": "ngb",
        "municipality": "Amersfoort", "regions": ["VR09"], "languages": ["nl"], "capacity": 3,
        "contact": { "email": "anna@example.org" }
    });
    let member = staff(&d.directory, ADMIN_TOKEN, "POST", "/directory/members", Some(peer));
    member.conforms("POST", "/directory/members");
    assert_eq!(member.status, 201, "{}", member.body);
    let receiver = Receiver::start();
    let subscription = staff(
        &d.notification,
        ADMIN_TOKEN,
        "POST",
        "/notification/subscriptions",
        Some(
            json!({ "url": receiver.url("/hook"), "description": "coordinators", "event_types": ["case.triaged"], "min_priority": "P1" }),
        ),
    );
    subscription.conforms("POST", "/notification/subscriptions");
    assert_eq!(subscription.status, 201, "{}", subscription.body);
    let secret = subscription.body["secret"].as_str().unwrap().to_string();

    // The reporter files a P1 report at intake's app.
    let report = json!({
        "role": "mayor", "relation": "self", "region": "VR09", "municipality": "Wijk bij Duurstede",
        "request_kind": "incident", "incident_kinds": ["threat_of_violence"], "immediate_danger": true,
        "description": "Een man met een mes staat voor mijn deur.", "name": "Jeroen Koolhoven",
        "contact": { "channel": "phone", "phone": "+31 6 12345678" }, "language": "nl"
    });
    let started = Instant::now();
    let filed = post_json(&d.intake, "/intake/reports", &report);
    let answered = started.elapsed();
    filed.conforms("POST", "/intake/reports");
    assert_eq!(filed.status, 201, "{}", filed.body);
    let case = filed.body["case_reference"].as_str().unwrap().to_string();

    // The signed webhook reached the receiver within the reporter's request:
    // intake → triage → notification → receiver, every hop over real HTTP.
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1, "one case.triaged webhook before intake answered: {hits:?}");
    let hit = &hits[0];
    assert!(hit.verifies(&secret), "the webhook signature verifies with the subscription's secret");
    let event = hit.json();
    assert_eq!(event["type"], "case.triaged");
    assert_eq!(event["data"]["priority"], "P1");
    assert_eq!(event["data"]["case_reference"], case.as_str());
    let text = String::from_utf8_lossy(&hit.body);
    for personal in ["Koolhoven", "Duurstede", "12345678", "met een mes", filed.body["receipt_code"].as_str().unwrap()]
    {
        assert!(!text.contains(personal), "personal data in a webhook: {personal}");
    }
    println!(
        "split P1 latency: intake request -> webhook received {:.1} ms; intake answered after {:.1} ms",
        hit.at.duration_since(started).as_secs_f64() * 1000.0,
        answered.as_secs_f64() * 1000.0
    );

    // One correlation id follows the report through every app's request log: intake's
    // answer names it, and triage's and notification's JSON lines for the hand-offs
    // carry it. No app logs anything personal.
    let correlation = filed.header("x-correlation-id").expect("x-correlation-id on the answer").to_string();
    for (app, component, route) in [
        (&d.intake, "intake", "/intake/reports"),
        (&d.triage, "triage", "/triage/internal/cases"),
        // A new case's two events (created, triaged) go in one batch.
        (&d.notification, "notification", "/notification/internal/events/batch"),
    ] {
        let lines: Vec<Value> = app.logs().iter().filter_map(|l| serde_json::from_str(&l.line).ok()).collect();
        assert!(
            lines.iter().any(|l| l["correlation_id"] == correlation.as_str()
                && l["route"] == route
                && l["component"] == component
                && l["status"].is_u64()
                && l["duration_ms"].is_u64()),
            "{component} logged {route} under {correlation}: {lines:?}"
        );
        let text = app.logs_text();
        for personal in ["Koolhoven", "Duurstede", "12345678", "met een mes"] {
            assert!(!text.contains(personal), "{component} logged personal data: {personal}");
        }
    }

    // A confidant of the owning organisation (mayors → NGB) reads the triaged case at
    // triage's app, with a token the bootstrap admin made there.
    let created = staff(
        &d.triage,
        ADMIN_TOKEN,
        "POST",
        "/triage/tokens",
        Some(json!({ "organisation": "ngb", "role": "confidant", "holder": "Sanne Visser" })),
    );
    created.conforms("POST", "/triage/tokens");
    assert_eq!(created.status, 201, "{}", created.body);
    let ngb = created.body["token"].as_str().unwrap().to_string();
    let view = staff(&d.triage, &ngb, "GET", &format!("/triage/cases/{case}"), None);
    view.conforms("GET", "/triage/cases/{case_id}");
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.body["status"], "triaged");
    assert_eq!(view.body["assessment"]["priority"], "P1", "{}", view.body);
    assert_eq!(view.body["rematch_pending"], false, "triage reached the directory's app: {}", view.body);
    let listed = staff(&d.triage, &ngb, "GET", "/triage/cases", None);
    listed.conforms("GET", "/triage/cases");
    assert!(listed.body.to_string().contains(&case), "the case is in NGB's list: {}", listed.body);

    // The confidant works the case at triage's app: acknowledge, assign the directory's
    // peer (triage books them at directory's app), message the reporter.
    let member_id = member.body["id"].as_str().unwrap().to_string();
    let mut etag = view.header("etag").expect("an ETag on the case").to_string();
    let work = |rest: &str, body: Option<Value>, etag: &mut String| {
        let mut headers = vec![("if-match", etag.clone())];
        headers.push(("authorization", bearer(&ngb)));
        if body.is_some() {
            headers.push(("content-type", "application/json".to_string()));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = call(
            &d.triage,
            "POST",
            &format!("/triage/cases/{case}{rest}"),
            &headers,
            body.map(|b| serde_json::to_vec(&b).unwrap()),
        );
        r.conforms("POST", &format!("/triage/cases/{{case_id}}{rest}"));
        assert_eq!(r.status, 200, "{rest}: {}", r.body);
        *etag = r.header("etag").expect("a new ETag").to_string();
        r
    };
    work("/acknowledge", None, &mut etag);
    let assigned = work("/assign", Some(json!({ "confidant": "Desk NGB", "members": [member_id] })), &mut etag);
    assert!(assigned.body.to_string().contains(&member_id), "the peer is on the case: {}", assigned.body);
    let message = staff(
        &d.triage,
        &ngb,
        "POST",
        &format!("/triage/cases/{case}/messages"),
        Some(json!({ "text": "Wij bellen u binnen het uur." })),
    );
    message.conforms("POST", "/triage/cases/{case_id}/messages");
    assert_eq!(message.status, 201, "{}", message.body);

    // The reporter reads the answer at intake's app with the receipt code, from the
    // same shared store.
    let receipt = json!({ "receipt_code": filed.body["receipt_code"].as_str().unwrap() });
    let status = post_json(&d.intake, "/intake/reports/status", &receipt);
    status.conforms("POST", "/intake/reports/status");
    assert_eq!(status.status, 200, "{}", status.body);
    assert!(
        status.body["messages"].to_string().contains("Wij bellen u binnen het uur."),
        "the confidant's message reaches the reporter: {}",
        status.body
    );

    // The confidant closes the case.
    work("/status", Some(json!({ "status": "in_progress", "reason": "gesprek gevoerd" })), &mut etag);
    let closed = work("/status", Some(json!({ "status": "closed", "reason": "afgerond" })), &mut etag);
    assert_eq!(closed.body["status"], "closed", "{}", closed.body);
    let status = post_json(&d.intake, "/intake/reports/status", &receipt);
    assert_eq!(status.body["status"], "closed", "the reporter sees it closed: {}", status.body);

    // Nothing is waiting: triage's outbox was delivered, so the sweeps find no work.
    for (app, path) in [(&d.triage, "/triage/sweep"), (&d.notification, "/notification/sweep")] {
        let swept = internal(app, path);
        swept.conforms("POST", path);
        assert_eq!(swept.status, 200, "{path}: {}", swept.body);
    }
    assert_eq!(receiver.hits().len(), 1, "a sweep never sends a delivered webhook again");
}

/// The internal routes are as closed in a split deployment, where they are reachable
/// over the network, as in one app: without the shared secret, nothing is accepted.
#[test]
fn internal_routes_of_each_app_refuse_callers_without_the_shared_secret() {
    let d = deploy("internal");
    let handover = json!({ "case_id": "case_0000000000000000000000000a" });
    for (app, path) in [
        (&d.triage, "/triage/internal/cases"),
        (&d.triage, "/triage/sweep"),
        (&d.directory, "/directory/internal/match"),
        (&d.notification, "/notification/internal/events"),
        (&d.notification, "/notification/internal/events/batch"),
        (&d.notification, "/notification/sweep"),
        (&d.intake, "/intake/sweep"),
    ] {
        for secret in [None, Some("not-the-internal-secret-000000000000000")] {
            let mut headers = vec![("content-type", "application/json")];
            if let Some(s) = secret {
                headers.push(("weerbaar-internal-secret", s));
            }
            let r = call(app, "POST", path, &headers, Some(serde_json::to_vec(&handover).unwrap()));
            r.conforms("POST", path);
            assert_eq!(r.status, 401, "{path} with {secret:?}: {}", r.body);
        }
    }
}

/// A split app has no in-app peer to fall back on: started without its peer URL, it
/// refuses to start and names the variable, as `spin up` does.
#[test]
fn a_split_app_without_its_peer_url_refuses_to_start() {
    // It refuses before it opens a store.
    let store = StoreBacking::Memory;
    let intake = TestApp::start(split("intake", &store));
    let error = format!("{:#}", intake.err().expect("intake must not start without triage_url"));
    assert!(error.contains("triage_url"), "{error}");
    let triage = TestApp::start(split("triage", &store).variable("directory_url", "http://127.0.0.1:9"));
    let error = format!("{:#}", triage.err().expect("triage must not start without notification_url"));
    assert!(error.contains("notification_url"), "{error}");
}

/// Rotating the keyring across separate apps, as `docs/operations.md` describes: while
/// intake already seals with a new key that triage lacks, a confidant cannot read the
/// new case (nothing is lost: the report is stored); once triage has the key (phase 1
/// of the rotation: the new key added last), the same case opens, and so do cases
/// sealed under the old key.
#[test]
fn a_keyring_rotated_on_intake_before_triage_has_the_key_is_readable_once_triage_gets_it() {
    let key = |byte: u8| base64_encode(&[byte; 32]);
    let (old, new) = (format!("k1:{}", key(11)), format!("k2:{}", key(42)));
    let dir = std::env::temp_dir().join(format!("weerbaar-split-rotation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = shared_backing(&dir);
    let directory = start(split("directory", &store));
    let notification = start(split("notification", &store));
    let triage_with = |ring: &str| {
        start(
            split("triage", &store)
                .variable("case_keys", ring)
                .variable("directory_url", directory.url())
                .variable("notification_url", notification.url()),
        )
    };
    let report = |municipality: &str| {
        json!({
            "role": "mayor", "relation": "self", "region": "VR09", "municipality": municipality,
            "request_kind": "incident", "incident_kinds": ["intimidation"], "immediate_danger": false,
            "description": "Iemand volgt mij naar huis.", "contact": { "channel": "phone", "phone": "+31 6 11111111" }
        })
    };

    // Before the rotation: every app seals and opens with k1.
    let triage = triage_with(&old);
    let intake_old = start(split("intake", &store).variable("triage_url", triage.url()));
    let before = post_json(&intake_old, "/intake/reports", &report("Zeist"));
    assert_eq!(before.status, 201, "{}", before.body);
    drop(intake_old);

    // Intake rolled out with k2 first while triage still has only k1 (phase 1 skipped).
    let intake_new = start(
        split("intake", &store).variable("case_keys", format!("{new},{old}")).variable("triage_url", triage.url()),
    );
    let during = post_json(&intake_new, "/intake/reports", &report("Houten"));
    assert_eq!(during.status, 201, "the reporter's report is kept whatever triage can do: {}", during.body);
    let case = during.body["case_reference"].as_str().unwrap().to_string();
    let ngb = {
        let r = staff(
            &triage,
            ADMIN_TOKEN,
            "POST",
            "/triage/tokens",
            Some(json!({ "organisation": "ngb", "role": "confidant", "holder": "Ruud Mulder" })),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["token"].as_str().unwrap().to_string()
    };
    let unreadable = staff(&triage, &ngb, "GET", &format!("/triage/cases/{case}"), None);
    assert_eq!(unreadable.status, 500, "triage cannot open what was sealed with a key it lacks: {}", unreadable.body);
    assert!(
        triage.logs().iter().any(|l| l.line.contains("\"level\":\"error\"") && l.line.contains("k2")),
        "the operator's log names the missing key id"
    );
    drop(triage);

    // Triage gets the new key (k1 first, k2 last: phase 1), its sweep catches up, and
    // both cases open.
    let triage = triage_with(&format!("{old},{new}"));
    let swept = internal(&triage, "/triage/sweep");
    assert_eq!(swept.status, 200, "{}", swept.body);
    for (label, id) in [("before", before.body["case_reference"].as_str().unwrap()), ("during", case.as_str())] {
        let view = staff(&triage, &ngb, "GET", &format!("/triage/cases/{id}"), None);
        view.conforms("GET", "/triage/cases/{case_id}");
        assert_eq!(view.status, 200, "{label}: {}", view.body);
        assert_eq!(view.body["status"], "triaged", "{label}: {}", view.body);
    }
    drop((triage, intake_new, directory, notification));
    let _ = std::fs::remove_dir_all(&dir);
}
