//! Check-ins: planning aftercare and prevention work, the organisation's agenda, the
//! sweep's announcements, the aftercare rule, handover and bad input.

use crate::common::*;
use serde_json::{json, Value};
use shared::domain::{IncidentKind, RequestKind};
use shared::id::CaseId;
use shared::kv::memory::CasMode;
use shared::time::Duration;

fn case_path(id: &CaseId, rest: &str) -> String {
    format!("/triage/cases/{id}{rest}")
}

fn etag_of(w: &World, token: &str, id: &CaseId) -> String {
    let reply = w.staff(token, "GET", &case_path(id, ""), &[], None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.etag()
}

fn post(w: &World, token: &str, id: &CaseId, rest: &str, etag: &str, body: Value) -> Reply {
    w.staff(token, "POST", &case_path(id, rest), &[("if-match", etag)], Some(body))
}

fn at(w: &World, later: Duration) -> String {
    (w.clock_now() + later).to_string()
}

/// Plans a check-in due `later` from now; returns its id.
fn plan(w: &World, token: &str, id: &CaseId, later: Duration, purpose: &str) -> String {
    let etag = etag_of(w, token, id);
    let reply = post(w, token, id, "/check-ins", &etag, json!({"due_at": at(w, later), "purpose": purpose}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["check_in"]["check_in_id"].as_str().unwrap().to_string()
}

fn agenda(w: &World, token: &str, query: &str) -> Reply {
    let reply = w.staff(token, "GET", &format!("/triage/check-ins{query}"), &[], None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

fn agenda_ids(reply: &Reply) -> Vec<String> {
    reply.body["check_ins"].as_array().unwrap().iter().map(|c| c["check_in_id"].as_str().unwrap().to_string()).collect()
}

/// A P4 prevention case of a mayor (NGB).
fn prevention_case(w: &World) -> CaseId {
    w.triaged(shared::case::ReportFacts { request_kind: RequestKind::Prevention, ..facts() })
}

#[test]
fn a_planned_check_in_is_on_the_case_with_its_note_sealed_and_audited() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = prevention_case(&w);
    let etag = etag_of(&w, &token, &id);
    let body =
        json!({"due_at": at(&w, Duration::days(7)), "purpose": "prevention_visit", "note": "Beveiligingsscan thuis"});
    let reply = post(&w, &token, &id, "/check-ins", &etag, body);
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_ne!(reply.etag(), etag, "a new version of the case");
    let check_in = &reply.body["check_in"];
    assert!(check_in["check_in_id"].as_str().unwrap().starts_with("chk_"));
    assert_eq!(check_in["purpose"], "prevention_visit");
    assert_eq!(check_in["note"], "Beveiligingsscan thuis");
    assert_eq!(check_in["due_at"], "2026-12-05T10:00:00.000Z");

    let view = w.staff(&token, "GET", &case_path(&id, ""), &[], None);
    assert_eq!(view.body["check_ins"][0]["note"], "Beveiligingsscan thuis");
    let stored: Vec<u8> = w.store.dump().into_values().flatten().collect();
    assert!(!String::from_utf8_lossy(&stored).contains("Beveiligingsscan"), "the note is stored sealed only");
    assert_eq!(w.record(&id).data.next_check_in, Some(start() + Duration::days(7)));
    let audit = w.staff(&token, "GET", &case_path(&id, "/audit"), &[], None);
    let planned = audit.body["entries"].as_array().unwrap().iter().any(|e| {
        e["action"]
            .as_str()
            .unwrap()
            .starts_with(&format!("check_in_scheduled:{}:prevention_visit:", check_in["check_in_id"].as_str().unwrap()))
    });
    assert!(planned, "{}", audit.body);
}

#[test]
fn the_agenda_lists_open_check_ins_across_cases_oldest_due_first_in_pages() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let (a, b) = (prevention_case(&w), prevention_case(&w));
    let third = plan(&w, &token, &a, Duration::days(3), "aftercare_call");
    let first = plan(&w, &token, &b, Duration::hours(5), "peer_contact");
    let second = plan(&w, &token, &a, Duration::days(1), "security_review");
    let later = plan(&w, &token, &b, Duration::days(40), "legal_follow_up");

    assert!(agenda_ids(&agenda(&w, &token, "")).is_empty(), "by default only what is due now");
    let before = w.store.dump();
    let page = agenda(&w, &token, &format!("?due_before={}&limit=2", at(&w, Duration::days(5))));
    let (audit, rest): (Vec<_>, Vec<_>) = w
        .store
        .dump()
        .into_iter()
        .filter(|(k, v)| before.get(k) != Some(v))
        .partition(|(k, _)| k.starts_with("triage/org-audit/ngb/lists/"));
    assert!(rest.is_empty(), "reading the agenda writes nothing but its audit: {:?}", rest);
    // The agenda was listed by the same token a moment ago: that entry covers this
    // read (a repeat within five minutes, `org_audit::audit_list_read`).
    assert!(audit.is_empty(), "a repeated list read is covered by the first one's entry: {audit:?}");
    assert_eq!(agenda_ids(&page), vec![first.clone(), second.clone()]);
    assert_eq!(page.body["check_ins"][0]["case_id"], b.as_str());
    assert_eq!(page.body["check_ins"][0]["purpose"], "peer_contact");
    assert!(page.body["check_ins"][0].get("note").is_none(), "no notes on the agenda");
    let cursor = page.body["next_cursor"].as_str().unwrap().to_string();
    let rest = agenda(&w, &token, &format!("?due_before={}&limit=2&cursor={cursor}", at(&w, Duration::days(5))));
    assert_eq!(agenda_ids(&rest), vec![third.clone()]);
    assert_eq!(rest.body["next_cursor"], Value::Null);

    let all = agenda(&w, &token, &format!("?due_before={}&limit=100", at(&w, Duration::days(60))));
    assert_eq!(agenda_ids(&all), vec![first.clone(), second.clone(), third.clone(), later]);

    // Fallen due and announced, the first stays first; overdue ones stay on the agenda.
    w.advance(Duration::hours(6));
    w.sweep();
    let now = agenda(&w, &token, "");
    assert_eq!(agenda_ids(&now), vec![first]);
    assert_eq!(now.body["check_ins"][0]["fell_due"], true);
    let other = w.token("nvvr", "confidant");
    assert!(agenda_ids(&agenda(&w, &other, "")).is_empty(), "another organisation sees none of them");
}

#[test]
fn completing_records_the_outcome_and_a_sealed_note_and_takes_it_off_the_agenda() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = prevention_case(&w);
    let check_in = plan(&w, &token, &id, Duration::hours(2), "aftercare_call");
    w.advance(Duration::hours(3));
    w.sweep();
    assert_eq!(agenda_ids(&agenda(&w, &token, "")), vec![check_in.clone()]);

    let etag = etag_of(&w, &token, &id);
    let path = format!("/check-ins/{check_in}/complete");
    let done = post(&w, &token, &id, &path, &etag, json!({"outcome": "reached", "note": "Gaat goed, slaapt weer"}));
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["check_in"]["completion"]["outcome"], "reached");
    assert_eq!(done.body["check_in"]["completion"]["note"], "Gaat goed, slaapt weer");
    assert!(agenda_ids(&agenda(&w, &token, "")).is_empty());
    assert_eq!(w.record(&id).data.next_check_in, None);
    let stored: Vec<u8> = w.store.dump().into_values().flatten().collect();
    assert!(!String::from_utf8_lossy(&stored).contains("slaapt"), "the note is stored sealed only");
    let audit = w.staff(&token, "GET", &case_path(&id, "/audit"), &[], None);
    let entry = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == format!("check_in_completed:{check_in}:reached"))
        .cloned()
        .expect("audited");
    assert_eq!(entry["note"], "Gaat goed, slaapt weer");

    let again = post(&w, &token, &id, &path, &done.etag(), json!({"outcome": "declined", "note": "nogmaals"}));
    assert_eq!(again.status, 409);
    let unknown = "/check-ins/chk_0000000000000000000000000a/complete";
    let missing = post(&w, &token, &id, unknown, &done.etag(), json!({"outcome": "reached", "note": "x"}));
    assert_eq!(missing.status, 404);
    w.advance(Duration::days(10));
    w.sweep();
    assert_eq!(w.event_types(&id).iter().filter(|t| t.starts_with("case.check_in")).count(), 1, "only the due event");
}

