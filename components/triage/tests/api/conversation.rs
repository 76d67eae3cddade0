//! The conversation with the reporter: follow-ups taken in (once), danger in a
//! follow-up, reading and marking read, the unread listing, and handover between
//! organisations.

use crate::common::*;
use serde_json::{json, Value};
use shared::case::{
    message_field, messages_log, pending_messages_log, CaseMessage, FollowUpFacts, MessageAuthor, PendingMessage,
    ReportFacts,
};
use shared::domain::{CaseStatus, IncidentKind, Priority, RequestKind};
use shared::id::CaseId;
use shared::kv::memory::CasMode;
use shared::kv::{to_json, KeyValue};
use shared::time::Duration;

/// Writes a reporter message the way intake does (message and pending entry in one
/// `set_many`); returns its slot.
fn write_message(w: &World, id: &CaseId, text: &str, follow_up: Option<FollowUpFacts>) -> u64 {
    let log = messages_log(id);
    let slot = log.reserve(&w.store).unwrap();
    let pending = pending_messages_log();
    let pending_slot = pending.reserve(&w.store).unwrap();
    let sealed = w.seal(id, text.as_bytes(), &message_field(slot));
    let message = CaseMessage { author: MessageAuthor::Reporter, at: w.clock_now(), text: sealed, follow_up };
    let entry = PendingMessage { case_id: id.clone(), slot, since: w.clock_now() };
    w.store.set_many(&[(log.key(slot), to_json(&message)), (pending.key(pending_slot), to_json(&entry))]).unwrap();
    slot
}

/// Intake's handoff of a message.
fn take_in(w: &World, id: &CaseId, slot: u64) -> Reply {
    w.call(
        "POST",
        "/triage/internal/messages",
        &[("weerbaar-internal-secret", INTERNAL)],
        Some(json!({"case_id": id, "slot": slot})),
    )
}

/// Writes and hands over a reporter message.
fn follow_up(w: &World, id: &CaseId, text: &str, facts: Option<FollowUpFacts>) -> u64 {
    let slot = write_message(w, id, text, facts);
    let reply = take_in(w, id, slot);
    assert_eq!(reply.status, 200, "{}", reply.body);
    slot
}

fn danger() -> Option<FollowUpFacts> {
    Some(FollowUpFacts { immediate_danger: true, ..FollowUpFacts::default() })
}

fn read(w: &World, token: &str, id: &CaseId) -> Reply {
    let reply = w.staff(token, "GET", &format!("/triage/cases/{id}"), &[], None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

fn post(w: &World, token: &str, id: &CaseId, rest: &str, etag: &str, body: Value) -> Reply {
    w.staff(token, "POST", &format!("/triage/cases/{id}{rest}"), &[("if-match", etag)], Some(body))
}

/// A P4 prevention case of a mayor (NGB), acknowledged and in aftercare with a
/// check-in planned a week ahead.
fn in_aftercare(w: &World, token: &str) -> CaseId {
    let id = w.triaged(ReportFacts { request_kind: RequestKind::Prevention, ..facts() });
    let mut etag = read(w, token, &id).etag();
    etag = w.staff(token, "POST", &format!("/triage/cases/{id}/acknowledge"), &[("if-match", &etag)], None).etag();
    etag = post(w, token, &id, "/assign", &etag, json!({"confidant": "Desk"})).etag();
    let due = (w.clock_now() + shared::time::Duration::days(7)).to_string();
    let planned = post(w, token, &id, "/check-ins", &etag, json!({"due_at": due, "purpose": "aftercare_call"}));
    assert_eq!(planned.status, 201, "{}", planned.body);
    etag = planned.etag();
    for status in ["in_progress", "aftercare"] {
        let reply = post(w, token, &id, "/status", &etag, json!({"status": status, "reason": "gesprek"}));
        assert_eq!(reply.status, 200, "{}", reply.body);
        etag = reply.etag();
    }
    id
}

#[test]
fn a_reporter_message_is_taken_in_once_counted_unread_and_notified_without_its_text() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let token = w.token("ngb", "confidant");
        let id = w.triaged(incident(&[IncidentKind::Intimidation]));
        let before = read(&w, &token, &id).body;
        assert_eq!(before["unread_reporter_messages"], 0);
        assert_eq!(before["last_reporter_message_at"], Value::Null);

        w.advance(Duration::minutes(3));
        let slot = follow_up(&w, &id, "Vanochtend weer een brief.", None);
        let again = take_in(&w, &id, slot);
        assert_eq!(again.status, 200);
        assert_eq!(again.body["taken_in"], false, "{mode:?}: a second handoff changes nothing");

        let view = read(&w, &token, &id).body;
        assert_eq!(view["unread_reporter_messages"], 1, "{mode:?}");
        assert_eq!(view["last_reporter_message_at"], w.clock_now().to_string());
        assert_eq!(view["assessment"]["priority"], "P3", "{mode:?}: a message without danger changes no priority");
        let events: Vec<_> =
            w.events().into_iter().filter(|e| e.event_type.as_str() == "case.reporter_message").collect();
        assert_eq!(events.len(), 1, "{mode:?}: one event per message");
        assert_eq!(events[0].data.unread_reporter_messages, Some(1));
        assert!(!serde_json::to_string(&events[0]).unwrap().contains("brief"));
        assert!(w.outbox().is_empty(), "{mode:?}: sent within the request");
    }
}

