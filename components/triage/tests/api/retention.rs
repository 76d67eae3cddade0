//! Data retention: a closed case is purged after `case_retention_days`, with every key
//! that holds its id; a reopened case and an open one are kept.

use crate::common::*;
use serde_json::json;
use shared::case::{
    case_receipt_key, message_field, messages_log, receipt_key, CaseMessage, CaseReceipt, MessageAuthor, ReceiptEntry,
};
use shared::domain::{IncidentKind, Role};
use shared::id::CaseId;
use shared::kv::memory::CasMode;
use shared::kv::{to_json, KeyValue};
use shared::time::Duration;

fn case_path(id: &CaseId, rest: &str) -> String {
    format!("/triage/cases/{id}{rest}")
}

/// A triaged NGB case with a receipt and a reporter message (as intake writes them),
/// a confidant message, and a member assigned; returns it with its ETag.
fn worked_case(w: &World, token: &str) -> (CaseId, String) {
    let id = w.triaged(shared::case::ReportFacts { role: Role::Mayor, ..incident(&[IncidentKind::ThreatOfViolence]) });
    let hash = format!("hash-of-{}", id.as_str().len());
    let receipt = CaseReceipt { receipt_hash: hash.clone() };
    w.store.increment(&format!("{}/claim", receipt_key(&hash)), 1).unwrap();
    w.store
        .set_many(&[
            (receipt_key(&hash), to_json(&ReceiptEntry { case_id: id.clone() })),
            (case_receipt_key(&id), to_json(&receipt)),
        ])
        .unwrap();
    let log = messages_log(&id);
    let slot = log.reserve(&w.store).unwrap();
    let text = w.seal(&id, b"nog een brief", &message_field(slot));
    let message = CaseMessage { author: MessageAuthor::Reporter, at: w.clock_now(), text, follow_up: None };
    w.store.set_many(&[(log.key(slot), to_json(&message))]).unwrap();
    let etag = w.staff(token, "GET", &case_path(&id, ""), &[], None).etag();
    let assigned = w.staff(
        token,
        "POST",
        &case_path(&id, "/assign"),
        &[("if-match", &etag)],
        Some(json!({"confidant": "Desk Noord", "members": [MEMBER]})),
    );
    assert_eq!(assigned.status, 200, "{}", assigned.body);
    let reply = w.staff(token, "POST", &case_path(&id, "/messages"), &[], Some(json!({"text": "We bellen u morgen."})));
    assert_eq!(reply.status, 201, "{}", reply.body);
    // Two check-ins: one falls due (the due list), one is still ahead (a day list).
    let mut etag = assigned.etag();
    for (hours, note) in [(1, "nabellen"), (24 * 30, "nazorggesprek")] {
        let due_at = (w.clock_now() + Duration::hours(hours)).to_string();
        let body = json!({"due_at": due_at, "purpose": "aftercare_call", "note": note});
        let planned = w.staff(token, "POST", &case_path(&id, "/check-ins"), &[("if-match", &etag)], Some(body));
        assert_eq!(planned.status, 201, "{}", planned.body);
        etag = planned.etag();
    }
    w.advance(Duration::hours(2));
    w.sweep();
    assert!(etag != w.staff(token, "GET", &case_path(&id, ""), &[], None).etag(), "announced due: a new version");
    let etag = w.staff(token, "GET", &case_path(&id, ""), &[], None).etag();
    (id, etag)
}

fn set_status(w: &World, token: &str, id: &CaseId, etag: &str, to: &str) -> String {
    let reply = w.staff(
        token,
        "POST",
        &case_path(id, "/status"),
        &[("if-match", etag)],
        Some(json!({"status": to, "reason": "klaar"})),
    );
    assert_eq!(reply.status, 200, "{to}: {}", reply.body);
    reply.etag()
}

/// Keys and values of the store that mention `id`.
fn traces(w: &World, id: &CaseId) -> Vec<String> {
    w.store
        .dump()
        .into_iter()
        .filter(|(k, v)| k.contains(id.as_str()) || String::from_utf8_lossy(v).contains(id.as_str()))
        .map(|(k, _)| k)
        .collect()
}

