//! Matching rules: conflict of interest, leave, capacity, fallback order, ties, and
//! that a match reads index lists, not every member.

use crate::common::*;
use serde_json::json;
use shared::kv::memory::CasMode;

#[test]
fn never_a_peer_from_the_reporters_own_municipality() {
    let h = Harness::new();
    let local = h.create(peer("Lokaal", "alderman", "VR05", "Enschede"));
    let other = h.create(peer("Buur", "alderman", "VR05", "Hengelo"));
    let m = h.matches(case_request("VR05", " enschede ", &["peer"]));
    assert_eq!(candidate_ids(&m, 0), [other]);
    assert!(!m.to_string().contains(&local));
}

#[test]
fn experts_from_the_same_municipality_are_fine_and_prevention_goes_to_security_experts() {
    let h = Harness::new();
    let security = h.create(expert("Beveiliger", &["security"], &["VR05"]));
    let legal = h.create(expert("Jurist", &["legal"], &["VR05"]));
    let m = h.matches(case_request("VR05", "Enschede", &["prevention", "legal"]));
    assert_eq!(m["matches"][0]["need"], "prevention");
    assert_eq!(candidate_ids(&m, 0), [security]);
    assert!(m["matches"][0]["candidates"][0]["reasons"].to_string().contains("prevention"));
    assert_eq!(candidate_ids(&m, 1), [legal]);
}

#[test]
fn nobody_on_leave_until_the_day_they_are_back() {
    let h = Harness::new();
    let mut away = expert("Afwezig", &["aftercare"], &["VR09"]);
    away["on_leave_until"] = "2026-11-30".into();
    let id = h.create(away);
    assert!(candidate_ids(&h.matches(case_request("VR09", "Utrecht", &["aftercare"])), 0).is_empty());
    h.clock.advance(shared::time::Duration::days(2));
    assert_eq!(candidate_ids(&h.matches(case_request("VR09", "Utrecht", &["aftercare"])), 0), [id]);
}

#[test]
fn nobody_at_capacity_and_released_cases_make_room_again() {
    let h = Harness::new();
    let mut busy = expert("Druk", &["legal"], &["VR09"]);
    busy["capacity"] = 1.into();
    let id = h.create(busy);
    assert_eq!(h.assign(&id, &case(1)).status, 200);
    assert!(candidate_ids(&h.matches(case_request("VR09", "Utrecht", &["legal"])), 0).is_empty());
    assert_eq!(h.release(&id, &case(1)).status, 200);
    assert_eq!(candidate_ids(&h.matches(case_request("VR09", "Utrecht", &["legal"])), 0), [id]);
}

#[test]
fn region_comes_before_province_before_national_whatever_the_bonuses() {
    let h = Harness::new();
    // The national and provincial peers share the role and language; the regional one does not.
    let mut national = peer("Landelijk", "alderman", "VR01", "Den Haag");
    national["regions"] = json!(["national"]);
    let national = h.create(national);
    let province = h.create(peer("Provincie", "alderman", "VR04", "Zwolle"));
    let mut regional = peer("Regio", "mayor", "VR05", "Hengelo");
    regional["languages"] = json!(["en"]);
    let regional = h.create(regional);
    let elsewhere = h.create(peer("Elders", "alderman", "VR24", "Maastricht"));
    let m = h.matches(case_request("VR05", "Enschede", &["peer"]));
    assert_eq!(candidate_ids(&m, 0), [regional.clone(), province, national]);
    assert!(!m.to_string().contains(&elsewhere), "other provinces are not proposed");
    let reasons = m["matches"][0]["candidates"][0]["reasons"].to_string();
    assert!(reasons.contains("same region") && reasons.contains("does not speak nl"), "{reasons}");
}