#[test]
fn a_message_triage_could_not_take_in_is_taken_in_by_the_sweep() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = w.triaged(incident(&[IncidentKind::Intimidation]));
    let slot = write_message(&w, &id, "Hij staat weer voor de deur.", danger());
    // Intake's call never arrived (triage down): the pending entry is the work list.
    assert_eq!(read(&w, &token, &id).body["unread_reporter_messages"], 0);
    w.peers.lock().unwrap().notification_down = true;
    let first = w.sweep();
    assert_eq!(first.body["messages_taken_in"], 1);
    assert_eq!(read(&w, &token, &id).body["assessment"]["priority"], "P1");
    assert!(!w.outbox().is_empty(), "the event waits in the outbox while notification is down");
    w.peers.lock().unwrap().notification_down = false;
    let second = w.sweep();
    assert_eq!(second.body["messages_taken_in"], 0, "the entry was done");
    assert_eq!(w.event_types(&id).iter().filter(|t| *t == "case.reporter_message").count(), 1);
    assert!(w.outbox().is_empty());
    assert!(!w.store.dump().keys().any(|k| k.starts_with("idx/pending_messages/s/")));
    assert_eq!(take_in(&w, &id, slot).body["taken_in"], false);
}

#[test]
fn danger_in_a_follow_up_makes_the_case_p1_resets_acknowledgement_and_brings_aftercare_back() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = in_aftercare(&w, &token);
    let before = w.record(&id).version;
    w.advance(Duration::days(3));
    let slot = follow_up(&w, &id, "Hij staat weer voor de deur.", danger());

    let doc = w.record(&id);
    assert_eq!(doc.version, before + 1, "one atomic change");
    let view = read(&w, &token, &id).body;
    assert_eq!(view["status"], "in_progress");
    assert_eq!(view["assessment"]["priority"], "P1");
    assert_eq!(view["acknowledged_at"], Value::Null);
    assert_eq!(view["assessment"]["first_contact_due"], (w.clock_now() + Duration::minutes(15)).to_string());
    assert_eq!(view["last_transition"]["by"]["kind"], "reporter");
    let reasons = view["assessment"]["reasons"].as_array().unwrap();
    let named = format!("reporter_follow_up: message {slot}: immediate_danger");
    assert!(reasons.iter().any(|r| r.as_str().unwrap().starts_with(&named)), "{reasons:?}");
    let trail = w.staff(&token, "GET", &format!("/triage/cases/{id}/audit"), &[], None).body;
    let actions: Vec<&str> =
        trail["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&format!("reporter_follow_up:P1:message:{slot}").as_str()), "{actions:?}");

    let types = w.event_types(&id);
    assert!(types.ends_with(&["case.reporter_message".to_string(), "case.triaged".to_string()]), "{types:?}");
    // Escalation runs again from the new deadline.
    w.advance(Duration::minutes(15));
    w.sweep();
    assert_eq!(w.event_types(&id).last().unwrap(), "case.escalated");
}

