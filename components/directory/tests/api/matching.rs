//! Matching rules: conflict of interest, leave, capacity, fallback order, ties, and
//! that a match reads index lists, not every member.

use crate::common::*;
use serde_json::json;
use shared::kv::memory::CasMode;
use shared::kv::KeyValue;

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

/// Imports `count` legal experts in `region`, 100 a request.
fn import_legal(h: &Harness, region: &str, count: usize, from: usize) {
    let records: Vec<_> = (from..from + count).map(|i| expert(&format!("L{i}"), &["legal"], &[region])).collect();
    for chunk in records.chunks(100) {
        assert_eq!(h.admin("POST", "/directory/members/import", Some(&json!(chunk))).status, 201);
    }
}

fn ops_of_a_match(h: &Harness, request: &serde_json::Value) -> (u64, Vec<String>) {
    h.store.reset_ops();
    let ids = candidate_ids(&h.matches(request.clone()), 0);
    (h.store.ops(), ids)
}

#[test]
fn a_match_costs_as_many_store_operations_at_twenty_members_of_a_list_as_at_five_hundred() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        import_legal(&h, "VR07", 20, 0);
        let request = case_request("VR07", "Arnhem", &["legal"]);
        let (small, _) = ops_of_a_match(&h, &request);
        import_legal(&h, "VR07", 480, 20);
        let (large, ids) = ops_of_a_match(&h, &request);
        assert_eq!(ids.len(), 5);
        // One more card page (256 slots a page), nothing per member: the cards say who
        // could rank first, and only those five members and their loads are read.
        assert!(large <= small + 1, "{mode:?}: {small} operations at 20 members, {large} at 500");
    }
}

#[test]
fn members_stored_before_card_pages_are_matched_and_folded_in_by_the_first_match() {
    let h = Harness::new();
    import_legal(&h, "VR11", 40, 0);
    let request = case_request("VR11", "Den Bosch", &["legal"]);
    let (with_pages, expected) = ops_of_a_match(&h, &request);
    // A store written before card pages existed: the index lists only.
    let pages: Vec<String> = h.store.dump().into_keys().filter(|k| k.starts_with("dir/cards/")).collect();
    assert!(!pages.is_empty());
    h.store.delete_many(&pages).unwrap();
    // And members from before they kept their slot keys.
    for (key, value) in h.store.dump().into_iter().filter(|(k, _)| k.starts_with("dir/member/")) {
        let mut doc: serde_json::Value = serde_json::from_slice(&value).unwrap();
        doc["data"].as_object_mut().unwrap().remove("index_slots");
        h.store.set(&key, &serde_json::to_vec(&doc).unwrap()).unwrap();
    }
    let (without, ids) = ops_of_a_match(&h, &request);
    assert_eq!(ids, expected, "the same answer from the index lists alone");
    assert!(without > with_pages, "read member by member: {without} against {with_pages}");
    let (after, ids) = ops_of_a_match(&h, &request);
    assert_eq!(ids, expected);
    assert_eq!(after, with_pages, "the first match folded the list into pages again");
}

#[test]
fn a_stale_card_never_brings_back_a_deactivated_or_moved_member() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        let gone = h.create(expert("Weg", &["aftercare"], &["VR20"]));
        let moved = h.create(expert("Verhuisd", &["aftercare"], &["VR20"]));
        let stays = h.create(expert("Blijft", &["aftercare"], &["VR20"]));
        let before: Vec<(String, Vec<u8>)> =
            h.store.dump().into_iter().filter(|(k, _)| k.starts_with("dir/cards/")).collect();
        assert_eq!(h.admin("POST", &format!("/directory/members/{gone}/deactivate"), None).status, 200);
        let auth = format!("Bearer {ADMIN}");
        let r = h.call(
            "PUT",
            &format!("/directory/members/{moved}"),
            &[("authorization", &auth), ("if-match", "\"1\"")],
            Some(&expert("Verhuisd", &["aftercare"], &["VR01"])),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        // The pages as if neither change had reached them.
        h.store.set_many(&before).unwrap();
        let request = case_request("VR20", "Middelburg", &["aftercare"]);
        let m = h.matches(request);
        assert_eq!(candidate_ids(&m, 0), [stays], "{mode:?} {m}");
    }
}

#[test]
fn an_update_that_widens_what_a_member_offers_is_matched_at_once() {
    let h = Harness::new();
    let others: Vec<String> = (0..6).map(|i| h.create(expert(&format!("Nl{i}"), &["security"], &["VR16"]))).collect();
    let mut nl_only = expert("Wordt tweetalig", &["security"], &["VR16"]);
    nl_only["languages"] = json!(["nl"]);
    for id in &others {
        let auth = format!("Bearer {ADMIN}");
        let mut nl = expert("Nl", &["security"], &["VR16"]);
        nl["languages"] = json!(["nl"]);
        let r = h.call(
            "PUT",
            &format!("/directory/members/{id}"),
            &[("authorization", &auth), ("if-match", "\"1\"")],
            Some(&nl),
        );
        assert_eq!(r.status, 200);
    }
    let id = h.create(nl_only);
    let mut request = case_request("VR16", "Lelystad", &["security"]);
    request["language"] = "en".into();
    assert!(!candidate_ids(&h.matches(request.clone()), 0).starts_with(std::slice::from_ref(&id)));
    let auth = format!("Bearer {ADMIN}");
    let r = h.call(
        "PUT",
        &format!("/directory/members/{id}"),
        &[("authorization", &auth), ("if-match", "\"1\"")],
        Some(&expert("Wordt tweetalig", &["security"], &["VR16"])),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let ids = candidate_ids(&h.matches(request), 0);
    assert_eq!(ids[0], id, "the only one speaking en now ranks first: {ids:?}");
}
