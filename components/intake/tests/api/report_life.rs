//! The life of a report through intake: filed, retried, looked up, answered, throttled.

use crate::common::*;
use serde_json::{json, Value};
use shared::case::{
    case_key, message_field, messages_log, pending_triage_log, CaseMessage, CaseRecord, MessageAuthor, PendingMessage,
};
use shared::case_keys::{data_key_key, CaseCipher, WrappedKey};
use shared::clock::Clock;
use shared::crypto::{FieldSealer, Keyring};
use shared::id::CaseId;
use shared::kv::memory::CasMode;
use shared::kv::versioned::{self, Versioned};
use shared::kv::{to_json, KeyValue};
use shared::random::SeededRandom;
use shared::time::Duration;

fn receipt_of(reply: &Reply) -> String {
    reply.body["receipt_code"].as_str().unwrap().to_string()
}

fn case_of(reply: &Reply) -> CaseId {
    CaseId::parse(reply.body["case_reference"].as_str().unwrap()).unwrap()
}

#[test]
fn a_filed_report_is_stored_and_answered_with_reference_and_receipt_code() {
    let h = Harness::new();
    let reply = h.file(&report());
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["status"], "received");
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert!(reply.headers.contains_key("x-correlation-id"));
    let case = case_of(&reply);
    let stored: Versioned<CaseRecord> = versioned::read(&*h.store, &case_key(&case)).unwrap().unwrap();
    assert_eq!(stored.data.status, shared::domain::CaseStatus::Received);
    assert_eq!(stored.data.facts.region, shared::domain::RegionCode::Vr09);
    assert_eq!(h.case_keys().len(), 1);
}

#[test]
fn the_sealed_details_open_only_for_their_own_case() {
    let h = Harness::new();
    let case = case_of(&h.file(&report()));
    let stored: Versioned<CaseRecord> = versioned::read(&*h.store, &case_key(&case)).unwrap().unwrap();
    let keyring = Keyring::parse(&keyring_spec()).unwrap();
    let cipher = CaseCipher::load(&*h.store, &keyring, &case).unwrap();
    let details: shared::case::ReporterDetails =
        cipher.open_json(&stored.data.reporter, case.as_str(), shared::case::REPORTER_FIELD).unwrap();
    assert_eq!(details.municipality, "Houten");
    assert_eq!(details.name.as_deref(), Some("Marieke van Dijkhuizen"));
    assert!(cipher.open(&stored.data.reporter, "case_00000000000000000000000000", "reporter").is_err());
    // Sealed with the case's own data key, which the keyring only wraps.
    assert_eq!(stored.data.reporter.kid, shared::crypto::DATA_KEY_KID);
    assert!(keyring.open(&stored.data.reporter, case.as_str(), shared::case::REPORTER_FIELD).is_err());
    let wrapped: Versioned<WrappedKey> = versioned::read(&*h.store, &data_key_key(&case)).unwrap().unwrap();
    assert_eq!(wrapped.data.wrapped.kid, "k1");
}

#[test]
fn the_store_holds_no_receipt_code_name_contact_or_description_in_clear() {
    let h = Harness::new();
    let reply = h.file(&report());
    let receipt = receipt_of(&reply);
    let digits = receipt.replace('-', "");
    h.post_json(
        "/intake/reports/messages",
        &json!({"receipt_code": receipt, "text": "Weer een brief van Dijkhuizen-hater"}),
    );
    for (key, value) in h.dump() {
        let text = String::from_utf8_lossy(&value);
        for needle in PERSONAL.iter().copied().chain([digits.as_str(), receipt.as_str(), "Weer een brief"]) {
            assert!(!text.contains(needle), "{needle:?} in clear in the value of {key}");
            assert!(!key.contains(needle), "{needle:?} in clear in key {key}");
        }
        assert!(!text.contains("203.0.113.7"), "client address in clear at {key}");
    }
}

#[test]
fn the_case_is_handed_to_triage_with_the_internal_secret_and_nothing_personal() {
    let h = Harness::new();
    let case = case_of(&h.file(&report()));
    let sent = h.outbound.sent();
    assert_eq!(sent.len(), 1);
    let call = &sent[0];
    assert_eq!(call.uri().to_string(), format!("{TRIAGE_URL}/triage/internal/cases"));
    assert_eq!(call.headers()["weerbaar-internal-secret"], INTERNAL_SECRET);
    let body: Value = serde_json::from_slice(call.body()).unwrap();
    assert_eq!(body, json!({ "case_id": case }));
}