#[test]
fn a_closed_case_is_reopened_by_danger_and_a_new_incident_follows_the_rules_never_lowering() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = w.triaged(incident(&[IncidentKind::Stalking]));
    let etag = read(&w, &token, &id).etag();
    let closed = post(&w, &token, &id, "/status", &etag, json!({"status": "closed", "reason": "opgelost"}));
    assert_eq!(closed.status, 200);
    // Intimidation on its own is P3, repeated it is P2: the case stays P2 (never lower).
    follow_up(
        &w,
        &id,
        "Weer een man bij het hek.",
        Some(FollowUpFacts { incident_kinds: vec![IncidentKind::Intimidation], ..FollowUpFacts::default() }),
    );
    let view = read(&w, &token, &id).body;
    assert_eq!(view["status"], "reopened");
    assert_eq!(view["assessment"]["priority"], "P2");
    assert!(w.event_types(&id).contains(&"case.reopened".to_string()));
    // A threat of violence told in a follow-up is a repeated threat: P1.
    follow_up(
        &w,
        &id,
        "Hij dreigt me iets aan te doen.",
        Some(FollowUpFacts { incident_kinds: vec![IncidentKind::ThreatOfViolence], ..FollowUpFacts::default() }),
    );
    assert_eq!(read(&w, &token, &id).body["assessment"]["priority"], "P1");
}

#[test]
fn the_follow_up_rule_never_lowers_and_names_the_message() {
    let case = incident(&[IncidentKind::Stalking]);
    let at = start();
    let mild = FollowUpFacts { incident_kinds: vec![IncidentKind::VerbalAggression], ..FollowUpFacts::default() };
    let d = triage::core::rules::decide_follow_up(&case, &mild, 4, at, Priority::P2);
    assert_eq!(d.priority, Priority::P2);
    assert!(d.reasons.iter().all(|r| r.starts_with("reporter_follow_up: message 4: ")), "{:?}", d.reasons);
    let violence = FollowUpFacts { incident_kinds: vec![IncidentKind::PhysicalViolence], ..FollowUpFacts::default() };
    assert_eq!(triage::core::rules::decide_follow_up(&case, &violence, 5, at, Priority::P4).priority, Priority::P1);
    let life = FollowUpFacts { threat_to_life: true, ..FollowUpFacts::default() };
    assert_eq!(triage::core::rules::decide_follow_up(&case, &life, 6, at, Priority::P3).priority, Priority::P1);
}