#[test]
fn a_check_in_falls_due_then_is_overdue_every_interval_until_completed() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let token = w.token("ngb", "confidant");
        // P3: escalates every 4 hours by default.
        let id = w.triaged(incident(&[IncidentKind::Intimidation]));
        let check_in = plan(&w, &token, &id, Duration::hours(1), "aftercare_call");
        let announced = |w: &World| -> Vec<(String, Option<u32>)> {
            w.events()
                .iter()
                .filter(|e| e.event_type.as_str().starts_with("case.check_in"))
                .map(|e| (e.event_type.as_str().to_string(), e.data.escalation_level))
                .collect()
        };
        w.sweep();
        assert!(announced(&w).is_empty(), "{mode:?}: not before it is due");
        w.advance(Duration::minutes(61));
        let report = w.sweep();
        assert_eq!(report.body["check_ins_due"], 1, "{mode:?}: {}", report.body);
        assert_eq!(w.sweep().body["check_ins_due"], 0, "{mode:?}: announced once");
        let due = w.events().into_iter().find(|e| e.event_type.as_str() == "case.check_in_due").unwrap();
        assert_eq!(due.data.check_in_id.as_ref().map(|c| c.to_string()), Some(check_in.clone()));
        assert_eq!(due.data.check_in_due_at, Some(start() + Duration::hours(1)));

        w.advance(Duration::hours(3));
        assert_eq!(w.sweep().body["check_ins_overdue"], 0, "{mode:?}: within the interval");
        w.advance(Duration::hours(1));
        assert_eq!(w.sweep().body["check_ins_overdue"], 1, "{mode:?}");
        w.sweep();
        w.advance(Duration::hours(4));
        w.sweep();
        assert_eq!(
            announced(&w),
            vec![
                ("case.check_in_due".to_string(), None),
                ("case.check_in_overdue".to_string(), Some(1)),
                ("case.check_in_overdue".to_string(), Some(2)),
            ],
            "{mode:?}"
        );
        let etag = etag_of(&w, &token, &id);
        let path = format!("/check-ins/{check_in}/complete");
        let done = post(&w, &token, &id, &path, &etag, json!({"outcome": "not_reached", "note": "voicemail"}));
        assert_eq!(done.status, 200, "{}", done.body);
        w.advance(Duration::hours(8));
        w.sweep();
        assert_eq!(announced(&w).len(), 3, "{mode:?}: completed, no more announcements");
    }
}

