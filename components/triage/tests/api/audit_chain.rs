//! The audit cannot be skipped or quietly changed (issue 13, point 4): a change and its
//! entry stand or fall together, every entry is hash-chained, and tampering is found.

use crate::common::*;
use serde_json::{json, Value};
use shared::case::ReportFacts;
use shared::domain::{IncidentKind, Role};
use shared::id::CaseId;
use shared::kv::memory::CasMode;
use shared::kv::KeyValue;

fn case_path(id: &CaseId, rest: &str) -> String {
    format!("/triage/cases/{id}{rest}")
}

fn ngb_case(w: &World) -> CaseId {
    w.triaged(ReportFacts { role: Role::Mayor, ..incident(&[IncidentKind::ThreatOfViolence]) })
}

fn verify(w: &World, token: &str, id: &CaseId) -> Value {
    let reply = w.staff(token, "GET", &case_path(id, "/audit/verify"), &[], None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn actions(w: &World, token: &str, id: &CaseId) -> Vec<String> {
    let trail = w.staff(token, "GET", &case_path(id, "/audit"), &[], None);
    assert_eq!(trail.status, 200, "{}", trail.body);
    trail.body["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
}

fn entry_key(id: &CaseId, slot: u64) -> String {
    format!("case/{id}/audit/s/{slot:012}")
}

/// A case with changes by staff and the system, and reads between them.
fn worked(w: &World) -> (CaseId, String, String) {
    let id = ngb_case(w);
    let confidant = w.token("ngb", "confidant");
    let admin = w.token("ngb", "admin");
    let etag = w.staff(&confidant, "GET", &case_path(&id, ""), &[], None).etag();
    let acked = w.staff(&confidant, "POST", &case_path(&id, "/acknowledge"), &[("if-match", &etag)], None);
    assert_eq!(acked.status, 200, "{}", acked.body);
    let body = json!({"priority": "P3", "reason": "minder acuut"});
    let changed = w.staff(&confidant, "POST", &case_path(&id, "/priority"), &[("if-match", &acked.etag())], Some(body));
    assert_eq!(changed.status, 200, "{}", changed.body);
    (id, confidant, admin)
}

#[test]
fn system_actions_reads_and_changes_are_all_in_one_verified_trail() {
    let w = World::new();
    let (id, confidant, admin) = worked(&w);
    let seen = actions(&w, &confidant, &id);
    // The trail read is audited before it answers, so it shows itself.
    assert_eq!(seen, ["triaged:P2:ngb", "read", "acknowledged", "priority:P3", "audit_read"], "{seen:?}");
    let verified = verify(&w, &admin, &id);
    assert_eq!(verified["valid"], true, "{verified}");
    assert_eq!(verified["entries"], 6, "{verified}");
    assert_eq!(actions(&w, &confidant, &id)[4..], ["audit_read", "audit_verified", "audit_read"]);
}

#[test]
fn an_edited_entry_is_detected_by_its_slot() {
    let w = World::new();
    let (id, _, admin) = worked(&w);
    // Slot 3 is the acknowledgement: rewrite who did it, keeping valid JSON.
    let key = entry_key(&id, 3);
    let stored = w.store.get(&key).unwrap().unwrap();
    let edited = String::from_utf8(stored).unwrap().replace("acknowledged", "read");
    w.store.set(&key, edited.as_bytes()).unwrap();
    let verified = verify(&w, &admin, &id);
    assert_eq!(verified["valid"], false, "{verified}");
    assert_eq!(verified["broken"], json!({"chain": "record", "slot": 3, "problem": "altered"}));
}

#[test]
fn a_removed_entry_is_detected_in_either_chain() {
    for (slot, chain) in [(1, "record"), (2, "activity")] {
        let w = World::new();
        let (id, _, admin) = worked(&w);
        w.store.delete(&entry_key(&id, slot)).unwrap();
        let verified = verify(&w, &admin, &id);
        assert_eq!(verified["valid"], false, "{verified}");
        assert_eq!(verified["broken"], json!({"chain": chain, "slot": slot, "problem": "missing"}), "{verified}");
    }
}

#[test]
fn an_entry_slipped_in_beside_the_chains_is_detected() {
    let w = World::new();
    let (id, _, admin) = worked(&w);
    let forged = json!({"at": "2026-11-28T10:00:00.000Z", "actor": {"kind": "system"}, "action": "read"});
    let slot = w.store.increment(&format!("case/{id}/audit/n"), 1).unwrap() as u64;
    w.store.set(&entry_key(&id, slot), &serde_json::to_vec(&forged).unwrap()).unwrap();
    let verified = verify(&w, &admin, &id);
    assert_eq!(verified["broken"]["problem"], "unchained", "{verified}");
}

#[test]
fn only_admins_of_the_owning_organisation_verify() {
    let w = World::new();
    let (id, confidant, _) = worked(&w);
    assert_eq!(w.staff(&confidant, "GET", &case_path(&id, "/audit/verify"), &[], None).status, 403);
    let other = w.token("wethoudersvereniging", "admin");
    assert_eq!(w.staff(&other, "GET", &case_path(&id, "/audit/verify"), &[], None).status, 404);
}

#[test]
fn a_failure_between_the_entry_and_the_change_leaves_neither() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let id = ngb_case(&w);
        let confidant = w.token("ngb", "confidant");
        let admin = w.token("ngb", "admin");
        let before = w.record(&id);
        // The swap of the case is the commit point: it fails after the change's
        // entries were written.
        w.store.fail_swaps(true);
        let etag = format!("\"{}\"", before.version);
        let reply = w.staff(&confidant, "POST", &case_path(&id, "/acknowledge"), &[("if-match", &etag)], None);
        w.store.fail_swaps(false);
        assert_eq!(reply.status, 503, "{mode:?}: the store failed: {}", reply.body);

        // The entry was written (slot 2) but no head names it: the change did not
        // happen and its entry neither shows nor counts.
        assert!(w.store.exists(&entry_key(&id, 2)).unwrap(), "{mode:?}: the failure came after the entry");
        assert_eq!(w.record(&id).version, before.version, "{mode:?}");
        assert!(w.record(&id).data.acknowledged_at.is_none(), "{mode:?}");
        assert!(!actions(&w, &admin, &id).contains(&"acknowledged".to_string()), "{mode:?}");
        let verified = verify(&w, &admin, &id);
        assert_eq!(verified["valid"], true, "{mode:?}: {verified}");
        assert_eq!(verified["entries"], 3, "{mode:?}: triaged and two audit reads: {verified}");
    }
}

#[test]
fn a_read_whose_entry_is_not_chained_is_not_answered() {
    let w = World::new();
    let id = ngb_case(&w);
    let confidant = w.token("ngb", "confidant");
    let admin = w.token("ngb", "admin");
    w.store.fail_swaps(true);
    let reply = w.staff(&confidant, "GET", &case_path(&id, ""), &[], None);
    w.store.fail_swaps(false);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(reply.body.get("reporter").is_none(), "{}", reply.body);
    assert!(!actions(&w, &admin, &id).contains(&"read".to_string()), "an unanswered read is not in the trail");
    assert_eq!(verify(&w, &admin, &id)["valid"], true);
}

#[test]
fn a_failed_entry_write_makes_no_change() {
    let w = World::new();
    let id = ngb_case(&w);
    let confidant = w.token("ngb", "confidant");
    let before = w.record(&id);
    w.store.fail_writes(true);
    let etag = format!("\"{}\"", before.version);
    let reply = w.staff(&confidant, "POST", &case_path(&id, "/acknowledge"), &[("if-match", &etag)], None);
    w.store.fail_writes(false);
    assert_ne!(reply.status, 200);
    assert_eq!(w.record(&id).version, before.version);
    assert!(w.record(&id).data.acknowledged_at.is_none());
}

#[test]
fn a_read_whose_entry_cannot_be_written_is_not_answered() {
    let w = World::new();
    let id = ngb_case(&w);
    let confidant = w.token("ngb", "confidant");
    w.store.fail_writes(true);
    let reply = w.staff(&confidant, "GET", &case_path(&id, ""), &[], None);
    w.store.fail_writes(false);
    assert_ne!(reply.status, 200);
    assert!(reply.body.get("reporter").is_none(), "{}", reply.body);
}

#[test]
fn list_reads_are_in_the_organisation_audit_for_its_admins_only() {
    let w = World::new();
    ngb_case(&w);
    let confidant = w.token("ngb", "confidant");
    let admin = w.token("ngb", "admin");
    assert_eq!(w.staff(&confidant, "GET", "/triage/cases", &[], None).status, 200);
    assert_eq!(w.staff(&confidant, "GET", "/triage/check-ins", &[], None).status, 200);
    // Bad input is refused before anything is written.
    assert_eq!(w.staff(&confidant, "GET", "/triage/cases?limit=x", &[], None).status, 400);
    assert_eq!(w.staff(&confidant, "GET", "/triage/audit", &[], None).status, 403);
    let audit = w.staff(&admin, "GET", "/triage/audit", &[], None);
    assert_eq!(audit.status, 200, "{}", audit.body);
    let listed: Vec<&str> =
        audit.body["list_reads"].as_array().unwrap().iter().map(|e| e["listed"].as_str().unwrap()).collect();
    assert_eq!(listed, ["cases", "check_ins", "organisation_audit"], "{}", audit.body);
    assert_eq!(audit.body["list_reads"][0]["holder"], "Anne de Wit");
    let other = w.token("wethoudersvereniging", "admin");
    let theirs = w.staff(&other, "GET", "/triage/audit", &[], None);
    assert_eq!(theirs.body["list_reads"].as_array().unwrap().len(), 1, "only their own: {}", theirs.body);
}

#[test]
fn concurrent_reads_keep_one_unbroken_activity_chain() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let id = ngb_case(&w);
        let confidants: Vec<String> = (0..6).map(|_| w.token("ngb", "confidant")).collect();
        let admin = w.token("ngb", "admin");
        let etag = w.record(&id).version;
        std::thread::scope(|s| {
            for confidant in &confidants {
                let (w, id) = (&w, &id);
                s.spawn(move || {
                    for _ in 0..5 {
                        let reply = w.staff(confidant, "GET", &case_path(id, ""), &[], None);
                        assert_eq!(reply.status, 200, "{mode:?}: {}", reply.body);
                    }
                });
            }
        });
        assert_eq!(w.record(&id).version, etag, "{mode:?}: reads move no version");
        let verified = verify(&w, &admin, &id);
        assert_eq!(verified["valid"], true, "{mode:?}: {verified}");
        // triaged, one read per confidant (their repeats within five minutes are
        // covered by it, also those that raced it), the verification itself.
        assert_eq!(verified["entries"], 8, "{mode:?}: {verified}");
    }
}

