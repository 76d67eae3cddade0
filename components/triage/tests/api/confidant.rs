//! The confidant's API: read, acknowledge, assign, override, lifecycle, messages,
//! concurrency and isolation between organisations.

use crate::common::*;
use serde_json::{json, Value};
use shared::case::{message_field, messages_log, CaseMessage, MessageAuthor, ReportFacts};
use shared::domain::{IncidentKind, Role};
use shared::id::CaseId;
use shared::kv::memory::CasMode;
use shared::kv::KeyValue;
use std::sync::Arc;

fn case_path(id: &CaseId, rest: &str) -> String {
    format!("/triage/cases/{id}{rest}")
}

/// A P2 mayor's case (NGB) and an NGB confidant's token.
fn ngb_case(w: &World) -> (CaseId, String) {
    let id = w.triaged(ReportFacts { role: Role::Mayor, ..incident(&[IncidentKind::ThreatOfViolence]) });
    (id, w.token("ngb", "confidant"))
}

fn read(w: &World, token: &str, id: &CaseId) -> crate::common::Reply {
    w.staff(token, "GET", &case_path(id, ""), &[], None)
}

fn post(w: &World, token: &str, id: &CaseId, rest: &str, etag: &str, body: Option<Value>) -> crate::common::Reply {
    w.staff(token, "POST", &case_path(id, rest), &[("if-match", etag)], body)
}

#[test]
fn a_confidant_reads_the_decrypted_case_and_the_read_is_audited() {
    let w = World::new();
    let (id, token) = ngb_case(&w);
    let reply = read(&w, &token, &id);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["reporter"]["municipality"], MUNICIPALITY);
    assert_eq!(reply.body["assessment"]["priority"], "P2");
    assert_eq!(reply.etag(), "\"2\"");
    assert_eq!(reply.headers["cache-control"], "no-store");
    let audit = w.staff(&token, "GET", &case_path(&id, "/audit"), &[], None);
    assert_eq!(audit.status, 200);
    // Triage's own decision at intake's handover comes first, by the system.
    assert_eq!(audit.body["entries"][0]["action"], format!("triaged:P2:{}", "ngb"), "{}", audit.body);
    assert_eq!(audit.body["entries"][0]["actor"]["kind"], "system");
    assert_eq!(audit.body["entries"][1]["action"], "read");
    assert_eq!(audit.body["entries"][1]["actor"]["kind"], "staff");
}

