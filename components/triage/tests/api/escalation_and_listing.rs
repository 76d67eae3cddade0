//! Escalation from the sweep, and listing from the index lists (with its store cost).

use crate::common::*;
use serde_json::Value;
use shared::case::ReportFacts;
use shared::domain::{IncidentKind, Priority, RegionCode, RequestKind, Role};
use shared::id::CaseId;
use shared::kv::memory::CasMode;
use shared::time::Duration;

fn p1(w: &World) -> CaseId {
    w.triaged(ReportFacts { immediate_danger: true, ..facts() })
}

fn escalations(w: &World, id: &CaseId) -> Vec<u32> {
    w.events()
        .iter()
        .filter(|e| &e.data.case_reference == id && e.event_type.as_str() == "case.escalated")
        .map(|e| e.data.escalation_level.unwrap())
        .collect()
}

#[test]
fn escalation_fires_after_the_deadline_repeats_and_stops_after_acknowledgement() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let id = p1(&w);
        let token = w.token("ngb", "confidant");
        w.advance(Duration::minutes(14));
        w.sweep();
        assert!(escalations(&w, &id).is_empty(), "{mode:?}: not before the deadline");
        w.advance(Duration::minutes(1));
        assert_eq!(w.sweep().body["escalated"], 1);
        assert_eq!(escalations(&w, &id), vec![1], "{mode:?}");
        w.sweep();
        assert_eq!(escalations(&w, &id), vec![1], "{mode:?}: once per level");
        w.advance(Duration::minutes(15));
        w.sweep();
        assert_eq!(escalations(&w, &id), vec![1, 2], "{mode:?}: again after the interval");

        let etag = w.staff(&token, "GET", &format!("/triage/cases/{id}"), &[], None).etag();
        let ack = w.staff(&token, "POST", &format!("/triage/cases/{id}/acknowledge"), &[("if-match", &etag)], None);
        assert_eq!(ack.status, 200);
        w.advance(Duration::hours(2));
        w.sweep();
        assert_eq!(escalations(&w, &id), vec![1, 2], "{mode:?}: acknowledged cases do not escalate");
    }
}

#[test]
fn an_overdue_p4_escalates_at_its_deadline_and_again_every_day() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let p4 = w.triaged(ReportFacts { request_kind: RequestKind::Prevention, ..facts() });
        assert_eq!(w.record(&p4).data.assessment.unwrap().priority, Priority::P4);
        // First contact is due 3 days (4320 minutes) after receipt.
        w.advance(Duration::minutes(4319));
        w.sweep();
        assert!(escalations(&w, &p4).is_empty(), "{mode:?}: not before the deadline");
        w.advance(Duration::minutes(1));
        assert_eq!(w.sweep().body["escalated"], 1);
        assert_eq!(escalations(&w, &p4), vec![1], "{mode:?}: at the deadline");
        w.advance(Duration::minutes(1439));
        w.sweep();
        assert_eq!(escalations(&w, &p4), vec![1], "{mode:?}: not before a day has passed");
        w.advance(Duration::minutes(1));
        w.sweep();
        assert_eq!(escalations(&w, &p4), vec![1, 2], "{mode:?}: again a day later");
        w.advance(Duration::days(1));
        w.sweep();
        assert_eq!(escalations(&w, &p4), vec![1, 2, 3], "{mode:?}: and every day after");
    }
}

#[test]
fn by_default_an_overdue_p3_escalates_every_four_hours() {
    let w = World::new();
    let p3 = w.triaged(incident(&[IncidentKind::Intimidation]));
    w.advance(Duration::hours(30));
    w.sweep();
    assert_eq!(escalations(&w, &p3), vec![2], "24 h deadline, then every 4 h: level 1 + 1 full interval");
}

#[test]
fn only_configured_priorities_escalate() {
    let mut w = World::new();
    w.vars.set("escalation_interval_minutes", "P1=15,P2=60");
    let p3 = w.triaged(incident(&[IncidentKind::Intimidation]));
    let p2 = w.triaged(incident(&[IncidentKind::Stalking]));
    w.advance(Duration::hours(30));
    w.sweep();
    assert!(escalations(&w, &p3).is_empty());
    assert_eq!(escalations(&w, &p2), vec![27], "4 h deadline, then hourly: level 1 + 26 full hours");
}

#[test]
fn two_sweeps_at_once_escalate_a_level_once() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let ids: Vec<CaseId> = (0..4).map(|_| p1(&w)).collect();
        w.advance(Duration::minutes(16));
        std::thread::scope(|s| {
            s.spawn(|| w.sweep());
            s.spawn(|| w.sweep());
        });
        for id in &ids {
            let mut levels = escalations(&w, id);
            levels.dedup();
            assert_eq!(levels, vec![1], "{mode:?}");
        }
    }
}