#[test]
fn triage_unreachable_still_accepts_and_leaves_the_case_pending() {
    let h = Harness::new();
    h.triage_up.store(false, std::sync::atomic::Ordering::SeqCst);
    let reply = h.file(&report());
    assert_eq!(reply.status, 201);
    let case = case_of(&reply);
    let log = pending_triage_log();
    let last = log.last_slot(&*h.store).unwrap();
    let pending: Vec<Value> =
        log.read(&*h.store, 1, last).unwrap().iter().map(|(_, v)| serde_json::from_slice(v).unwrap()).collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["case_id"], json!(case));
    let stored: Versioned<CaseRecord> = versioned::read(&*h.store, &case_key(&case)).unwrap().unwrap();
    assert_eq!(stored.data.pending_triage_slot, Some(last));
}

#[test]
fn immediate_danger_advice_starts_with_112_in_dutch_and_english() {
    let h = Harness::new();
    let mut r = report();
    r["immediate_danger"] = json!(true);
    let dutch = h.file(&r);
    assert_eq!(dutch.body["emergency"], true);
    assert!(dutch.body["advice"][0].as_str().unwrap().contains("Bel direct 112"), "{}", dutch.body);

    r.as_object_mut().unwrap().remove("language");
    let english = h.request(
        "POST",
        "/intake/reports",
        &[("content-type", "application/json"), ("accept-language", "en-GB,en;q=0.9,nl;q=0.5")],
        serde_json::to_vec(&r).unwrap(),
    );
    assert!(english.body["advice"][0].as_str().unwrap().contains("Call 112"), "{}", english.body);

    let calm = h.file(&report());
    assert_eq!(calm.body["emergency"], false);
    assert!(!calm.body["advice"].to_string().contains("112"));
}

fn file_with_key(h: &Harness, key: &str, report: &Value) -> Reply {
    h.request(
        "POST",
        "/intake/reports",
        &[("content-type", "application/json"), ("idempotency-key", key)],
        serde_json::to_vec(report).unwrap(),
    )
}

#[test]
fn a_retried_submission_returns_the_same_case_and_receipt_never_a_second_case() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        let first = file_with_key(&h, "retry-7f3a", &report());
        let second = file_with_key(&h, "retry-7f3a", &report());
        assert_eq!(first.status, 201);
        assert_eq!(second.status, 201);
        assert_eq!(second.headers["idempotent-replayed"], "true");
        assert_eq!(case_of(&first), case_of(&second));
        assert_eq!(receipt_of(&first), receipt_of(&second));
        assert_eq!(h.case_keys().len(), 1, "{mode:?}");
        assert_eq!(h.status_of(&receipt_of(&second)).status, 200);
    }
}

/// The claim key of Idempotency-Key `key`, learnt from a harness that filed with it
/// (keys are keyed hashes; every harness has the same secrets).
fn claim_key_of(key: &str) -> String {
    let h = Harness::new();
    assert_eq!(file_with_key(&h, key, &report()).status, 201);
    h.dump().into_keys().find(|k| k.starts_with("idem/") && k.ends_with("/claim")).expect("a claim key")
}

