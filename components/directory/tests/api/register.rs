//! The admin API: CRUD with version checks, import all-or-nothing, access rules.

use crate::common::*;
use serde_json::json;
use shared::kv::memory::CasMode;

#[test]
fn every_route_is_in_openapi_and_every_documented_route_is_served() {
    shared::contract::assert_routes_documented(directory::routes::ROUTES, "/directory/");
}

#[test]
fn health_reports_the_store() {
    let h = Harness::new();
    let r = h.call("GET", "/directory/health", &[], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["component"], "directory");
    assert_eq!(r.body["store"], "ok");
}

#[test]
fn create_read_update_with_version_checks() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let h = Harness::with_mode(mode);
        let created =
            h.admin("POST", "/directory/members", Some(&peer("Anna de Vries", "alderman", "VR02", "Leeuwarden")));
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.etag(), "\"1\"");
        let id = created.body["id"].as_str().unwrap().to_string();
        assert!(created.body.get("contact").is_none(), "contact only on a single read");
        let path = format!("/directory/members/{id}");
        assert_eq!(created.headers["location"], path.as_str());

        let read = h.admin("GET", &format!("{path}?reason=network_maintenance"), None);
        assert_eq!(read.status, 200);
        assert_eq!(read.body["contact"]["email"], "anna.de.vries@example.org");
        assert_eq!(read.body["availability"], "available");

        let mut changed = peer("Anna de Vries", "alderman", "VR03", "Leeuwarden");
        changed["capacity"] = 5.into();
        let auth = format!("Bearer {ADMIN}");
        let without = h.call("PUT", &path, &[("authorization", &auth)], Some(&changed));
        assert_eq!(without.status, 428);
        let updated = h.call("PUT", &path, &[("authorization", &auth), ("if-match", "\"1\"")], Some(&changed));
        assert_eq!(updated.status, 200, "{mode:?} {}", updated.body);
        assert_eq!(updated.etag(), "\"2\"");
        assert_eq!(updated.body["regions"], json!(["VR03"]));
        let stale = h.call("PUT", &path, &[("authorization", &auth), ("if-match", "\"1\"")], Some(&changed));
        assert_eq!(stale.status, 412);
        assert_eq!(stale.body["type"], "urn:weerbaar:problem:precondition-failed");
        assert_eq!(h.admin("GET", &format!("{path}?reason=network_maintenance"), None).body["capacity"], 5);
    }
}

#[test]
fn contact_details_are_sealed_at_rest() {
    let h = Harness::new();
    h.create(peer("Geheim Persoon", "mayor", "VR09", "Utrecht"));
    let dump =
        format!("{:?}", h.store.dump().values().map(|v| String::from_utf8_lossy(v).to_string()).collect::<Vec<_>>());
    assert!(!dump.contains("geheim.persoon@example.org"));
}

#[test]
fn bad_input_names_the_field_and_writes_nothing() {
    let h = Harness::new();
    let before = h.store.dump();
    let mut bad = peer("Anna", "alderman", "VR02", "Leeuwarden");
    bad["regions"] = json!(["VR99"]);
    let r = h.admin("POST", "/directory/members", Some(&bad));
    assert_eq!(r.status, 422);
    assert_eq!(r.body["field"], "/regions/0");
    bad["regions"] = json!(["VR02"]);
    bad["favourite_colour"] = "blue".into();
    let r = h.admin("POST", "/directory/members", Some(&bad));
    assert_eq!((r.status, r.body["field"].as_str()), (422, Some("/favourite_colour")));
    let mut expertless = expert("X", &[], &["VR01"]);
    expertless["role"] = "mayor".into();
    let r = h.admin("POST", "/directory/members", Some(&expertless));
    assert_eq!(r.status, 422);
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["/role", "/expertise"]);
    assert_eq!(h.store.dump(), before);
}

#[test]
fn import_is_all_or_nothing_and_lists_every_bad_record() {
    let h = Harness::new();
    let mut records = vec![
        peer("Een", "mayor", "VR01", "Groningen"),
        peer("", "mayor", "VR01", "Groningen"),
        expert("Drie", &["legal"], &["VR01"]),
        expert("Vier", &["legal"], &["VR98"]),
        peer("Vijf", "mayor", "VR01", "Groningen"),
    ];
    records[4]["capacity"] = "many".into();
    let before = h.store.dump();
    let r = h.admin("POST", "/directory/members/import", Some(&json!(records)));
    assert_eq!(r.status, 422, "{}", r.body);
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["/1/name", "/3/regions/0", "/4/capacity"]);
    assert_eq!(h.store.dump(), before, "nothing written");

    records.truncate(3);
    records[1]["name"] = "Twee".into();
    records[0]["id"] = "mem_dem00000000000000000000001".into();
    let r = h.admin("POST", "/directory/members/import", Some(&json!(records)));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["imported"], 3);
    assert_eq!(r.body["member_ids"][0], "mem_dem00000000000000000000001");

    let before = h.store.dump();
    let r = h.admin("POST", "/directory/members/import", Some(&json!(records)));
    assert_eq!(r.status, 409);
    assert_eq!(r.body["errors"][0]["field"], "/0/id");
    assert_eq!(h.store.dump(), before, "a repeated import writes nothing");
}