#[test]
fn a_repeated_read_is_covered_by_the_readers_entry_for_five_minutes_and_no_longer() {
    let w = World::new();
    let id = ngb_case(&w);
    let confidant = w.token("ngb", "confidant");
    let other = w.token("ngb", "confidant");
    let admin = w.token("ngb", "admin");
    let read = |token: &str| assert_eq!(w.staff(token, "GET", &case_path(&id, ""), &[], None).status, 200);
    read(&confidant);
    let before = w.store.dump();
    read(&confidant);
    w.advance(shared::time::Duration::minutes(4));
    read(&confidant);
    assert_eq!(w.store.dump(), before, "repeats within five minutes write nothing");
    read(&other);
    read(&confidant);
    assert_ne!(w.store.dump(), before, "another reader is recorded");
    let reads = |w: &World| actions(w, &admin, &id).iter().filter(|a| *a == "read").count();
    assert_eq!(reads(&w), 2, "one entry per reader");
    w.advance(shared::time::Duration::minutes(2));
    read(&confidant);
    assert_eq!(reads(&w), 3, "past five minutes since the covering entry, a read is recorded again");
    // Every other act is recorded each time: the trail reads above are all there.
    assert_eq!(actions(&w, &admin, &id).iter().filter(|a| *a == "audit_read").count(), 3);
    assert_eq!(verify(&w, &admin, &id)["valid"], true);
}