#[test]
fn the_sweep_accepts_a_programme_admin_and_refuses_anyone_else() {
    let w = World::new();
    assert_eq!(w.staff(ADMIN, "POST", "/triage/sweep", &[], None).status, 200);
    let confidant = w.token("bzk", "confidant");
    assert_eq!(w.staff(&confidant, "POST", "/triage/sweep", &[], None).status, 403);
    // The sweep's report counts every organisation's cases: an organisation's admin,
    // even BZK's without the programme scope, may not run it.
    for org in ["ngb", "bzk"] {
        let admin = w.token(org, "admin");
        let refused = w.staff(&admin, "POST", "/triage/sweep", &[], None);
        assert_eq!(refused.status, 403, "{org}: {}", refused.body);
    }
    assert_eq!(w.call("POST", "/triage/sweep", &[], None).status, 401);
    assert_eq!(w.call("POST", "/triage/sweep", &[("weerbaar-internal-secret", "x")], None).status, 401);
}

fn ids(reply: &Value) -> Vec<String> {
    reply["cases"].as_array().unwrap().iter().map(|c| c["case_id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn listing_filters_sorts_and_pages_from_the_indexes() {
    let w = World::new();
    let token = w.token("nvvr", "confidant");
    let council = |f: ReportFacts| ReportFacts { role: Role::CouncilMember, ..f };
    let p3 = w.triaged(council(incident(&[IncidentKind::OnlineHarassment])));
    w.advance(Duration::minutes(1));
    let p1 = w.triaged(council(ReportFacts { immediate_danger: true, region: RegionCode::Vr13, ..facts() }));
    w.advance(Duration::minutes(1));
    let p4 = w.triaged(council(ReportFacts { request_kind: RequestKind::Prevention, ..facts() }));
    w.triaged(incident(&[IncidentKind::Stalking])); // a mayor's: NGB, never listed here

    let list = |q: &str| {
        let reply = w.staff(&token, "GET", &format!("/triage/cases{q}"), &[], None);
        assert_eq!(reply.status, 200, "{q}: {}", reply.body);
        reply.body
    };
    assert_eq!(ids(&list("")), vec![p4.to_string(), p1.to_string(), p3.to_string()], "newest first");
    assert_eq!(ids(&list("?sort=urgent")), vec![p1.to_string(), p3.to_string(), p4.to_string()]);
    assert_eq!(ids(&list("?region=VR13")), vec![p1.to_string()]);
    assert_eq!(ids(&list("?priority=P4")), vec![p4.to_string()]);
    assert_eq!(ids(&list("?status=triaged&sort=urgent")).len(), 3);
    assert!(ids(&list("?status=closed")).is_empty());
    assert!(ids(&list("?overdue=true")).is_empty());
    w.advance(Duration::minutes(20));
    assert_eq!(ids(&list("?overdue=true")), vec![p1.to_string()]);
    assert_eq!(ids(&list("?overdue=false")).len(), 2);

    let first = list("?limit=2");
    assert_eq!(ids(&first).len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let second = list(&format!("?limit=2&cursor={cursor}"));
    assert_eq!(ids(&second), vec![p3.to_string()]);

    let bad = w.staff(&token, "GET", "/triage/cases?status=gone", &[], None);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["field"], "status");
    assert_eq!(w.staff(&token, "GET", "/triage/cases?limt=2", &[], None).status, 400);
}

/// Index entries are hints: an entry the case's record does not hold (left behind by a
/// change, orphaned by a lost swap, or pointing at another organisation's case or at
/// no case) is never shown, whatever the listing decodes of the record.
#[test]
fn a_listing_never_shows_an_entry_the_record_does_not_hold() {
    use shared::kv::slots::SlotLog;
    use shared::kv::KeyValue;
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let a = w.triaged(incident(&[IncidentKind::Intimidation]));
    w.advance(Duration::minutes(1));
    let b = w.triaged(incident(&[IncidentKind::Stalking]));
    // A council member's case: NVvR's.
    let other = w.triaged(ReportFacts { role: Role::CouncilMember, ..incident(&[IncidentKind::Stalking]) });
    let missing = CaseId::parse("case_0000000000000000000000000a").unwrap();
    let stray = |log: &str, id: &CaseId| {
        let log = SlotLog::new(log);
        let slot = log.reserve(&w.store).unwrap();
        let entry = serde_json::json!({ "case_id": id });
        w.store.set(&log.key(slot), entry.to_string().as_bytes()).unwrap();
    };
    stray("triage/idx/ngb/all", &a); // a second entry of a case: the record holds the first
    stray("triage/idx/ngb/all", &other);
    stray("triage/idx/ngb/all", &missing);
    stray("triage/idx/ngb/status/closed", &b);
    stray("triage/idx/ngb/priority/P1", &a);
    stray("triage/idx/ngb/unacked/P3", &b);
    stray("triage/idx/ngb/unread", &a);
    w.advance(Duration::days(3)); // every deadline passed: the overdue lists are walked

    let list = |q: &str| {
        let reply = w.staff(&token, "GET", &format!("/triage/cases{q}"), &[], None);
        assert_eq!(reply.status, 200, "{q}: {}", reply.body);
        ids(&reply.body)
    };
    let (a, b) = (a.to_string(), b.to_string());
    assert_eq!(list(""), vec![b.clone(), a.clone()], "each case once, no other organisation's, no missing case");
    assert_eq!(list("?limit=1"), vec![b.clone()]);
    assert!(list("?status=closed").is_empty());
    assert_eq!(list("?status=triaged"), vec![b.clone(), a.clone()]);
    assert!(list("?priority=P1").is_empty());
    assert_eq!(list("?overdue=true").len(), 2);
    assert!(list("?unread=true").is_empty());
    assert_eq!(list("?sort=unread_first"), vec![b.clone(), a.clone()]);
    assert_eq!(list("?sort=urgent").len(), 2);
    let nvvr = w.token("nvvr", "confidant");
    let theirs = w.staff(&nvvr, "GET", "/triage/cases", &[], None);
    assert_eq!(ids(&theirs.body), vec![other.to_string()], "NGB's cases never show to NVvR");
}

/// The store cost of one triage and one listing page, as stated in docs/triage.md.
/// `cargo test -p triage --test api escalation_and_listing::store_cost -- --nocapture`
#[test]
fn store_cost_of_a_triage_and_a_listing_is_small_and_flat() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    for _ in 0..50 {
        w.triaged(incident(&[IncidentKind::Intimidation]));
    }
    let id = w.file(ReportFacts { immediate_danger: true, ..facts() });
    w.store.reset_ops();
    w.handover(&id);
    let triage_ops = w.store.ops();
    w.store.reset_ops();
    let page = w.staff(&token, "GET", "/triage/cases?limit=20", &[], None);
    assert_eq!(ids(&page.body).len(), 20);
    let list_ops = w.store.ops();
    w.store.reset_ops();
    w.staff(&token, "GET", "/triage/cases?limit=20&sort=urgent&overdue=false", &[], None);
    let urgent_ops = w.store.ops();
    println!("store operations: triage {triage_ops}, newest page of 20 {list_ops}, urgent page {urgent_ops}");
    // 12 for the triage itself (docs/triage.md), plus the programme figures' counters
    // of a newly triaged case: event, role, region, request kind and its one incident kind.
    assert!(triage_ops <= 12 + 5, "{triage_ops}");
    // Spin reads each key with its own get (get_many breaks on Redis), so a page reads
    // only what it shows: the token, the list's counter, 20 slots and their 20 cases,
    // and writes the list read's audit entry (a slot and the entry: issue 13, point 4).
    assert!(list_ops <= 2 + 2 * 20 + 1 + 2, "{list_ops}: a token, a counter, 20 slots, 20 cases, audit slot and entry");
    assert!(urgent_ops <= 2 * (2 + 2 * 20 + 1), "{urgent_ops}");
}

/// No case left unacknowledged hides the ones after it: one P3 and one P1 stay
/// unacknowledged (the P1 escalating again and again), then 1,500 later cases follow,
/// 1,200 of them P1s. More than a sweep's budget of slots lies past the oldest held
/// entry; with a sweep every minute, every later P1 still escalates at its deadline.
#[test]
fn a_case_left_unacknowledged_never_hides_later_ones_from_escalation() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let old_p3 = w.triaged(incident(&[IncidentKind::Intimidation]));
        let old_p1 = p1(&w);
        w.advance(Duration::minutes(20));
        w.sweep();
        assert_eq!(escalations(&w, &old_p1), vec![1], "{mode:?}");
        let mut later_p1 = Vec::new();
        for i in 0..1500 {
            if i % 5 == 4 {
                w.triaged(incident(&[IncidentKind::Intimidation]));
            } else {
                later_p1.push(p1(&w));
            }
        }
        for _ in 0..15 {
            w.advance(Duration::minutes(1));
            w.sweep();
        }
        let escalated: std::collections::HashSet<CaseId> = w
            .events()
            .into_iter()
            .filter(|e| e.event_type.as_str() == "case.escalated")
            .map(|e| e.data.case_reference)
            .collect();
        let late: Vec<&CaseId> = later_p1.iter().filter(|id| !escalated.contains(*id)).collect();
        assert!(late.is_empty(), "{mode:?}: {} of {} later P1s never escalated", late.len(), later_p1.len());
        assert_eq!(escalations(&w, &old_p1).len(), 2, "{mode:?}: the held P1 escalates on its interval");
        assert!(escalations(&w, &old_p3).is_empty(), "{mode:?}: the P3 is not due for hours");
    }
}