#[test]
fn the_confidant_reads_the_conversation_in_pages_and_marks_it_read() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = w.triaged(incident(&[IncidentKind::Intimidation]));
    follow_up(&w, &id, "Bericht een.", None);
    let reply =
        w.staff(&token, "POST", &format!("/triage/cases/{id}/messages"), &[], Some(json!({"text": "Ik bel u."})));
    assert_eq!(reply.status, 201);
    let third = follow_up(&w, &id, "Bericht drie.", danger());

    let page = |q: &str| w.staff(&token, "GET", &format!("/triage/cases/{id}/messages{q}"), &[], None);
    let first = page("?limit=2");
    assert_eq!(first.status, 200, "{}", first.body);
    let texts: Vec<&str> =
        first.body["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Bericht een.", "Ik bel u."], "oldest first, both directions");
    assert_eq!(first.body["messages"][1]["author"], "confidant");
    assert_eq!(first.body["unread_reporter_messages"], 2);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let second = page(&format!("?limit=2&cursor={cursor}"));
    assert_eq!(second.body["messages"][0]["number"], third);
    assert_eq!(second.body["messages"][0]["follow_up"]["immediate_danger"], true);
    assert_eq!(second.body["messages"][0]["read"], false);
    assert_eq!(second.body["next_cursor"], Value::Null);
    let trail = w.staff(&token, "GET", &format!("/triage/cases/{id}/audit"), &[], None).body;
    let reads = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("messages_read:"))
        .count();
    assert_eq!(reads, 2, "every read is audited");

    let etag = read(&w, &token, &id).etag();
    let marked = post(&w, &token, &id, "/messages/read", &etag, json!({"up_to": 2}));
    assert_eq!(marked.status, 200, "{}", marked.body);
    assert_ne!(marked.etag(), etag, "marking read is a new version");
    assert_eq!(marked.body["unread_reporter_messages"], 1);
    let stale = post(&w, &token, &id, "/messages/read", &etag, json!({"up_to": 3}));
    assert_eq!(stale.status, 412);
    let all = post(&w, &token, &id, "/messages/read", &marked.etag(), json!({"up_to": 3}));
    assert_eq!(all.body["unread_reporter_messages"], 0);
    let same = post(&w, &token, &id, "/messages/read", &all.etag(), json!({"up_to": 3}));
    assert_eq!(same.etag(), all.etag(), "marking read again changes nothing");
    let trail = w.staff(&token, "GET", &format!("/triage/cases/{id}/audit"), &[], None).body;
    assert!(trail["entries"].as_array().unwrap().iter().any(|e| e["action"] == "marked_read:2"));
}