#[test]
fn two_plans_on_the_same_version_make_one_check_in() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let token = w.token("ngb", "confidant");
        let id = prevention_case(&w);
        let etag = etag_of(&w, &token, &id);
        let body = json!({"due_at": at(&w, Duration::days(2)), "purpose": "aftercare_call"});
        let first = post(&w, &token, &id, "/check-ins", &etag, body.clone());
        let second = post(&w, &token, &id, "/check-ins", &etag, body);
        assert_eq!((first.status, second.status), (201, 412), "{mode:?}");
        let view = w.staff(&token, "GET", &case_path(&id, ""), &[], None);
        assert_eq!(view.body["check_ins"].as_array().unwrap().len(), 1, "{mode:?}");
        let all = agenda(&w, &token, &format!("?due_before={}", at(&w, Duration::days(3))));
        assert_eq!(agenda_ids(&all).len(), 1, "{mode:?}");
    }
}

#[test]
fn aftercare_needs_an_open_check_in_or_a_reason_none_is_wanted() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = prevention_case(&w);
    let mut etag = etag_of(&w, &token, &id);
    etag = post(&w, &token, &id, "/assign", &etag, json!({"confidant": "Desk"})).etag();
    etag = post(&w, &token, &id, "/status", &etag, json!({"status": "in_progress", "reason": "gesprek"})).etag();

    let before = w.store.dump();
    let refused = post(&w, &token, &id, "/status", &etag, json!({"status": "aftercare", "reason": "nazorg"}));
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["field"], "/no_aftercare_reason");
    assert_eq!(w.store.dump(), before, "a refused change writes nothing");
    let misplaced = json!({"status": "closed", "reason": "klaar", "no_aftercare_reason": "wil niet"});
    let misplaced = post(&w, &token, &id, "/status", &etag, misplaced);
    assert_eq!(misplaced.status, 422);
    assert_eq!(misplaced.body["field"], "/no_aftercare_reason");
    assert_eq!(w.store.dump(), before);

    let check_in = plan(&w, &token, &id, Duration::days(14), "aftercare_call");
    etag = etag_of(&w, &token, &id);
    let moved = post(&w, &token, &id, "/status", &etag, json!({"status": "aftercare", "reason": "nazorg"}));
    assert_eq!(moved.status, 200, "{}", moved.body);

    // A completed check-in is not planned work: back in progress and to aftercare again
    // needs a new one or the reason.
    let done = json!({"outcome": "declined", "note": "wil geen contact meer"});
    etag = post(&w, &token, &id, &format!("/check-ins/{check_in}/complete"), &moved.etag(), done).etag();
    let closed = post(&w, &token, &id, "/status", &etag, json!({"status": "closed", "reason": "afgerond"}));
    assert_eq!(closed.status, 200);
    let reopened = post(&w, &token, &id, "/status", &closed.etag(), json!({"status": "reopened", "reason": "nieuw"}));
    let in_progress =
        post(&w, &token, &id, "/status", &reopened.etag(), json!({"status": "in_progress", "reason": "gesprek"}));
    let again =
        post(&w, &token, &id, "/status", &in_progress.etag(), json!({"status": "aftercare", "reason": "nazorg"}));
    assert_eq!(again.status, 409, "{}", again.body);
}