#[test]
fn the_full_lifecycle_with_an_invalid_transition_refused() {
    let w = World::new();
    let (id, token) = ngb_case(&w);
    let mut etag = read(&w, &token, &id).etag();
    let step = |rest: &str, etag: &str, body: Value| post(&w, &token, &id, rest, etag, Some(body));

    let skip = step("/status", &etag, json!({"status": "aftercare", "reason": "te vroeg"}));
    assert_eq!(skip.status, 409);
    assert_eq!(skip.body["type"], "urn:weerbaar:problem:invalid-transition");
    assert_eq!(read(&w, &token, &id).etag(), etag, "a refused transition changes nothing");

    let assigned = step("/assign", &etag, json!({"confidant": "Desk Noord", "members": [MEMBER], "reason": "regio"}));
    assert_eq!(assigned.status, 200, "{}", assigned.body);
    assert_eq!(assigned.body["status"], "assigned");
    etag = assigned.etag();
    for (to, reason) in [
        ("in_progress", "eerste gesprek"),
        ("aftercare", "nazorg"),
        ("closed", "afgerond"),
        ("reopened", "nieuw incident"),
    ] {
        let mut body = json!({"status": to, "reason": reason});
        if to == "aftercare" {
            // No check-in planned: aftercare then needs the reason none is wanted.
            body["no_aftercare_reason"] = json!("wil geen nazorg");
        }
        let reply = step("/status", &etag, body);
        assert_eq!(reply.status, 200, "{to}: {}", reply.body);
        assert_eq!(reply.body["status"], to);
        etag = reply.etag();
    }
    let back = step("/status", &etag, json!({"status": "triaged", "reason": "terug"}));
    assert_eq!(back.status, 409);
    assert_eq!(
        w.event_types(&id),
        vec!["case.created", "case.triaged", "case.assigned", "case.closed", "case.reopened"]
    );
    let calls = &w.peers.lock().unwrap().directory_calls;
    assert!(calls.iter().any(|(p, _)| p.ends_with(&format!("{MEMBER}/assign"))));
    assert!(calls.iter().any(|(p, _)| p.ends_with(&format!("{MEMBER}/release"))), "closing releases members");
    let audit = w.staff(&token, "GET", &case_path(&id, "/audit"), &[], None);
    let actions: Vec<&str> =
        audit.body["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"status:closed") && actions.contains(&"assigned"), "{actions:?}");
    let none_wanted = audit.body["entries"].as_array().unwrap().iter().find(|e| e["action"] == "no_aftercare_wanted");
    assert_eq!(none_wanted.unwrap()["note"], "wil geen nazorg", "the reason is kept");
    let closed = audit.body["entries"].as_array().unwrap().iter().find(|e| e["action"] == "status:closed").unwrap();
    assert_eq!(closed["note"], "afgerond", "why is kept");
}

#[test]
fn a_member_at_capacity_is_409_and_nothing_changes() {
    let w = World::new();
    let (id, token) = ngb_case(&w);
    w.peers.lock().unwrap().full.insert(MEMBER_2.to_string());
    let etag = read(&w, &token, &id).etag();
    let reply = post(&w, &token, &id, "/assign", &etag, Some(json!({"confidant": "A", "members": [MEMBER, MEMBER_2]})));
    assert_eq!(reply.status, 409);
    assert_eq!(reply.body["field"], "/members/1");
    assert_eq!(read(&w, &token, &id).etag(), etag);
    let calls = &w.peers.lock().unwrap().directory_calls;
    assert!(calls.iter().any(|(p, _)| p.ends_with(&format!("{MEMBER}/release"))), "the first member is released again");
}

#[test]
fn two_concurrent_assignments_of_one_member_to_a_case_leave_the_member_loaded_once() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let (id, token) = ngb_case(&w);
        let etag = read(&w, &token, &id).etag();
        // Both requests have the member at the directory before either commits; one
        // commit wins, the other is stale.
        w.peers.lock().unwrap().assign_gate = Some(Arc::new(std::sync::Barrier::new(2)));
        let assign = |desk: &str| {
            post(&w, &token, &id, "/assign", &etag, Some(json!({"confidant": desk, "members": [MEMBER]}))).status
        };
        let mut replies: Vec<u16> = std::thread::scope(|s| {
            let a = s.spawn(|| assign("Desk Noord"));
            let b = s.spawn(|| assign("Desk Zuid"));
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        replies.sort();
        assert_eq!(replies, vec![200, 412], "{mode:?}");
        w.peers.lock().unwrap().assign_gate = None;
        let view = read(&w, &token, &id);
        assert_eq!(view.body["assignment"]["members"], json!([MEMBER]), "{mode:?}");
        let load = w.peers.lock().unwrap().loads.get(MEMBER).cloned().unwrap_or_default();
        assert_eq!(
            load.into_iter().collect::<Vec<_>>(),
            vec![id.to_string()],
            "{mode:?}: the loser must not release the member the winner holds"
        );
    }
}

#[test]
fn a_stale_update_is_412_and_changes_nothing() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let (id, token) = ngb_case(&w);
        let etag = read(&w, &token, &id).etag();
        let first = post(&w, &token, &id, "/acknowledge", &etag, None);
        assert_eq!(first.status, 200, "{mode:?}");
        let before = w.record(&id);
        let stale = post(&w, &token, &id, "/priority", &etag, Some(json!({"priority": "P1", "reason": "x"})));
        assert_eq!(stale.status, 412, "{mode:?}");
        assert_eq!(w.record(&id), before, "{mode:?}");
        let missing = w.staff(&token, "POST", &case_path(&id, "/acknowledge"), &[], None);
        assert_eq!(missing.status, 428);
    }
}

#[test]
fn two_confidants_at_once_never_lose_a_change() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let (id, token) = ngb_case(&w);
        let etag = read(&w, &token, &id).etag();
        let replies: Vec<u16> = std::thread::scope(|s| {
            let a = s.spawn(|| post(&w, &token, &id, "/acknowledge", &etag, None).status);
            let b = s.spawn(|| {
                post(&w, &token, &id, "/priority", &etag, Some(json!({"priority": "P1", "reason": "dreiging"}))).status
            });
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        let mut sorted = replies.clone();
        sorted.sort();
        assert!(sorted == vec![200, 412] || sorted == vec![200, 200], "{mode:?}: {replies:?}");
        let record = w.record(&id).data;
        let wins = replies.iter().filter(|s| **s == 200).count();
        let applied = record.acknowledged_at.is_some() as usize
            + (record.assessment.unwrap().priority == shared::domain::Priority::P1) as usize;
        assert_eq!(applied, wins, "{mode:?}: every 200 is in the record, every 412 is not");
    }
}