#[test]
fn a_request_that_died_between_its_claim_and_the_case_write_does_not_block_the_key_forever() {
    let claim = claim_key_of("died-7f3a");
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        // What a request that trapped right after claiming leaves: its claim, stamped
        // with its time, and nothing else.
        h.store.increment(&claim, h.clock.now().unix_seconds()).unwrap();
        let busy = file_with_key(&h, "died-7f3a", &report());
        assert_eq!(busy.status, 409, "{mode:?}: a claim this young may still write its case");
        assert_eq!(busy.body["field"], "idempotency-key");
        assert!(h.case_keys().is_empty());
        h.advance(Duration::seconds(59));
        assert_eq!(file_with_key(&h, "died-7f3a", &report()).status, 409, "{mode:?}");

        h.advance(Duration::seconds(2));
        let filed = file_with_key(&h, "died-7f3a", &report());
        assert_eq!(filed.status, 201, "{mode:?}: the dead claim is taken over: {}", filed.body);
        assert!(filed.headers.get("idempotent-replayed").is_none());
        let again = file_with_key(&h, "died-7f3a", &report());
        assert_eq!(again.status, 201);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(case_of(&again), case_of(&filed));
        assert_eq!(receipt_of(&again), receipt_of(&filed));
        assert_eq!(h.case_keys().len(), 1, "{mode:?}: one case for the key");
        // Much later, still the same case, and the claims are listed for expiry.
        h.advance(Duration::hours(1));
        assert_eq!(case_of(&file_with_key(&h, "died-7f3a", &report())), case_of(&filed));
    }
}

#[test]
fn a_case_being_purged_is_gone_for_the_reporter_and_takes_no_message() {
    let h = Harness::new();
    let filed = h.file(&report());
    let (case, receipt) = (case_of(&filed), receipt_of(&filed));
    // Triage's retention sweep has closed and begun purging the case.
    let r = SeededRandom::new(5);
    versioned::update(&*h.store, &case_key(&case), &r, |c: &mut CaseRecord, _| {
        c.status = shared::domain::CaseStatus::Closed;
        c.work = Some(json!({"purging": "2027-11-29T03:00:00.000Z"}));
        Ok::<_, ()>(versioned::Change::Write(()))
    })
    .unwrap();
    let before = h.dump();
    let message = h.post_json("/intake/reports/messages", &json!({"receipt_code": receipt, "text": "Nog iets."}));
    assert_eq!(message.status, 404, "{}", message.body);
    assert_eq!(message.body["field"], "/receipt_code");
    assert_eq!(h.status_of(&receipt).status, 404);
    let after = h.dump();
    let changed: Vec<&String> = after
        .keys()
        .chain(before.keys())
        .filter(|k| !k.starts_with("limit/") && !k.starts_with("idx/expiring/") && after.get(*k) != before.get(*k))
        .collect();
    assert!(changed.is_empty(), "only the failed-lookup counter moves: {changed:?}");
}

#[test]
fn an_idempotency_key_reused_for_another_report_is_refused_and_writes_nothing() {
    let h = Harness::new();
    file_with_key(&h, "k-1", &report());
    let before = h.dump();
    let mut other = report();
    other["description"] = json!("Een ander incident.");
    let reply = file_with_key(&h, "k-1", &other);
    assert_eq!(reply.status, 422);
    assert_eq!(reply.body["type"], "urn:weerbaar:problem:idempotency-key-reused");
    assert_eq!(reply.body["field"], "idempotency-key");
    assert_eq!(h.dump(), before);
}

#[test]
fn different_keys_file_different_cases() {
    let h = Harness::new();
    let a = file_with_key(&h, "a", &report());
    let b = file_with_key(&h, "b", &report());
    assert_ne!(case_of(&a), case_of(&b));
    assert_ne!(receipt_of(&a), receipt_of(&b));
}

#[test]
fn a_failed_store_write_is_a_503_leaves_no_case_and_the_retry_succeeds() {
    let h = Harness::new();
    h.store.fail_writes(true);
    let reply = file_with_key(&h, "k-store", &report());
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body["type"], "urn:weerbaar:problem:store-unavailable");
    assert!(h.case_keys().is_empty());
    h.store.fail_writes(false);
    let retry = file_with_key(&h, "k-store", &report());
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(h.case_keys().len(), 1);
}

