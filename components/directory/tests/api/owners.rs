//! The directory has owners (issue 13, point 2): programme admins change the network,
//! other admins and confidants search and match, and every contact read is audited.

use crate::common::*;
use serde_json::json;

#[test]
fn a_plain_admin_and_a_confidant_are_refused_network_changes_and_change_nothing() {
    let h = Harness::new();
    let id = h.create(peer("Anna", "alderman", "VR02", "Leeuwarden"));
    let path = format!("/directory/members/{id}");
    let moved = peer("Anna", "alderman", "VR03", "Leeuwarden");
    for token in [h.token("ngb", "admin", false), h.token("bzk", "admin", false), h.token("ngb", "confidant", false)] {
        let before = h.store.dump();
        let auth = [("authorization", token.as_str())];
        let with_if_match = [("authorization", token.as_str()), ("if-match", "\"1\"")];
        let refused = [
            h.call("POST", "/directory/members", &auth, Some(&peer("Bert", "mayor", "VR02", "Sneek"))),
            h.call("POST", "/directory/members/import", &auth, Some(&json!([peer("Cor", "mayor", "VR02", "Joure")]))),
            h.call("PUT", &path, &with_if_match, Some(&moved)),
            h.call("POST", &format!("{path}/deactivate"), &auth, None),
            h.call("GET", "/directory/audit/contact-reads", &auth, None),
            h.call("GET", "/directory/audit/log-reads", &auth, None),
        ];
        for r in refused {
            assert_eq!((r.status, r.body["type"].as_str().unwrap().ends_with(":forbidden")), (403, true), "{}", r.body);
        }
        assert_eq!(h.store.dump(), before, "a refused change writes nothing");
    }
}

#[test]
fn a_programme_admin_manages_the_network() {
    let h = Harness::new();
    let programme = h.token("bzk", "admin", true);
    let auth = [("authorization", programme.as_str())];
    let created = h.call("POST", "/directory/members", &auth, Some(&peer("Bert", "mayor", "VR02", "Sneek")));
    assert_eq!(created.status, 201, "{}", created.body);
    let path = format!("/directory/members/{}", created.body["id"].as_str().unwrap());
    let moved = peer("Bert", "mayor", "VR03", "Sneek");
    let r = h.call("PUT", &path, &[auth[0], ("if-match", "\"1\"")], Some(&moved));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(h.call("POST", &format!("{path}/deactivate"), &auth, None).status, 200);
    let imported =
        h.call("POST", "/directory/members/import", &auth, Some(&json!([peer("Cor", "mayor", "VR02", "Joure")])));
    assert_eq!(imported.status, 201, "{}", imported.body);
}

#[test]
fn other_admins_and_confidants_search_and_match() {
    let h = Harness::new();
    let id = h.create(peer("Anna", "alderman", "VR02", "Leeuwarden"));
    for token in [h.token("nvvr", "admin", false), h.token("ngb", "confidant", false)] {
        let auth = [("authorization", token.as_str())];
        let list = h.call("GET", "/directory/members", &auth, None);
        assert_eq!((list.status, list.body["members"][0]["id"].as_str()), (200, Some(id.as_str())));
        assert!(list.body["members"][0].get("contact").is_none());
        let m = h.call("POST", "/directory/match", &auth, Some(&case_request("VR02", "Sneek", &["peer"])));
        assert_eq!((m.status, candidate_ids(&m.body, 0)), (200, vec![id.clone()]));
    }
}

#[test]
fn a_contact_read_without_a_reason_is_refused_naming_the_field_and_writes_nothing() {
    let h = Harness::new();
    let id = h.create(peer("Anna", "alderman", "VR02", "Leeuwarden"));
    let before = h.store.dump();
    for query in ["", "?case_id=case_00000000000000000000000001", "?reason=%20"] {
        let r = h.admin("GET", &format!("/directory/members/{id}{query}"), None);
        assert_eq!((r.status, r.body["field"].as_str()), (400, Some("reason")), "{}", r.body);
        assert!(r.body.get("contact").is_none());
    }
    assert_eq!(h.store.dump(), before);
}