#[test]
fn a_priority_override_needs_a_reason_and_keeps_it() {
    let w = World::new();
    let (id, token) = ngb_case(&w);
    let etag = read(&w, &token, &id).etag();
    let no_reason = post(&w, &token, &id, "/priority", &etag, Some(json!({"priority": "P1"})));
    assert_eq!(no_reason.status, 422);
    assert_eq!(no_reason.body["field"], "/reason");
    let reply = post(&w, &token, &id, "/priority", &etag, Some(json!({"priority": "P1", "reason": "wapen gezien"})));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["priority"], "P1");
    assert_eq!(reply.body["first_contact_due"], "2026-11-28T10:15:00.000Z");
    let view = read(&w, &token, &id);
    assert_eq!(view.body["priority_override"]["reason"], "wapen gezien");
    assert_eq!(view.body["priority_override"]["from"], "P2");
    assert!(
        !String::from_utf8_lossy(&w.store.dump().values().flatten().copied().collect::<Vec<u8>>())
            .contains("wapen gezien"),
        "the reason is stored sealed"
    );
    let listed = w.staff(&token, "GET", "/triage/cases?priority=P1", &[], None);
    assert_eq!(listed.body["cases"][0]["case_id"], id.as_str(), "the index follows the override");
    let p2 = w.staff(&token, "GET", "/triage/cases?priority=P2", &[], None);
    assert!(p2.body["cases"].as_array().unwrap().is_empty());
}

#[test]
fn a_confidant_message_shows_for_the_reporter() {
    let w = World::new();
    let (id, token) = ngb_case(&w);
    let reply = w.staff(&token, "POST", &case_path(&id, "/messages"), &[], Some(json!({"text": "Ik bel u om 14:00."})));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let log = messages_log(&id);
    let (slot, bytes) = log.read(&w.store, 1, log.last_slot(&w.store).unwrap()).unwrap().pop().unwrap();
    let message: CaseMessage = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(message.author, MessageAuthor::Confidant);
    let text = w.open(&id, &message.text, &message_field(slot)).unwrap();
    assert_eq!(text, b"Ik bel u om 14:00.");
}

#[test]
fn other_organisation_gets_404_on_every_case_endpoint() {
    let w = World::new();
    let (id, _) = ngb_case(&w);
    let ngb = w.token("ngb", "confidant");
    let etag = read(&w, &ngb, &id).etag();
    let nvvr = w.token("nvvr", "confidant");
    let before = w.store.dump();
    let attempts: Vec<(&str, &str, Option<Value>)> = vec![
        ("GET", "", None),
        ("GET", "/audit", None),
        ("POST", "/acknowledge", None),
        ("POST", "/assign", Some(json!({"confidant": "x", "members": []}))),
        ("POST", "/priority", Some(json!({"priority": "P1", "reason": "x"}))),
        ("POST", "/status", Some(json!({"status": "closed", "reason": "x"}))),
        ("POST", "/messages", Some(json!({"text": "x"}))),
        ("GET", "/messages", None),
        ("POST", "/messages/read", Some(json!({"up_to": 1}))),
    ];
    for (method, rest, body) in &attempts {
        for if_match in [etag.as_str(), "\"999\""] {
            let reply = w.staff(&nvvr, method, &case_path(&id, rest), &[("if-match", if_match)], body.clone());
            assert_eq!(reply.status, 404, "{method} {rest} with {if_match}: {}", reply.body);
        }
        let admin = w.staff(ADMIN, method, &case_path(&id, rest), &[("if-match", &etag)], body.clone());
        assert_eq!(admin.status, 404, "the bootstrap admin (BZK) too: {method} {rest}");
    }
    for if_match in [etag.as_str(), "\"999\""] {
        let body = json!({"organisation": "nvvr", "reason": "x"});
        let reply = w.staff(&nvvr, "POST", &case_path(&id, "/handover"), &[("if-match", if_match)], Some(body));
        assert_eq!(reply.status, 404, "handover with {if_match}: {}", reply.body);
    }
    assert_eq!(w.store.dump(), before, "nothing written for another organisation");
    for path in [
        "/triage/cases",
        "/triage/cases?sort=urgent",
        "/triage/cases?overdue=false",
        "/triage/cases?status=triaged",
        "/triage/cases?unread=false",
        "/triage/cases?sort=unread_first",
    ] {
        let list = w.staff(&nvvr, "GET", path, &[], None);
        assert_eq!(list.body["cases"], json!([]), "{path}");
    }
}