fn ids(reply: &Value) -> Vec<String> {
    reply["cases"].as_array().unwrap().iter().map(|c| c["case_id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_listing_filters_to_unread_and_sorts_them_first() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let quiet = w.triaged(incident(&[IncidentKind::Intimidation]));
    w.advance(Duration::minutes(1));
    let asked = w.triaged(incident(&[IncidentKind::Intimidation]));
    w.advance(Duration::minutes(1));
    let newest = w.triaged(incident(&[IncidentKind::Intimidation]));
    follow_up(&w, &asked, "Is er al nieuws?", None);
    let list = |q: &str| {
        let reply = w.staff(&token, "GET", &format!("/triage/cases{q}"), &[], None);
        assert_eq!(reply.status, 200, "{q}: {}", reply.body);
        reply.body
    };
    assert_eq!(ids(&list("?unread=true")), vec![asked.to_string()]);
    assert_eq!(ids(&list("?unread=false")), vec![newest.to_string(), quiet.to_string()]);
    let first = list("?sort=unread_first");
    assert_eq!(ids(&first), vec![asked.to_string(), newest.to_string(), quiet.to_string()], "each case once");
    assert_eq!(first["cases"][0]["unread_reporter_messages"], 1);
    assert!(first["cases"][0]["last_reporter_message_at"].is_string());
    assert_eq!(first["cases"][1]["unread_reporter_messages"], 0);
    let paged = list("?sort=unread_first&limit=1");
    let next = list(&format!("?sort=unread_first&limit=2&cursor={}", paged["next_cursor"].as_str().unwrap()));
    assert_eq!(ids(&next), vec![newest.to_string(), quiet.to_string()]);
    assert_eq!(w.staff(&token, "GET", "/triage/cases?unread=yes", &[], None).body["field"], "unread");
    assert_eq!(w.staff(&token, "GET", "/triage/cases?sort=unread", &[], None).body["field"], "sort");
}

#[test]
fn a_handover_moves_the_case_with_its_indexes_and_restarts_the_deadline() {
    let w = World::new();
    let ngb = w.token("ngb", "confidant");
    let bzk = w.token("bzk", "confidant");
    let id = w.triaged(incident(&[IncidentKind::Stalking]));
    w.advance(Duration::hours(1));
    let etag = read(&w, &ngb, &id).etag();
    let moved = post(&w, &ngb, &id, "/handover", &etag, json!({"organisation": "bzk", "reason": "rol verkeerd"}));
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["first_contact_due"], (w.clock_now() + Duration::hours(4)).to_string());

    assert_eq!(w.staff(&ngb, "GET", &format!("/triage/cases/{id}"), &[], None).status, 404);
    assert!(ids(&w.staff(&ngb, "GET", "/triage/cases", &[], None).body).is_empty());
    assert_eq!(ids(&w.staff(&bzk, "GET", "/triage/cases", &[], None).body), vec![id.to_string()]);
    assert_eq!(ids(&w.staff(&bzk, "GET", "/triage/cases?sort=urgent", &[], None).body), vec![id.to_string()]);
    let event = w.events().into_iter().find(|e| e.event_type.as_str() == "case.handed_over").unwrap();
    assert_eq!(event.data.organisation, Some(shared::domain::Organisation::Bzk));
    let trail = w.staff(&bzk, "GET", &format!("/triage/cases/{id}/audit"), &[], None).body;
    let entry =
        trail["entries"].as_array().unwrap().iter().find(|e| e["action"] == "handed_over:ngb:bzk").unwrap().clone();
    assert_eq!(entry["note"], "rol verkeerd");
    assert_eq!(entry["actor"]["kind"], "staff");

    // The new owner's confidant may hand it on; the old one may not (404, not 412).
    let again = post(&w, &ngb, &id, "/handover", &etag, json!({"organisation": "ngb", "reason": "terug"}));
    assert_eq!(again.status, 404);
}

#[test]
fn a_bzk_admin_may_hand_over_any_case_and_an_acknowledged_case_keeps_its_deadline() {
    let w = World::new();
    let ngb = w.token("ngb", "confidant");
    let admin = w.token("bzk", "admin");
    let id = w.triaged(incident(&[IncidentKind::Stalking]));
    let etag = read(&w, &ngb, &id).etag();
    let acked = w.staff(&ngb, "POST", &format!("/triage/cases/{id}/acknowledge"), &[("if-match", &etag)], None);
    let due = acked.body["first_contact_due"].clone();
    w.advance(Duration::hours(1));
    let moved =
        post(&w, &admin, &id, "/handover", &acked.etag(), json!({"organisation": "nvvr", "reason": "raadslid"}));
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["first_contact_due"], due);
    let nvvr_confidant = w.token("nvvr", "confidant");
    assert_eq!(read(&w, &nvvr_confidant, &id).body["status"], CaseStatus::Triaged.as_str());
    let other = w.token("wethoudersvereniging", "admin");
    let refused = post(&w, &other, &id, "/handover", &moved.etag(), json!({"organisation": "bzk", "reason": "x"}));
    assert_eq!(refused.status, 404, "another organisation's admin sees nothing");
}

