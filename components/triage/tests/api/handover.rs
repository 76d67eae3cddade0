//! Intake's handover: triage once, events durably out, the directory and notification
//! components allowed to be down.

use crate::common::*;
use shared::case::{pending_triage_log, ReportFacts};
use shared::domain::{CaseStatus, IncidentKind, Priority};
use shared::kv::memory::CasMode;
use shared::time::Duration;
use triage::core::work::work_of;

#[test]
fn p1_case_notifies_within_one_request() {
    let w = World::new();
    let id = w.file(ReportFacts { immediate_danger: true, ..incident(&[IncidentKind::ThreatOfViolence]) });
    let reply = w.handover(&id);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["priority"], "P1");
    assert_eq!(reply.body["status"], "triaged");
    assert_eq!(w.event_types(&id), vec!["case.created", "case.triaged"]);
    let triaged = &w.events()[1];
    assert_eq!(triaged.data.priority, Some(Priority::P1));
    assert_eq!(triaged.data.first_contact_due, Some(start() + Duration::minutes(15)));
    assert!(w.outbox().is_empty(), "sent events leave the outbox");
    assert!(!w.store.dump().contains_key(&pending_triage_log().key(1)), "no longer pending");
}

#[test]
fn a_notification_without_the_batch_endpoint_gets_the_events_one_by_one_in_order() {
    let w = World::new();
    w.peers.lock().unwrap().notification_without_batch = true;
    let id = w.file(ReportFacts { immediate_danger: true, ..incident(&[IncidentKind::ThreatOfViolence]) });
    let reply = w.handover(&id);
    assert_eq!(reply.status, 200);
    assert_eq!(w.event_types(&id), vec!["case.created", "case.triaged"]);
    assert!(w.outbox().is_empty(), "events accepted one by one leave the outbox too");
}

#[test]
fn a_second_handover_changes_nothing_and_answers_the_same() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let id = w.file(incident(&[IncidentKind::Stalking]));
        let first = w.handover(&id);
        let before = w.store.dump();
        let second = w.handover(&id);
        assert_eq!(first.body, second.body, "{mode:?}");
        assert_eq!(w.store.dump(), before, "{mode:?}: nothing written the second time");
        assert_eq!(w.event_types(&id), vec!["case.created", "case.triaged"], "{mode:?}");
        assert_eq!(w.record(&id).version, 2, "{mode:?}: one write");
    }
}

#[test]
fn the_handover_needs_the_internal_secret() {
    let w = World::new();
    let id = w.file(facts());
    let reply = w.call("POST", "/triage/internal/cases", &[], Some(serde_json::json!({ "case_id": id })));
    assert_eq!(reply.status, 401);
    assert_eq!(w.record(&id).data.status, CaseStatus::Received);
    let wrong = w.call(
        "POST",
        "/triage/internal/cases",
        &[("weerbaar-internal-secret", "nope")],
        Some(serde_json::json!({ "case_id": id })),
    );
    assert_eq!(wrong.status, 401);
}

#[test]
fn an_unknown_case_is_404_and_a_bad_body_names_the_field() {
    let w = World::new();
    let unknown = w.handover(&shared::id::CaseId::generate(&w.random));
    assert_eq!(unknown.status, 404);
    let before = w.store.dump();
    let bad = w.call(
        "POST",
        "/triage/internal/cases",
        &[("weerbaar-internal-secret", INTERNAL)],
        Some(serde_json::json!({"case_id": "mem_x", "extra": 1})),
    );
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["field"], "/case_id");
    assert_eq!(w.store.dump(), before);
}

#[test]
fn with_the_directory_down_the_case_is_triaged_without_suggestions_and_matched_later() {
    let w = World::new();
    w.peers.lock().unwrap().directory_down = true;
    let id = w.triaged(incident(&[IncidentKind::ThreatOfViolence]));
    let work = work_of(&w.record(&id).data);
    assert!(work.suggestions.is_empty());
    assert!(work.rematch);
    assert_eq!(w.event_types(&id), vec!["case.created", "case.triaged"]);

    w.sweep();
    assert!(work_of(&w.record(&id).data).rematch, "still down: still marked");
    w.peers.lock().unwrap().directory_down = false;
    let report = w.sweep();
    assert_eq!(report.body["rematched"], 1);
    let work = work_of(&w.record(&id).data);
    assert!(!work.rematch);
    assert_eq!(work.suggestions[0].member_id.as_str(), MEMBER);
    let matched = &w.peers.lock().unwrap().directory_calls[0].1;
    assert_eq!(matched["municipality"], MUNICIPALITY, "the directory gets the municipality for its conflict rule");
}