#[test]
fn status_lookup_shows_status_next_contact_and_confidant_messages() {
    let h = Harness::new();
    let filed = h.file(&report());
    let receipt = receipt_of(&filed);
    let case = case_of(&filed);

    let fresh = h.status_of(&receipt);
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.body["status"], "received");
    assert_eq!(fresh.body["next_contact_due"], Value::Null);
    assert_eq!(fresh.body["next_planned_contact"], Value::Null);
    assert_eq!(fresh.body["messages"], json!([]));
    assert_eq!(fresh.headers["cache-control"], "no-store");

    // Triage's part, done directly: an assessment and a confidant message.
    let r = SeededRandom::new(5);
    versioned::update(&*h.store, &case_key(&case), &r, |c: &mut CaseRecord, _| {
        c.status = shared::domain::CaseStatus::Triaged;
        c.assessment = Some(shared::case::Assessment {
            priority: shared::domain::Priority::P2,
            reasons: vec!["doxxing".into()],
            needs: vec![],
            organisation: shared::domain::Organisation::Wethoudersvereniging,
            first_contact_due: shared::time::Timestamp::parse("2026-11-28T07:00:00Z").unwrap(),
            triaged_at: shared::time::Timestamp::parse("2026-11-28T03:00:00Z").unwrap(),
        });
        // Triage keeps the earliest open check-in here; its purpose and notes stay in
        // triage's own bookkeeping.
        c.next_check_in = Some(shared::time::Timestamp::parse("2026-12-05T10:00:00Z").unwrap());
        Ok::<_, ()>(versioned::Change::Write(()))
    })
    .unwrap();
    let log = messages_log(&case);
    let slot = log.reserve(&*h.store).unwrap();
    let keyring = Keyring::parse(&keyring_spec()).unwrap();
    let message = CaseMessage {
        author: MessageAuthor::Confidant,
        at: shared::time::Timestamp::parse("2026-11-28T03:10:00Z").unwrap(),
        text: CaseCipher::load(&*h.store, &keyring, &case).unwrap().seal(
            b"Ik bel u om 9 uur.",
            case.as_str(),
            &message_field(slot),
            &r,
        ),
        follow_up: None,
    };
    h.store.set(&log.key(slot), &to_json(&message)).unwrap();

    let later = h.status_of(&receipt.replace('-', " "));
    assert_eq!(later.body["status"], "triaged");
    assert_eq!(later.body["next_contact_due"], "2026-11-28T07:00:00.000Z");
    assert_eq!(later.body["next_planned_contact"], "2026-12-05T10:00:00.000Z");
    assert_eq!(later.body["messages"][0]["author"], "confidant");
    assert_eq!(later.body["messages"][0]["text"], "Ik bel u om 9 uur.");
}

#[test]
fn a_follow_up_message_is_stored_and_shown_to_the_reporter() {
    let h = Harness::new();
    let receipt = receipt_of(&h.file(&report()));
    let added = h
        .post_json("/intake/reports/messages", &json!({"receipt_code": receipt, "text": "Vanochtend weer een brief."}));
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["message"]["author"], "reporter");
    let status = h.status_of(&receipt);
    assert_eq!(status.body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(status.body["messages"][0]["text"], "Vanochtend weer een brief.");
}

#[test]
fn a_follow_up_reporting_danger_gets_112_advice_in_the_reporters_language_and_goes_to_triage_at_once() {
    let h = Harness::new();
    let mut english = report();
    english["language"] = json!("en");
    let receipt = receipt_of(&h.file(&english));
    let plain = h.post_json("/intake/reports/messages", &json!({"receipt_code": receipt, "text": "Any news?"}));
    assert_eq!(plain.body["emergency"], false);
    assert!(!plain.body["advice"][0].as_str().unwrap().contains("112"));
    let urgent = h.post_json(
        "/intake/reports/messages",
        &json!({"receipt_code": receipt, "text": "He is back at my door.", "immediate_danger": true,
                "incident_kinds": ["threat_of_violence"]}),
    );
    assert_eq!(urgent.status, 201, "{}", urgent.body);
    assert_eq!(urgent.body["emergency"], true);
    assert_eq!(urgent.body["advice"][0], "Are you or is anyone else in danger right now? Call 112 immediately.");

    let calls: Vec<(String, Value)> = h
        .outbound
        .sent()
        .iter()
        .map(|r| (r.uri().path().to_string(), serde_json::from_slice(r.body()).unwrap()))
        .collect();
    let handed: Vec<&Value> = calls.iter().filter(|(p, _)| p == "/triage/internal/messages").map(|(_, b)| b).collect();
    assert_eq!(handed.len(), 2, "each message is handed to triage within its request");
    assert_eq!(handed[1]["slot"], 2);
    let case = handed[1]["case_id"].as_str().unwrap();
    let stored: CaseMessage =
        serde_json::from_slice(&h.dump()[&messages_log(&shared::id::CaseId::parse(case).unwrap()).key(2)]).unwrap();
    let follow_up = stored.follow_up.expect("the danger is stored with the message");
    assert!(follow_up.immediate_danger && !follow_up.threat_to_life);
    assert!(
        !h.dump().keys().any(|k| k.starts_with("idx/pending_messages/s/")),
        "triage took them in: no work left for its sweep"
    );
}