#[test]
fn bad_input_to_the_conversation_and_handover_names_the_field_and_writes_nothing() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = w.triaged(incident(&[IncidentKind::Intimidation]));
    follow_up(&w, &id, "Bericht een.", None);
    let etag = read(&w, &token, &id).etag();
    let before = w.store.dump();
    let posts: Vec<(&str, Value, u16, &str)> = vec![
        ("/messages/read", json!({"up_to": 0}), 422, "/up_to"),
        ("/messages/read", json!({"up_to": 2}), 422, "/up_to"),
        ("/messages/read", json!({"up_to": "all"}), 422, "/up_to"),
        ("/messages/read", json!({"up_to": -1}), 422, "/up_to"),
        ("/messages/read", json!({}), 422, "/up_to"),
        ("/messages/read", json!({"up_to": 1, "all": true}), 422, "/all"),
        ("/handover", json!({"organisation": "police", "reason": "x"}), 422, "/organisation"),
        ("/handover", json!({"organisation": "ngb", "reason": "x"}), 422, "/organisation"),
        ("/handover", json!({"organisation": "bzk", "reason": "  "}), 422, "/reason"),
        ("/handover", json!({"organisation": "bzk"}), 422, "/reason"),
    ];
    for (rest, body, status, field) in posts {
        let reply = post(&w, &token, &id, rest, &etag, body.clone());
        assert_eq!(reply.status, status, "{rest} {body}: {}", reply.body);
        assert_eq!(reply.headers["content-type"], "application/problem+json");
        assert_eq!(reply.body["field"], field, "{rest} {body}");
    }
    for rest in ["/messages/read", "/handover"] {
        let body = json!({"up_to": 1, "organisation": "bzk", "reason": "x"});
        let reply = w.staff(&token, "POST", &format!("/triage/cases/{id}{rest}"), &[], Some(body));
        assert_eq!(reply.status, 428, "{rest} without If-Match");
    }
    for (query, field) in
        [("?limit=0", "limit"), ("?limit=101", "limit"), ("?cursor=s1", "cursor"), ("?page=2", "page")]
    {
        let reply = w.staff(&token, "GET", &format!("/triage/cases/{id}/messages{query}"), &[], None);
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.body["field"], field, "{query}");
    }
    let internal = |body: Value| {
        w.call("POST", "/triage/internal/messages", &[("weerbaar-internal-secret", INTERNAL)], Some(body))
    };
    let bad_case = internal(json!({"case_id": "case_1", "slot": 1}));
    assert_eq!((bad_case.status, bad_case.body["field"].as_str()), (422, Some("/case_id")));
    let bad_slot = internal(json!({"case_id": id, "slot": "one"}));
    assert_eq!((bad_slot.status, bad_slot.body["field"].as_str()), (422, Some("/slot")));
    assert_eq!(internal(json!({"case_id": id, "slot": 9})).status, 404, "no such message");
    let outsider = w.call("POST", "/triage/internal/messages", &[], Some(json!({"case_id": id, "slot": 1})));
    assert_eq!(outsider.status, 401);
    assert_eq!(w.store.dump(), before, "nothing written");
}

/// The store cost of taking in a follow-up and of reading a page of the conversation
/// (`cargo test -p triage --test api conversation::store_cost -- --nocapture`).
#[test]
fn store_cost_of_a_follow_up_and_a_conversation_page() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = w.triaged(incident(&[IncidentKind::Intimidation]));
    for i in 0..30 {
        follow_up(&w, &id, &format!("Bericht {i}."), None);
    }
    let slot = write_message(&w, &id, "Hij is er weer.", None);
    w.store.reset_ops();
    take_in(&w, &id, slot);
    let plain = w.store.ops();
    let slot = write_message(&w, &id, "Hij staat met een mes voor de deur.", danger());
    w.store.reset_ops();
    take_in(&w, &id, slot);
    let danger_ops = w.store.ops();
    w.store.reset_ops();
    let page = w.staff(&token, "GET", &format!("/triage/cases/{id}/messages?limit=20"), &[], None);
    assert_eq!(page.body["messages"].as_array().unwrap().len(), 20);
    let page_ops = w.store.ops();
    w.store.reset_ops();
    w.staff(&token, "GET", "/triage/cases?sort=unread_first&limit=20", &[], None);
    let unread_first = w.store.ops();
    println!(
        "store operations: take in a follow-up {plain}, with danger {danger_ops}, conversation page of 20 \
         {page_ops}, unread-first listing {unread_first}"
    );
    assert!(plain <= 12, "{plain}");
    assert!(danger_ops <= 15, "{danger_ops}");
    // Spin reads each key with its own get (get_many breaks on Redis).
    // The read's audit entry is chained (issue 13, point 4): slot, head (CAS begin),
    // entry, swap of the head; the case's data key is one more get.
    assert!(
        page_ops <= 8 + 20,
        "{page_ops}: token, case, data key, counter, 20 messages, audit slot, head, entry, swap"
    );
    // ... and a listing writes its list-read audit entry (a slot and the entry).
    assert!(unread_first <= 8 + 2, "{unread_first}");
}