#[test]
fn a_removed_covering_entry_is_detected_and_covers_nothing() {
    let w = World::new();
    let id = ngb_case(&w);
    let confidant = w.token("ngb", "confidant");
    let admin = w.token("ngb", "admin");
    assert_eq!(w.staff(&confidant, "GET", &case_path(&id, ""), &[], None).status, 200);
    // Slot 2 is the read: removed, the chain is broken and the next read is recorded.
    w.store.delete(&entry_key(&id, 2)).unwrap();
    assert_eq!(w.staff(&confidant, "GET", &case_path(&id, ""), &[], None).status, 200);
    assert!(w.store.exists(&entry_key(&id, 3)).unwrap(), "the repeat got an entry of its own");
    let verified = verify(&w, &admin, &id);
    assert_eq!(verified["broken"], json!({"chain": "activity", "slot": 2, "problem": "missing"}), "{verified}");
}

#[test]
fn entries_from_before_the_chains_are_shown_below_them_unverified() {
    let w = World::new();
    let id = w.file(ReportFacts { role: Role::Mayor, ..incident(&[IncidentKind::ThreatOfViolence]) });
    // What an earlier release wrote: no chain, no prev.
    let legacy = json!({"at": "2026-11-28T09:00:00.000Z", "actor": {"kind": "system"}, "action": "legacy"});
    let slot = w.store.increment(&format!("case/{id}/audit/n"), 1).unwrap() as u64;
    w.store.set(&entry_key(&id, slot), &serde_json::to_vec(&legacy).unwrap()).unwrap();
    assert_eq!(w.handover(&id).status, 200);
    let admin = w.token("ngb", "admin");
    let trail = w.staff(&admin, "GET", &case_path(&id, "/audit"), &[], None).body;
    assert_eq!(trail["entries"][0]["action"], "legacy", "{trail}");
    assert_eq!(trail["entries"][0]["chain"], Value::Null);
    assert_eq!(trail["entries"][1]["chain"], "record");
    let verified = verify(&w, &admin, &id);
    assert_eq!((&verified["valid"], &verified["unchained"]), (&json!(true), &json!(1)), "{verified}");
}