#[test]
fn a_follow_up_triage_cannot_take_is_left_for_its_sweep() {
    let h = Harness::new();
    let receipt = receipt_of(&h.file(&report()));
    h.triage_up.store(false, std::sync::atomic::Ordering::SeqCst);
    let added = h.post_json(
        "/intake/reports/messages",
        &json!({"receipt_code": receipt, "text": "Hij is er weer.", "threat_to_life": true}),
    );
    assert_eq!(added.status, 201, "the reporter never sees triage's outage: {}", added.body);
    assert_eq!(added.body["advice"][0], "Bent u of is iemand anders nu in gevaar? Bel direct 112.");
    let pending: Vec<PendingMessage> = h
        .dump()
        .iter()
        .filter(|(k, _)| k.starts_with("idx/pending_messages/s/"))
        .map(|(_, v)| serde_json::from_slice(v).unwrap())
        .collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].slot, 1);
}

#[test]
fn receipt_guessing_is_throttled_per_client_even_for_the_right_code() {
    let h = Harness::new();
    let receipt = receipt_of(&h.file(&report()));
    for i in 0..5 {
        let wrong = h.status_of(&format!("0000-0000-0000-000{i}"));
        assert_eq!(wrong.status, 404, "attempt {i}");
        assert_eq!(wrong.body["field"], "/receipt_code");
    }
    let blocked = h.status_of(&receipt);
    assert_eq!(blocked.status, 429);
    let retry_after: u64 = blocked.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after));
    let message = h.post_json("/intake/reports/messages", &json!({"receipt_code": receipt, "text": "x"}));
    assert_eq!(message.status, 429);

    let elsewhere = h.request(
        "POST",
        "/intake/reports/status",
        &[("content-type", "application/json"), ("spin-client-addr", "198.51.100.20:4000")],
        serde_json::to_vec(&json!({"receipt_code": receipt})).unwrap(),
    );
    assert_eq!(elsewhere.status, 200, "another client is not affected");

    h.advance(Duration::seconds(retry_after as i64));
    assert_eq!(h.status_of(&receipt).status, 200, "the next window starts afresh");
}

#[test]
fn submissions_are_limited_per_client_per_hour() {
    let h = Harness::new();
    for i in 0..10 {
        assert_eq!(h.file(&report()).status, 201, "submission {i}");
    }
    let refused = h.file(&report());
    assert_eq!(refused.status, 429);
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(h.case_keys().len(), 10);
    let other = h.request(
        "POST",
        "/intake/reports",
        &[("content-type", "application/json"), ("spin-client-addr", "[2001:db8::1]:443")],
        serde_json::to_vec(&report()).unwrap(),
    );
    assert_eq!(other.status, 201);
    h.advance(Duration::hours(1));
    assert_eq!(h.file(&report()).status, 201);
}

#[test]
fn a_missing_secret_fails_with_a_message_naming_it() {
    let mut h = Harness::new();
    h.vars.0.remove("case_keys");
    let reply = h.file(&report());
    assert_eq!((reply.status, reply.body["type"].as_str()), (503, Some("urn:weerbaar:problem:misconfigured")));
    assert!(reply.body["detail"].as_str().unwrap().contains("case_keys"), "{}", reply.body);
    assert!(h.dump().is_empty());
}

#[test]
fn a_short_secret_is_refused_at_use_and_health_says_misconfigured() {
    let mut h = Harness::new();
    let short = "only-twenty-characters";
    h.vars.set("internal_secret", short);
    let reply = h.file(&report());
    assert_eq!((reply.status, reply.body["type"].as_str()), (503, Some("urn:weerbaar:problem:misconfigured")));
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(detail.contains("internal_secret") && detail.contains("32"), "{detail}");
    assert!(!reply.body.to_string().contains(short), "never the value");
    assert!(h.dump().is_empty(), "nothing written");
    let health = h.request("GET", "/intake/health", &[], vec![]);
    assert_eq!((health.status, health.body["status"].as_str()), (503, Some("misconfigured")));
    assert_eq!(health.body["misconfigured"]["variable"], "internal_secret");
    assert!(!health.body.to_string().contains(short));
}