#[test]
fn a_contact_read_is_audited_with_holder_reason_and_case_and_no_contact_details() {
    let h = Harness::new();
    let id = h.create(peer("Anna", "alderman", "VR02", "Leeuwarden"));
    let reader = h.token("nvvr", "admin", false);
    let case = case(7);
    let path = format!("/directory/members/{id}?reason=case_contact&case_id={case}");
    let read = h.call("GET", &path, &[("authorization", &reader)], None);
    assert_eq!((read.status, read.body["contact"]["email"].as_str()), (200, Some("anna@example.org")));
    h.admin("GET", &format!("/directory/members/{id}?reason=network_maintenance"), None);

    let programme = h.token("bzk", "admin", true);
    let log = h.call("GET", "/directory/audit/contact-reads?limit=1", &[("authorization", &programme)], None);
    assert_eq!(log.status, 200, "{}", log.body);
    let first = &log.body["entries"][0];
    assert_eq!(
        (&first["holder"], &first["reason"], &first["case_id"], &first["member_id"], &first["organisation"]),
        (&json!("nvvr admin"), &json!("case_contact"), &json!(case), &json!(id), &json!("nvvr"))
    );
    assert!(first["token_id"].as_str().unwrap().starts_with("tok_"));
    let next = log.body["next_cursor"].as_str().unwrap();
    let rest =
        h.call("GET", &format!("/directory/audit/contact-reads?cursor={next}"), &[("authorization", &programme)], None);
    let second = &rest.body["entries"][0];
    assert_eq!((&second["holder"], &second["case_id"]), (&json!("bootstrap admin"), &json!(null)));
    assert_eq!(rest.body["next_cursor"], json!(null));
    let stored: String = h
        .store
        .dump()
        .into_iter()
        .filter(|(k, _)| k.starts_with("dir/audit/"))
        .map(|(_, v)| String::from_utf8(v).unwrap())
        .collect();
    assert!(stored.contains("case_contact") && !stored.contains("anna@example.org"), "no contact in the audit");
}

#[test]
fn a_contact_read_whose_audit_cannot_be_written_shows_no_contact() {
    let h = Harness::new();
    let id = h.create(peer("Anna", "alderman", "VR02", "Leeuwarden"));
    h.store.fail_writes(true);
    let r = h.admin("GET", &format!("/directory/members/{id}?reason=member_request"), None);
    h.store.fail_writes(false);
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(!r.body.to_string().contains("anna@example.org"));
}

#[test]
fn reading_the_audit_logs_is_audited_first() {
    let h = Harness::new();
    let programme = h.token("bzk", "admin", true);
    let auth = [("authorization", programme.as_str())];
    // Bad paging is refused before anything is written.
    let before = h.store.dump();
    assert_eq!(h.call("GET", "/directory/audit/contact-reads?limit=0", &auth, None).status, 400);
    assert_eq!(h.store.dump(), before);
    assert_eq!(h.call("GET", "/directory/audit/contact-reads", &auth, None).status, 200);
    let reads = h.call("GET", "/directory/audit/log-reads", &auth, None);
    assert_eq!(reads.status, 200, "{}", reads.body);
    let logs: Vec<&str> =
        reads.body["entries"].as_array().unwrap().iter().map(|e| e["log"].as_str().unwrap()).collect();
    // This read was recorded before it was answered, so it shows itself.
    assert_eq!(logs, ["contact_reads", "log_reads"], "{}", reads.body);
    assert_eq!(reads.body["entries"][0]["holder"], "bzk admin");
    assert!(reads.body["entries"][0]["token_id"].as_str().unwrap().starts_with("tok_"));

    // An audit read whose entry cannot be written is not answered.
    h.store.fail_writes(true);
    let refused = h.call("GET", "/directory/audit/contact-reads", &auth, None);
    h.store.fail_writes(false);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(refused.body.get("entries").is_none());
}