#[test]
fn a_failed_import_write_leaves_no_member_and_can_be_retried() {
    let h = Harness::new();
    let mut records = vec![peer("Een", "mayor", "VR01", "Groningen"), expert("Twee", &["legal"], &["national"])];
    records[0]["id"] = "mem_dem00000000000000000000007".into();
    h.store.fail_writes(true);
    let r = h.admin("POST", "/directory/members/import", Some(&json!(records)));
    assert_eq!(r.status, 503);
    h.store.fail_writes(false);
    assert_eq!(h.admin("GET", "/directory/members", None).body["members"], json!([]));
    let r = h.admin("POST", "/directory/members/import", Some(&json!(records)));
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn only_admins_reach_the_admin_api_and_only_components_the_internal_one() {
    let h = Harness::new();
    let id = h.create(peer("Anna", "alderman", "VR02", "Leeuwarden"));
    // A confidant token, as triage's admin would issue it.
    let issued = shared::auth::issue_token(&h.random);
    let record = shared::auth::TokenRecord {
        id: shared::id::TokenId::generate(&h.random),
        organisation: shared::domain::Organisation::Nvvr,
        role: shared::auth::StaffRole::Confidant,
        holder: "Anne de Wit".into(),
        expires_at: Some(shared::time::Timestamp::from_unix_millis(4_102_444_800_000)),
        created_at: shared::time::Timestamp::from_unix_millis(0),
        revoked_at: None,
        scope: None,
        mac: None,
    };
    let key = shared::auth::token_key(&issued.hash);
    let record = record.signed(&crate::common::record_mac(), &key);
    shared::kv::KeyValue::set(&h.store, &key, &shared::kv::to_json(&record)).unwrap();
    let confidant = format!("Bearer {}", issued.secret);
    let path = format!("/directory/members/{id}");
    assert_eq!(h.call("GET", &path, &[], None).status, 401);
    assert_eq!(h.call("GET", &path, &[("authorization", &confidant)], None).status, 403);
    assert_eq!(h.call("GET", &path, &[("weerbaar-internal-secret", INTERNAL)], None).status, 401);
    let request = case_request("VR02", "Sneek", &["peer"]);
    // Confidants search and match (issue 13); only contact reads and changes are not theirs.
    assert_eq!(h.call("POST", "/directory/match", &[("authorization", &confidant)], Some(&request)).status, 200);
    assert_eq!(
        h.call("POST", "/directory/match", &[("authorization", &format!("Bearer {ADMIN}"))], Some(&request)).status,
        200
    );
    let internal = "/directory/internal/match";
    assert_eq!(h.call("POST", internal, &[("authorization", &format!("Bearer {ADMIN}"))], Some(&request)).status, 401);
    assert_eq!(h.call("POST", internal, &[("weerbaar-internal-secret", "wrong")], Some(&request)).status, 401);
    let assign = format!("/directory/internal/members/{id}/assign");
    let body = json!({ "case_id": case(1) });
    assert_eq!(h.call("POST", &assign, &[("authorization", &format!("Bearer {ADMIN}"))], Some(&body)).status, 401);
}

#[test]
fn deactivated_members_stay_readable_but_are_never_matched_or_assigned() {
    let h = Harness::new();
    let id = h.create(peer("Anna", "alderman", "VR02", "Leeuwarden"));
    assert_eq!(candidate_ids(&h.matches(case_request("VR02", "Sneek", &["peer"])), 0), std::slice::from_ref(&id));
    let r = h.admin("POST", &format!("/directory/members/{id}/deactivate"), None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["availability"], "deactivated");
    assert_eq!(h.admin("POST", &format!("/directory/members/{id}/deactivate"), None).status, 200, "idempotent");
    assert_eq!(
        h.admin("GET", &format!("/directory/members/{id}?reason=network_maintenance"), None).body["availability"],
        "deactivated"
    );
    assert!(candidate_ids(&h.matches(case_request("VR02", "Sneek", &["peer"])), 0).is_empty());
    assert_eq!(h.assign(&id, &case(1)).status, 409);
    let list = h.admin("GET", "/directory/members?availability=deactivated", None);
    assert_eq!(list.body["members"][0]["id"], id.as_str());
}

#[test]
fn listing_filters_and_pages_with_a_cursor() {
    let h = Harness::new();
    let mut peers = Vec::new();
    for i in 0..7 {
        peers.push(h.create(peer(&format!("Peer {i}"), "mayor", if i % 2 == 0 { "VR01" } else { "VR05" }, "X")));
        h.create(expert(&format!("Expert {i}"), &["legal"], &["national"]));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/directory/members?kind=peer&limit=3".to_string(),
            Some(c) => format!("/directory/members?kind=peer&limit=3&cursor={c}"),
        };
        let page = h.admin("GET", &path, None);
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(page.body["members"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, peers);
    let vr05 = h.admin("GET", "/directory/members?region=VR05", None);
    assert_eq!(vr05.body["members"].as_array().unwrap().len(), 3);
    let national = h.admin("GET", "/directory/members?region=national&expertise=legal", None);
    assert_eq!(national.body["members"].as_array().unwrap().len(), 7);
    assert_eq!(h.admin("GET", "/directory/members?colour=red", None).status, 400);
    assert_eq!(h.admin("GET", "/directory/members?region=VR99", None).body["field"], "region");
}