#[test]
fn health_reports_the_store() {
    let mut h = Harness::new();
    let up = h.request("GET", "/intake/health", &[], vec![]);
    assert_eq!((up.status, up.body["store"].clone()), (200, json!("ok")));
    h.store_down = true;
    let down = h.request("GET", "/intake/health", &[], vec![]);
    assert_eq!((down.status, down.body["store"].clone()), (503, json!("unavailable")));
}

#[test]
fn unknown_routes_and_methods_are_problems() {
    let h = Harness::new();
    let missing = h.request("GET", "/intake/nothing", &[], vec![]);
    assert_eq!(missing.status, 404);
    let wrong = h.request("GET", "/intake/reports", &[], vec![]);
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.headers["allow"], "POST");
}

#[test]
fn every_route_is_in_openapi_and_every_intake_operation_is_served() {
    // "/intake" without the slash too: the report form is served there as well.
    shared::contract::assert_routes_documented(intake::routes::ROUTES, "/intake");
}

#[test]
fn the_store_cost_of_filing_a_report_is_small() {
    let h = Harness::new();
    let cost = |f: &dyn Fn()| {
        h.store.reset_ops();
        f();
        h.store.ops()
    };
    // The first request of a client in an hour also lists its new counter for expiry.
    let first = cost(&|| assert_eq!(h.file(&report()).status, 201));
    let steady = cost(&|| assert_eq!(h.file(&report()).status, 201));
    let keyed = cost(&|| assert_eq!(file_with_key(&h, "cost", &report()).status, 201));
    println!("KV operations to file a report: first of the hour {first}, then {steady}; with Idempotency-Key {keyed}");
    assert!(first <= 6 && steady <= 4 && keyed <= 7, "{first} / {steady} / {keyed}");
}

fn sweep(h: &Harness, secret: &str) -> Reply {
    h.request("POST", "/intake/sweep", &[("weerbaar-internal-secret", secret)], vec![])
}

#[test]
fn the_sweep_needs_the_internal_secret() {
    let h = Harness::new();
    let refused = sweep(&h, "wrong");
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body["field"], "weerbaar-internal-secret");
}

#[test]
fn the_sweep_forgets_counters_after_their_window_and_idempotency_after_a_day() {
    let h = Harness::new();
    let first = file_with_key(&h, "k-day", &report());
    h.status_of("0000-0000-0000-0000");
    let keys_with = |prefix: &str| h.dump().keys().filter(|k| k.starts_with(prefix)).count();
    // Failures only ever add to their counter, so it needs no listing claim.
    assert_eq!(keys_with("limit/"), 2, "a submission counter and a failed-lookup counter");
    assert_eq!(keys_with("idem/"), 2);

    let now = sweep(&h, INTERNAL_SECRET);
    assert_eq!(now.status, 200);
    assert_eq!(
        now.body,
        json!({"limit_counters": 0, "proof_of_work_challenges": 0, "idempotency_records": 0, "more": false})
    );

    h.advance(Duration::hours(2));
    let later = sweep(&h, INTERNAL_SECRET);
    assert_eq!(
        later.body,
        json!({"limit_counters": 2, "proof_of_work_challenges": 0, "idempotency_records": 0, "more": false})
    );
    assert_eq!(keys_with("limit/"), 0);
    assert_eq!(file_with_key(&h, "k-day", &report()).body["case_reference"], first.body["case_reference"]);

    h.advance(Duration::hours(23));
    let next_day = sweep(&h, INTERNAL_SECRET);
    assert_eq!(next_day.body["idempotency_records"], 1);
    assert_eq!(keys_with("idem/"), 0);
    assert_ne!(
        file_with_key(&h, "k-day", &report()).body["case_reference"],
        first.body["case_reference"],
        "after 24 hours the key is free again"
    );
    assert!(h.case_keys().len() == 2);
}