#[test]
fn a_handover_carries_the_open_check_ins_to_the_new_organisation() {
    let w = World::new();
    let ngb = w.token("ngb", "confidant");
    let bzk = w.token("bzk", "confidant");
    let id = prevention_case(&w);
    let soon = plan(&w, &ngb, &id, Duration::hours(2), "aftercare_call");
    let later = plan(&w, &ngb, &id, Duration::days(3), "peer_contact");
    w.advance(Duration::hours(3));
    w.sweep();
    let window = format!("?due_before={}", at(&w, Duration::days(5)));
    assert_eq!(agenda_ids(&agenda(&w, &ngb, &window)), vec![soon.clone(), later.clone()]);

    let etag = etag_of(&w, &ngb, &id);
    let moved = post(&w, &ngb, &id, "/handover", &etag, json!({"organisation": "bzk", "reason": "verkeerde rol"}));
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert!(agenda_ids(&agenda(&w, &ngb, &window)).is_empty(), "the old organisation's agenda lets them go");
    assert_eq!(agenda_ids(&agenda(&w, &bzk, &window)), vec![soon, later.clone()], "the new one has both");

    w.advance(Duration::days(3));
    w.sweep();
    let due = w.events().into_iter().rfind(|e| e.event_type.as_str() == "case.check_in_due").unwrap();
    assert_eq!(due.data.check_in_id.map(|c| c.to_string()), Some(later));
    assert_eq!(due.data.organisation.map(|o| o.to_string()), Some("bzk".to_string()));
}