/// A change's events share one outbox entry: when notification takes one and refuses
/// the other, the entry stays whole and the sweep sends both again (notification
/// accepts an event id once, so the first is not delivered twice).
#[test]
fn an_event_refused_keeps_its_whole_entry_for_the_sweep() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        w.peers.lock().unwrap().notification_refuses.insert("case.triaged".into());
        let id = w.triaged(ReportFacts { immediate_danger: true, ..facts() });
        assert_eq!(w.event_types(&id), vec!["case.created"], "{mode:?}");
        assert_eq!(w.outbox_events(), vec!["case.created", "case.triaged"], "{mode:?}: the entry stays whole");
        assert!(!w.store.dump().contains_key(&pending_triage_log().key(1)), "{mode:?}: no longer pending");
        w.peers.lock().unwrap().notification_refuses.clear();
        let report = w.sweep();
        assert_eq!(report.body["events_sent"], 2, "{mode:?}");
        assert!(w.outbox().is_empty(), "{mode:?}");
        let ids: std::collections::BTreeSet<_> = w.events().iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids.len(), 2, "{mode:?}: two events, the first sent again under its own id");
        assert_eq!(w.event_types(&id), vec!["case.created", "case.created", "case.triaged"], "{mode:?}");
    }
}

#[test]
fn a_notification_outage_loses_no_event() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        w.peers.lock().unwrap().notification_down = true;
        let id = w.triaged(ReportFacts { immediate_danger: true, ..facts() });
        assert!(w.events().is_empty());
        let waiting = vec!["case.created", "case.triaged"];
        assert_eq!(w.outbox_events(), waiting, "{mode:?}: both events wait in the outbox");
        assert_eq!(w.outbox().len(), 1, "{mode:?}: in the one entry of their change");
        w.sweep();
        assert_eq!(w.outbox_events(), waiting);
        w.peers.lock().unwrap().notification_down = false;
        let report = w.sweep();
        assert_eq!(report.body["events_sent"], 2, "{mode:?}");
        assert_eq!(w.event_types(&id), vec!["case.created", "case.triaged"]);
        assert!(w.outbox().is_empty());
        w.sweep();
        assert_eq!(w.events().len(), 2, "{mode:?}: sent once");
    }
}

#[test]
fn the_sweep_triages_what_intake_could_not_hand_over() {
    let w = World::new();
    let a = w.file(incident(&[IncidentKind::Doxxing]));
    let b = w.file(ReportFacts { request_kind: shared::domain::RequestKind::Prevention, ..facts() });
    let report = w.sweep();
    assert_eq!(report.body["triaged"], 2);
    assert_eq!(w.record(&a).data.assessment.unwrap().priority, Priority::P2);
    assert_eq!(w.record(&b).data.assessment.unwrap().priority, Priority::P4);
    assert!(!w.store.dump().keys().any(|k| k.starts_with("idx/pending_triage/s/")));
    let again = w.sweep();
    assert_eq!(again.body["triaged"], 0);
}

#[test]
fn two_sweeps_at_once_triage_and_notify_once() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let ids: Vec<_> = (0..6).map(|_| w.file(incident(&[IncidentKind::Stalking]))).collect();
        std::thread::scope(|s| {
            s.spawn(|| w.sweep());
            s.spawn(|| w.sweep());
        });
        w.sweep();
        for id in &ids {
            let record = w.record(id);
            assert_eq!(record.version, 2, "{mode:?}: triaged once");
            let committed = work_of(&record.data).events;
            assert_eq!(committed.len(), 2);
            let delivered: Vec<_> = w.events().into_iter().filter(|e| &e.data.case_reference == id).collect();
            assert!(delivered.iter().all(|e| committed.contains(&e.id)), "{mode:?}: only committed events go out");
            // Two sweeps may both hand the same committed event to notification, which
            // deduplicates by event id: what must hold is one logical event per change.
            let mut logical: Vec<_> = Vec::new();
            for event in &delivered {
                if !logical.iter().any(|(id, _)| *id == &event.id) {
                    logical.push((&event.id, event.event_type.as_str()));
                }
            }
            let kinds: Vec<_> = logical.iter().map(|(_, kind)| *kind).collect();
            assert_eq!(kinds, vec!["case.created", "case.triaged"], "{mode:?}");
        }
        assert!(w.outbox().is_empty(), "{mode:?}: orphans of the losing sweep are cleaned");
    }
}

#[test]
fn events_carry_nothing_personal() {
    let w = World::new();
    let id = w.triaged(ReportFacts { immediate_danger: true, ..facts() });
    let text = serde_json::to_string(&w.events()).unwrap();
    for needle in [MUNICIPALITY, "Koolhoven", "12345678", "Mes aan de deur"] {
        assert!(!text.contains(needle), "{needle} in an event");
    }
    assert!(text.contains(id.as_str()));
}