/// What is left of a purged case besides its organisation's purge records, and how
/// many purge records name it (exactly one for a purged case).
fn after_purge(w: &World, id: &CaseId) -> (Vec<String>, usize) {
    let (records, rest): (Vec<_>, Vec<_>) =
        traces(w, id).into_iter().partition(|k| k.starts_with("triage/org-audit/ngb/purged/s/"));
    (rest, records.len())
}

#[test]
fn a_closed_case_is_purged_after_the_retention_with_every_key_that_holds_its_id() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let token = w.token("ngb", "confidant");
        let (id, etag) = worked_case(&w, &token);
        set_status(&w, &token, &id, &etag, "closed");
        let (open, _) = worked_case(&w, &token);
        assert!(!traces(&w, &id).is_empty());

        w.advance(Duration::days(364));
        let report = w.sweep();
        assert_eq!(report.body["cases_purged"], 0, "{mode:?}: not before its time");
        assert_eq!(w.record(&id).data.status, shared::domain::CaseStatus::Closed);

        w.advance(Duration::days(2));
        let report = w.sweep();
        assert_eq!(report.body["cases_purged"], 1, "{mode:?}: {}", report.body);
        // Nothing but the organisation's record that it was purged: the id and when.
        let left = traces(&w, &id);
        assert_eq!(left, vec!["triage/org-audit/ngb/purged/s/000000000001".to_string()], "{mode:?}");
        let purged: serde_json::Value = serde_json::from_slice(&w.store.dump()[&left[0]]).unwrap();
        let fields: Vec<&String> = purged.as_object().unwrap().keys().collect();
        assert_eq!(fields, ["case_id", "organisation", "purged_at"], "{mode:?}: {purged}");
        assert_eq!(w.staff(&token, "GET", &case_path(&id, ""), &[], None).status, 404);
        assert_eq!(w.record(&open).data.status, shared::domain::CaseStatus::Assigned, "an open case is kept");
        let releases = w
            .peers
            .lock()
            .unwrap()
            .directory_calls
            .iter()
            .filter(|(p, b)| p.ends_with("/release") && b["case_id"] == id.as_str())
            .count();
        assert_eq!(releases, 2, "released at close and again at the purge");
        assert_eq!(w.sweep().body["cases_purged"], 0, "{mode:?}: purged once");
    }
}

#[test]
fn a_reopened_case_is_not_purged_and_a_second_close_starts_the_period_again() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let token = w.token("ngb", "confidant");
        let (id, etag) = worked_case(&w, &token);
        let etag = set_status(&w, &token, &id, &etag, "closed");
        w.advance(Duration::days(10));
        set_status(&w, &token, &id, &etag, "reopened");
        w.advance(Duration::days(400));
        let report = w.sweep();
        assert_eq!(report.body["cases_purged"], 0, "{mode:?}: {}", report.body);
        assert_eq!(report.body["purges_cancelled"], 1);
        assert_eq!(w.record(&id).data.status, shared::domain::CaseStatus::Reopened);

        // The sweep may have escalated the reopened (unacknowledged) case: read afresh.
        let etag = format!("\"{}\"", w.record(&id).version);
        let etag = set_status(&w, &token, &id, &etag, "in_progress");
        set_status(&w, &token, &id, &etag, "closed");
        w.advance(Duration::days(300));
        assert_eq!(w.sweep().body["cases_purged"], 0, "{mode:?}: the new close counts");
        w.advance(Duration::days(66));
        assert_eq!(w.sweep().body["cases_purged"], 1, "{mode:?}");
        assert_eq!(after_purge(&w, &id), (vec![], 1), "{mode:?}: the cancelled purge left no record");
    }
}