#[test]
fn bad_input_names_the_field_and_writes_nothing() {
    let w = World::new();
    let (id, token) = ngb_case(&w);
    let etag = read(&w, &token, &id).etag();
    let before = w.store.dump();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/status", json!({"status": "done", "reason": "x"}), "/status"),
        ("/status", json!({"status": "closed", "reason": "  "}), "/reason"),
        ("/status", json!({"status": "closed", "reason": "x", "by": "me"}), "/by"),
        ("/assign", json!({"confidant": "x", "members": ["case_1"]}), "/members/0"),
        ("/priority", json!({"priority": "P0", "reason": "x"}), "/priority"),
    ];
    for (rest, body, field) in cases {
        let reply = post(&w, &token, &id, rest, &etag, Some(body));
        assert_eq!(reply.status, 422, "{rest}: {}", reply.body);
        assert_eq!(reply.body["field"], field);
    }
    let bad_etag = post(&w, &token, &id, "/acknowledge", "soon", None);
    assert_eq!(bad_etag.status, 400);
    assert_eq!(w.store.dump(), before);
    let unknown = w.staff(&token, "GET", "/triage/cases/case_nope", &[], None);
    assert_eq!(unknown.status, 404);
    let no_token = w.call("GET", &case_path(&id, ""), &[], None);
    assert_eq!(no_token.status, 401);
}

#[test]
fn admins_create_and_revoke_tokens_and_a_revoked_token_opens_nothing() {
    let w = World::new();
    let (id, token) = ngb_case(&w);
    assert_eq!(read(&w, &token, &id).status, 200);
    let admin = w.token("ngb", "admin");
    let other_org = w.staff(
        &admin,
        "POST",
        "/triage/tokens",
        &[],
        Some(json!({"organisation": "bzk", "role": "admin", "holder": "Piet Bakker"})),
    );
    assert_eq!(other_org.status, 422, "an organisation's admin issues only its own tokens");
    let by_confidant = w.staff(
        &token,
        "POST",
        "/triage/tokens",
        &[],
        Some(json!({"organisation": "ngb", "role": "confidant", "holder": "Piet Bakker"})),
    );
    assert_eq!(by_confidant.status, 403);
    let created = w.staff(
        &admin,
        "POST",
        "/triage/tokens",
        &[],
        Some(json!({"organisation": "ngb", "role": "confidant", "holder": "Nachtdienst K. Smit"})),
    );
    let new_token = created.body["token"].as_str().unwrap().to_string();
    let token_id = created.body["id"].as_str().unwrap().to_string();
    assert!(!w.store.dump().keys().any(|k| k.contains(&new_token)));
    let bzk_admin = w.token("bzk", "admin");
    let foreign = w.staff(&bzk_admin, "DELETE", &format!("/triage/tokens/{token_id}"), &[], None);
    assert_eq!(foreign.status, 404);
    let revoked = w.staff(&admin, "DELETE", &format!("/triage/tokens/{token_id}"), &[], None);
    assert_eq!(revoked.status, 200);
    assert!(revoked.body["revoked_at"].is_string());
    assert_eq!(read(&w, &new_token, &id).status, 401);
}

#[test]
fn the_store_holds_nothing_personal_in_clear_after_a_worked_case() {
    let w = World::new();
    let (id, token) = ngb_case(&w);
    let etag = read(&w, &token, &id).etag();
    post(&w, &token, &id, "/status", &etag, Some(json!({"status": "closed", "reason": "geheime reden"})));
    w.staff(&token, "POST", &case_path(&id, "/messages"), &[], Some(json!({"text": "persoonlijk bericht"})));
    for (key, value) in w.store.dump() {
        let text = String::from_utf8_lossy(&value);
        for needle in [MUNICIPALITY, "Koolhoven", "geheime reden", "persoonlijk bericht"] {
            assert!(!text.contains(needle) && !key.contains(needle), "{needle} in clear at {key}");
        }
    }
    let _ = w.store.exists("x");
}