#[test]
fn further_tiers_are_not_read_once_the_region_fills_the_limit() {
    let h = Harness::new();
    let a = h.create(expert("A", &["security"], &["VR05"]));
    let b = h.create(expert("B", &["security"], &["VR05"]));
    h.create(expert("C", &["security"], &["VR04"]));
    h.create(expert("D", &["security"], &["national"]));
    let mut request = case_request("VR05", "Enschede", &["security"]);
    request["limit"] = 2.into();
    let mut expected = vec![a, b];
    expected.sort();
    h.store.reset_ops();
    assert_eq!(candidate_ids(&h.matches(request.clone()), 0), expected);
    let region_only = h.store.ops();
    request["limit"] = 4.into();
    h.store.reset_ops();
    assert_eq!(candidate_ids(&h.matches(request), 0).len(), 4);
    assert!(h.store.ops() > region_only, "the wider search read more lists");
}

#[test]
fn equal_scores_are_ordered_by_member_id() {
    let h = Harness::new();
    let mut ids: Vec<String> = (0..6).map(|i| h.create(expert(&format!("E{i}"), &["legal"], &["VR13"]))).collect();
    ids.sort();
    let m = h.matches(case_request("VR13", "Amsterdam", &["legal"]));
    assert_eq!(candidate_ids(&m, 0), ids[..5]);
    let scores: Vec<f64> =
        m["matches"][0]["candidates"].as_array().unwrap().iter().map(|c| c["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn spare_capacity_and_the_same_role_rank_higher() {
    let h = Harness::new();
    let loaded = h.create(peer("Bezet", "alderman", "VR05", "Hengelo"));
    let free = h.create(peer("Vrij", "alderman", "VR05", "Almelo"));
    let other_role = h.create(peer("Raadslid", "council_member", "VR05", "Oldenzaal"));
    h.assign(&loaded, &case(1));
    let m = h.matches(case_request("VR05", "Enschede", &["peer"]));
    assert_eq!(candidate_ids(&m, 0), [free, loaded, other_role]);
}

#[test]
fn a_member_moved_to_another_region_is_matched_there_only() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        let id = h.create(expert("Verhuisd", &["aftercare"], &["VR15"]));
        let auth = format!("Bearer {ADMIN}");
        let moved = expert("Verhuisd", &["aftercare"], &["VR24"]);
        let r = h.call(
            "PUT",
            &format!("/directory/members/{id}"),
            &[("authorization", &auth), ("if-match", "\"1\"")],
            Some(&moved),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(candidate_ids(&h.matches(case_request("VR15", "Den Haag", &["aftercare"])), 0).is_empty());
        assert_eq!(candidate_ids(&h.matches(case_request("VR24", "Heerlen", &["aftercare"])), 0), [id]);
    }
}

#[test]
fn a_match_reads_a_few_lists_not_every_member() {
    let h = Harness::new();
    let records: Vec<_> = (0..300)
        .map(|i| {
            let region = format!("VR{:02}", 1 + i % 25);
            expert(&format!("E{i}"), &["legal"], &[region.as_str()])
        })
        .collect();
    for chunk in records.chunks(100) {
        assert_eq!(h.admin("POST", "/directory/members/import", Some(&json!(chunk))).status, 201);
    }
    h.store.reset_ops();
    let m = h.matches(case_request("VR01", "Groningen", &["legal", "peer"]));
    assert_eq!(m["matches"][0]["candidates"].as_array().unwrap().len(), 5);
    // Spin reads each key with its own get (get_many breaks on Redis): a counter per
    // searched list, then a slot, the member and its load for each of the 12 legal
    // experts of VR01, never the 288 members elsewhere.
    let ops = h.store.ops();
    assert!(ops <= 3 * 12 + 6, "a match cost {ops} store operations");
}

#[test]
fn bad_match_requests_name_the_field() {
    let h = Harness::new();
    let mut r = case_request("VR05", "Enschede", &["peer"]);
    r["needs"] = json!(["hugs"]);
    let reply = h.internal("POST", "/directory/internal/match", Some(&r));
    assert_eq!((reply.status, reply.body["field"].as_str()), (422, Some("/needs/0")));
    let mut r = case_request("VR05", "  ", &["peer"]);
    r["limit"] = 3.into();
    assert_eq!(h.internal("POST", "/directory/internal/match", Some(&r)).body["field"], "/municipality");
    let mut r = case_request("VR05", "Enschede", &["peer"]);
    r["limit"] = 0.into();
    assert_eq!(h.internal("POST", "/directory/internal/match", Some(&r)).body["field"], "/limit");
}