#[test]
fn a_purge_waits_while_the_directory_cannot_release_its_members() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let (id, etag) = worked_case(&w, &token);
    set_status(&w, &token, &id, &etag, "closed");
    w.advance(Duration::days(366));
    w.peers.lock().unwrap().directory_down = true;
    let report = w.sweep();
    assert_eq!(report.body["cases_purged"], 0);
    assert_eq!(report.body["failures"], 1);
    // The case is being purged: no change brings it back half-way.
    let reopen = w.staff(
        &token,
        "POST",
        &case_path(&id, "/status"),
        &[("if-match", &format!("\"{}\"", w.record(&id).version))],
        Some(json!({"status": "reopened", "reason": "toch niet"})),
    );
    assert_eq!(reopen.status, 404, "{}", reopen.body);
    w.peers.lock().unwrap().directory_down = false;
    assert_eq!(w.sweep().body["cases_purged"], 1);
    assert_eq!(after_purge(&w, &id), (vec![], 1), "one purge record, written by the sweep that purged");
}

#[test]
fn reads_and_messages_landing_on_a_case_being_purged_write_nothing_that_outlives_it() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let token = w.token("ngb", "confidant");
        let (id, etag) = worked_case(&w, &token);
        set_status(&w, &token, &id, &etag, "closed");
        w.advance(Duration::days(366));
        // The purge marks the case, then stops at the directory: the case is half way.
        w.peers.lock().unwrap().directory_down = true;
        assert_eq!(w.sweep().body["cases_purged"], 0);
        let before = w.store.dump();
        for (method, rest, body) in [
            ("GET", "", None),
            ("GET", "/messages", None),
            ("GET", "/audit", None),
            ("POST", "/messages", Some(json!({"text": "Nog een vraag."}))),
        ] {
            let reply = w.staff(&token, method, &case_path(&id, rest), &[], body);
            assert_eq!(reply.status, 404, "{mode:?} {method} {rest}: {}", reply.body);
        }
        let after = w.store.dump();
        let changed: Vec<&String> = after
            .keys()
            .chain(before.keys())
            .filter(|k| k.contains(id.as_str()) && after.get(*k) != before.get(*k))
            .collect();
        assert!(changed.is_empty(), "{mode:?}: written to a case being purged: {changed:?}");
        w.peers.lock().unwrap().directory_down = false;
        assert_eq!(w.sweep().body["cases_purged"], 1);
        assert_eq!(after_purge(&w, &id), (vec![], 1), "{mode:?}");
    }
}

#[test]
fn sweeps_running_at_once_leave_nothing_of_the_due_cases() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let token = w.token("ngb", "confidant");
        let closed: Vec<CaseId> = (0..6)
            .map(|_| {
                let (id, etag) = worked_case(&w, &token);
                set_status(&w, &token, &id, &etag, "closed");
                id
            })
            .collect();
        w.advance(Duration::days(366));
        let purged: u64 = std::thread::scope(|s| {
            let sweeps: Vec<_> = (0..3).map(|_| s.spawn(|| w.sweep().body["cases_purged"].as_u64().unwrap())).collect();
            sweeps.into_iter().map(|h| h.join().unwrap()).sum()
        });
        // Overlapping sweeps may both count a case they both deleted.
        assert!((6..=18).contains(&purged), "{mode:?}: {purged}");
        for id in &closed {
            assert_eq!(after_purge(&w, id), (vec![], 1), "{mode:?}: one purge record however many sweeps ran");
        }
        assert_eq!(w.sweep().body["cases_purged"], 0, "{mode:?}: nothing left to purge");
    }
}

#[test]
fn the_retention_is_configurable_and_checked() {
    let mut w = World::new();
    w.vars.set("case_retention_days", "30");
    let token = w.token("ngb", "confidant");
    let (id, etag) = worked_case(&w, &token);
    set_status(&w, &token, &id, &etag, "closed");
    w.advance(Duration::days(31));
    assert_eq!(w.sweep().body["cases_purged"], 1);
    assert_eq!(after_purge(&w, &id), (vec![], 1));
    w.vars.set("case_retention_days", "0");
    let reply = w.call("POST", "/triage/sweep", &[("weerbaar-internal-secret", INTERNAL)], None);
    assert_eq!((reply.status, reply.body["type"].as_str()), (503, Some("urn:weerbaar:problem:misconfigured")));
    assert!(reply.body["detail"].as_str().unwrap().contains("case_retention_days"), "{}", reply.body);
}
