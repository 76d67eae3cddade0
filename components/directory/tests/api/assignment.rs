//! Load: assign and release are atomic, idempotent, bounded by capacity.

use crate::common::*;
use shared::kv::memory::CasMode;

fn member_with_capacity(h: &Harness, capacity: u32) -> String {
    let mut e = expert("Belast", &["security"], &["VR17"]);
    e["capacity"] = capacity.into();
    h.create(e)
}

#[test]
fn assigning_the_same_case_twice_counts_once_and_releasing_an_unknown_case_changes_nothing() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        let id = member_with_capacity(&h, 2);
        assert_eq!(h.assign(&id, &case(1)).body, serde_json::json!({"open_cases": 1, "capacity": 2}));
        assert_eq!(h.assign(&id, &case(1)).body["open_cases"], 1);
        assert_eq!(h.release(&id, &case(9)).body["open_cases"], 1);
        assert_eq!(h.release(&id, &case(1)).body["open_cases"], 0);
        assert_eq!(h.release(&id, &case(1)).body["open_cases"], 0, "{mode:?}: never below zero");
    }
}

fn load_call(h: &Harness, what: &str, member: &str, case: &str, hold: Option<&str>) -> Reply {
    let mut body = serde_json::json!({ "case_id": case });
    if let Some(hold) = hold {
        body["hold"] = hold.into();
    }
    h.internal("POST", &format!("/directory/internal/members/{member}/{what}"), Some(&body))
}

#[test]
fn two_requests_holding_one_case_release_it_only_when_both_let_go() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        let id = member_with_capacity(&h, 2);
        // Two assignment requests of the same member to the same case.
        assert_eq!(load_call(&h, "assign", &id, &case(1), Some("a1")).body["open_cases"], 1);
        assert_eq!(load_call(&h, "assign", &id, &case(1), Some("b2")).body["open_cases"], 1);
        // The loser lets go of its hold: the winner's keeps the case.
        assert_eq!(load_call(&h, "release", &id, &case(1), Some("a1")).body["open_cases"], 1, "{mode:?}");
        assert_eq!(load_call(&h, "release", &id, &case(1), Some("a1")).body["open_cases"], 1, "idempotent");
        assert_eq!(load_call(&h, "release", &id, &case(1), Some("zz")).body["open_cases"], 1, "not a holder");
        // Both lose: the last hold takes the case off.
        assert_eq!(load_call(&h, "release", &id, &case(1), Some("b2")).body["open_cases"], 0, "{mode:?}");
        // A case assigned without a hold is held for good by hold releases...
        assert_eq!(h.assign(&id, &case(2)).body["open_cases"], 1);
        assert_eq!(load_call(&h, "assign", &id, &case(2), Some("c3")).body["open_cases"], 1);
        assert_eq!(load_call(&h, "release", &id, &case(2), Some("c3")).body["open_cases"], 1, "{mode:?}");
        // ... and closing releases without a hold, whoever holds it.
        load_call(&h, "assign", &id, &case(3), Some("d4"));
        assert_eq!(h.release(&id, &case(3)).body["open_cases"], 1);
        assert_eq!(h.release(&id, &case(2)).body["open_cases"], 0);
        let bad = load_call(&h, "assign", &id, &case(4), Some("not/a-hold"));
        assert_eq!((bad.status, bad.body["field"].as_str()), (422, Some("/hold")));
    }
}

#[test]
fn a_member_at_capacity_is_refused_with_409() {
    let h = Harness::new();
    let id = member_with_capacity(&h, 1);
    assert_eq!(h.assign(&id, &case(1)).status, 200);
    let r = h.assign(&id, &case(2));
    assert_eq!(r.status, 409);
    assert_eq!(r.body["type"], "urn:weerbaar:problem:conflict");
    assert_eq!(h.assign(&id, &case(1)).status, 200, "the case it has is still fine");
}

#[test]
fn assignments_do_not_make_an_admins_version_stale() {
    let h = Harness::new();
    let id = member_with_capacity(&h, 3);
    h.assign(&id, &case(1));
    let r = h.admin("GET", &format!("/directory/members/{id}?reason=network_maintenance"), None);
    assert_eq!((r.etag().as_str(), r.body["open_cases"].as_u64()), ("\"1\"", Some(1)));
}

#[test]
fn unknown_members_and_bad_case_ids_are_refused() {
    let h = Harness::new();
    assert_eq!(h.assign("mem_00000000000000000000000000", &case(1)).status, 404);
    assert_eq!(h.assign("not-a-member", &case(1)).status, 404);
    let id = member_with_capacity(&h, 3);
    let before = h.store.dump();
    let r = h.assign(&id, "mem_00000000000000000000000000");
    assert_eq!((r.status, r.body["field"].as_str()), (422, Some("/case_id")));
    assert_eq!(h.store.dump(), before);
}

#[test]
fn twenty_parallel_assignments_to_capacity_three_let_exactly_three_through() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        let id = member_with_capacity(&h, 3);
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..20)
                .map(|i| {
                    let (h, id) = (&h, &id);
                    s.spawn(move || h.assign(id, &case(i)).status)
                })
                .collect();
            handles.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3, "{mode:?}: {statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 17, "{mode:?}: {statuses:?}");
        let r = h.admin("GET", &format!("/directory/members/{id}?reason=network_maintenance"), None);
        assert_eq!(r.body["open_cases"], 3);
    }
}

#[test]
fn parallel_releases_never_go_below_zero() {
    let h = Harness::with_mode(CasMode::RedisLike);
    let id = member_with_capacity(&h, 3);
    for i in 0..3 {
        h.assign(&id, &case(i));
    }
    std::thread::scope(|s| {
        for i in 0..12 {
            let (h, id) = (&h, &id);
            s.spawn(move || h.release(id, &case(i % 4)));
        }
    });
    assert_eq!(
        h.admin("GET", &format!("/directory/members/{id}?reason=network_maintenance"), None).body["open_cases"],
        0
    );
}

/// Retention: triage releases a case's members when it closes it (and again when it
/// purges it), and a release must leave nothing of the case in the member's documents.
#[test]
fn a_released_case_leaves_no_trace_in_the_store() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        let id = member_with_capacity(&h, 3);
        let kept = case(2);
        assert_eq!(h.assign(&id, &case(1)).status, 200);
        assert_eq!(h.assign(&id, &kept).status, 200);
        assert_eq!(h.release(&id, &case(1)).status, 200);
        let needle = case(1);
        let traces: Vec<String> = h
            .store
            .dump()
            .into_iter()
            .filter(|(k, v)| k.contains(&needle) || String::from_utf8_lossy(v).contains(&needle))
            .map(|(k, _)| k)
            .collect();
        assert_eq!(traces, Vec::<String>::new(), "{mode:?}");
        assert!(h.store.dump().values().any(|v| String::from_utf8_lossy(v).contains(&kept)));
    }
}
