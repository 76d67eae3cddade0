//! Data retention end to end: a closed case is purged after `case_retention_days`
//! (default 365) by the sweeps, and afterwards no key and no value of the store holds
//! its id; a reopened case and an open case of the same age are kept.
//!
//! Build the components first:
//! `cargo build --target wasm32-wasip2 --release -p intake -p triage -p directory -p notification`.

use crate::e2e::receiver::Receiver;
use crate::e2e::*;
use serde_json::{json, Value};
use std::time::Duration;
use weerbaar_tests::TestApp;

fn app() -> TestApp {
    let o = webhook_options();
    start(o)
}

fn ngb_token(app: &TestApp) -> String {
    let body = json!({"organisation": "ngb", "role": "confidant", "holder": "Anne de Wit"});
    let r = staff(app, ADMIN_TOKEN, "POST", "/triage/tokens", &[], Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["token"].as_str().unwrap().to_string()
}

/// Runs one step of the confidant API with the case's current ETag; returns the new one.
fn step(app: &TestApp, token: &str, case: &str, rest: &str, etag: &str, body: Option<Value>) -> String {
    let r = staff(app, token, "POST", &format!("/triage/cases/{case}{rest}"), &[("if-match", etag)], body);
    r.conforms("POST", &format!("/triage/cases/{{case_id}}{rest}"));
    assert_eq!(r.status, 200, "{rest}: {}", r.body);
    r.header("etag").unwrap().to_string()
}

fn etag_of(app: &TestApp, token: &str, case: &str) -> String {
    let r = staff(app, token, "GET", &format!("/triage/cases/{case}"), &[], None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.header("etag").unwrap().to_string()
}

/// Acknowledges, assigns and closes a case, with a reporter and a confidant message.
fn work_and_close(app: &TestApp, token: &str, case: &str, receipt: &str) -> String {
    let etag = etag_of(app, token, case);
    let etag = step(app, token, case, "/acknowledge", &etag, None);
    let etag = step(app, token, case, "/assign", &etag, Some(json!({"confidant": "Desk Noord"})));
    let from_reporter = post_json(
        app,
        "/intake/reports/messages",
        &json!({"receipt_code": receipt, "text": "Hij stond er gisteren weer."}),
    );
    assert_eq!(from_reporter.status, 201, "{}", from_reporter.body);
    let to_reporter = staff(
        app,
        token,
        "POST",
        &format!("/triage/cases/{case}/messages"),
        &[],
        Some(json!({"text": "We bellen u morgen."})),
    );
    assert_eq!(to_reporter.status, 201, "{}", to_reporter.body);
    // The reporter's message changed the case (its unread count): read it again.
    assert_ne!(etag_of(app, token, case), etag, "a reporter's message is a new case version");
    let etag = etag_of(app, token, case);
    step(app, token, case, "/status", &etag, Some(json!({"status": "closed", "reason": "afgerond"})))
}

/// Keys of the store whose key or value holds `needle`.
fn traces(app: &TestApp, needle: &str) -> Vec<String> {
    store_text(app).into_iter().filter(|(k, v)| k.contains(needle) || v.contains(needle)).map(|(k, _)| k).collect()
}

/// The reporter's sealed details as the case record holds them.
fn sealed_reporter(app: &TestApp, case: &str) -> shared::crypto::Sealed {
    let (_, record) = store_text(app).into_iter().find(|(k, _)| k == &format!("case/{case}")).unwrap();
    let record: Value = serde_json::from_str(&record).unwrap();
    serde_json::from_value(record["data"]["reporter"].clone()).unwrap()
}

/// The case's data key as stored (wrapped by the case keyring), if it has one.
fn data_key_of(app: &TestApp, case: &str) -> Option<shared::crypto::Sealed> {
    let (_, stored) = store_text(app).into_iter().find(|(k, _)| k == &format!("case/{case}/key"))?;
    let stored: Value = serde_json::from_str(&stored).unwrap();
    Some(serde_json::from_value(stored["data"]["wrapped"].clone()).unwrap())
}

fn sweep(app: &TestApp, path: &str) -> Value {
    let r = call(app, "POST", path, &[("weerbaar-internal-secret", INTERNAL_SECRET)], None);
    r.conforms("POST", path);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.body
}

#[test]
fn a_closed_case_leaves_nothing_in_the_store_after_the_retention_and_others_are_kept() {
    retention_story(app());
}

fn retention_story(app: TestApp) {
    let receiver = Receiver::start();
    let hook = json!({"url": receiver.url("/hook"), "description": "coordinators"});
    let subscribed = staff(&app, ADMIN_TOKEN, "POST", "/notification/subscriptions", &[], Some(hook));
    assert_eq!(subscribed.status, 201, "{}", subscribed.body);
    let ngb = ngb_token(&app);

    let (closed, receipt) = file_mayor_report(&app);
    let (open, _) = file_mayor_report(&app);
    let (reopened, reopened_receipt) = file_mayor_report(&app);
    work_and_close(&app, &ngb, &closed, &receipt);
    let etag = work_and_close(&app, &ngb, &reopened, &reopened_receipt);
    step(&app, &ngb, &reopened, "/status", &etag, Some(json!({"status": "reopened", "reason": "nieuw incident"})));

    assert!(receiver.types_for(&closed).contains(&"case.closed".to_string()));
    assert!(!traces(&app, &closed).is_empty(), "the closed case is stored before its time");
    // A copy of the case taken now (a backup): it opens with the keyring through the
    // case's wrapped data key, and only so.
    let copy = sealed_reporter(&app, &closed);
    let keyring = shared::crypto::Keyring::parse(&keyring_spec()).unwrap();
    let wrapped = data_key_of(&app, &closed).expect("the case has a wrapped data key");
    let data_key = shared::crypto::DataKey::unwrap(&keyring, &wrapped, &closed).unwrap();
    assert!(data_key.open(&copy, &closed, shared::case::REPORTER_FIELD).is_ok());
    assert!(keyring.open(&copy, &closed, shared::case::REPORTER_FIELD).is_err(), "the keyring alone opens nothing");

    app.advance_clock(Duration::from_secs(366 * 24 * 3600));
    // A year on, the desk works with a new token: the old one expired after 90 days.
    let ngb = ngb_token(&app);
    sweep(&app, "/intake/sweep");
    let triage = sweep(&app, "/triage/sweep");
    assert_eq!(triage["cases_purged"], 1, "{triage}");
    assert_eq!(triage["purges_cancelled"], 1, "the reopened case only loses its stale entry: {triage}");
    let notification = sweep(&app, "/notification/sweep");
    assert!(notification["purged_messages"].as_u64().unwrap() >= 3, "{notification}");

    // Nothing of the purged case is left but its organisation's record of the purge.
    let left = traces(&app, &closed);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with("triage/org-audit/ngb/purged/"), "{left:?}");
    let audit = staff(&app, ADMIN_TOKEN, "GET", "/triage/audit", &[], None);
    audit.conforms("GET", "/triage/audit");
    assert_eq!(audit.status, 200, "{}", audit.body);
    let purged = audit.body["purged"].as_array().unwrap();
    assert_eq!(purged.len(), 1, "{}", audit.body);
    assert_eq!(purged[0]["case_id"], closed.to_string());
    assert_eq!(purged[0].as_object().unwrap().len(), 3, "organisation, case id and time only: {}", purged[0]);
    assert!(data_key_of(&app, &closed).is_none(), "crypto-shredded: the wrapped data key is gone");
    assert!(keyring.open(&copy, &closed, shared::case::REPORTER_FIELD).is_err(), "the copy stays sealed for good");
    let lookup = post_json(&app, "/intake/reports/status", &json!({ "receipt_code": receipt }));
    assert_eq!(lookup.status, 404, "{}", lookup.body);
    let gone = staff(&app, &ngb, "GET", &format!("/triage/cases/{closed}"), &[], None);
    assert_eq!(gone.status, 404);

    for kept in [&open, &reopened] {
        let r = staff(&app, &ngb, "GET", &format!("/triage/cases/{kept}"), &[], None);
        assert_eq!(r.status, 200, "{kept}: {}", r.body);
    }
    let status = post_json(&app, "/intake/reports/status", &json!({ "receipt_code": reopened_receipt }));
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.body["messages"].as_array().unwrap().len(), 2, "the reopened case keeps its messages");
}