#[test]
fn bad_input_names_the_field_and_writes_nothing() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = prevention_case(&w);
    let check_in = plan(&w, &token, &id, Duration::days(1), "aftercare_call");
    let etag = etag_of(&w, &token, &id);
    let before = w.store.dump();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"due_at": at(&w, -Duration::minutes(1)), "purpose": "aftercare_call"}), "/due_at"),
        (json!({"due_at": at(&w, Duration::days(400)), "purpose": "aftercare_call"}), "/due_at"),
        (json!({"due_at": "morgen", "purpose": "aftercare_call"}), "/due_at"),
        (json!({"due_at": at(&w, Duration::days(1)), "purpose": "koffie"}), "/purpose"),
        (json!({"due_at": at(&w, Duration::days(1))}), "/purpose"),
        (json!({"due_at": at(&w, Duration::days(1)), "purpose": "peer_contact", "note": "  "}), "/note"),
        (json!({"due_at": at(&w, Duration::days(1)), "purpose": "peer_contact", "extra": 1}), "/extra"),
    ];
    for (body, field) in cases {
        let reply = post(&w, &token, &id, "/check-ins", &etag, body.clone());
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert_eq!(reply.body["field"], field, "{body}");
        assert_eq!(reply.headers["content-type"], "application/problem+json");
    }
    let complete = format!("/check-ins/{check_in}/complete");
    for (body, field) in
        [(json!({"outcome": "gelukt", "note": "x"}), "/outcome"), (json!({"outcome": "reached"}), "/note")]
    {
        let reply = post(&w, &token, &id, &complete, &etag, body.clone());
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert_eq!(reply.body["field"], field, "{body}");
    }
    for query in ["?due_before=gisteren", "?due_before=2027-12-01T00:00:00Z", "?limit=0", "?cursor=l1s2", "?when=now"] {
        let reply = w.staff(&token, "GET", &format!("/triage/check-ins{query}"), &[], None);
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert!(reply.body["field"].is_string(), "{query}");
    }
    let no_version = w.staff(&token, "POST", &case_path(&id, "/check-ins"), &[], Some(json!({})));
    assert_eq!(no_version.status, 428);
    let stale = post(
        &w,
        &token,
        &id,
        "/check-ins",
        "\"1\"",
        json!({"due_at": at(&w, Duration::days(1)), "purpose": "peer_contact"}),
    );
    assert_eq!(stale.status, 412);
    assert_eq!(w.store.dump(), before, "bad input writes nothing");
}

#[test]
fn another_organisation_gets_404_for_the_check_ins_of_a_case() {
    let w = World::new();
    let ngb = w.token("ngb", "confidant");
    let nvvr = w.token("nvvr", "confidant");
    let id = prevention_case(&w);
    let check_in = plan(&w, &ngb, &id, Duration::days(1), "aftercare_call");
    let etag = etag_of(&w, &ngb, &id);
    let before = w.store.dump();
    let body = json!({"due_at": at(&w, Duration::days(1)), "purpose": "peer_contact"});
    assert_eq!(post(&w, &nvvr, &id, "/check-ins", &etag, body).status, 404);
    let done = json!({"outcome": "reached", "note": "x"});
    assert_eq!(post(&w, &nvvr, &id, &format!("/check-ins/{check_in}/complete"), &etag, done).status, 404);
    assert_eq!(w.store.dump(), before);
}

/// Store operations of planning a check-in and of an agenda page
/// (`cargo test -p triage --test api check_ins::store_cost -- --nocapture`).
#[test]
fn store_cost_of_planning_and_of_an_agenda_page() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let cases: Vec<CaseId> = (0..10).map(|_| prevention_case(&w)).collect();
    for (i, id) in cases.iter().enumerate() {
        plan(&w, &token, id, Duration::hours(1 + i as i64 * 5), "aftercare_call");
    }
    w.advance(Duration::hours(2));
    w.sweep();
    let etag = etag_of(&w, &token, &cases[0]);
    w.store.reset_ops();
    let reply = post(
        &w,
        &token,
        &cases[0],
        "/check-ins",
        &etag,
        json!({"due_at": at(&w, Duration::days(2)), "purpose": "peer_contact"}),
    );
    assert_eq!(reply.status, 201);
    let planning = w.store.ops();
    w.store.reset_ops();
    let page = agenda(&w, &token, &format!("?due_before={}&limit=20", at(&w, Duration::days(3))));
    assert_eq!(agenda_ids(&page).len(), 11);
    let page_ops = w.store.ops();
    w.store.reset_ops();
    let etag = etag_of(&w, &token, &cases[1]);
    w.store.reset_ops();
    w.sweep();
    let sweep_ops = w.store.ops();
    println!("store operations: plan a check-in {planning}, agenda page of 11 over 3 days {page_ops}, idle sweep {sweep_ops} ({etag})");
    // token, ownership read, the case's data key, commit (read, slot, set_many, CAS
    // begin + swap), audit (slot, set).
    assert!(planning <= 11, "{planning}");
    // token, cursors, due list (exists, counter, 1 entry), 4 day lists (exists each,
    // counter and entries where written), 10 cases; the list read's audit slot and entry.
    assert!(page_ops <= 35 + 2, "{page_ops}");
}
