//! The case audit on the real components and store (issue 13, point 4): a change and
//! its audit entry are written together or not at all, and an entry edited or removed
//! straight in the store is found by `GET /triage/cases/{id}/audit/verify`.
//!
//! Build the components first:
//! `cargo build --target wasm32-wasip2 --release -p intake -p triage -p directory -p notification`.

use crate::e2e::*;
use serde_json::{json, Value};
use weerbaar_tests::{TestApp, WriteFault};

fn admin(app: &TestApp) -> String {
    let body = json!({"organisation": "ngb", "role": "admin", "holder": "Anne de Wit"});
    let r = staff(app, ADMIN_TOKEN, "POST", "/triage/tokens", &[], Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["token"].as_str().unwrap().to_string()
}

fn verify(app: &TestApp, token: &str, case: &str) -> Value {
    let r = staff(app, token, "GET", &case_path(case, "/audit/verify"), &[], None);
    r.conforms("GET", "/triage/cases/{case_id}/audit/verify");
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// The trail's entries as `(slot, action)`.
fn trail(app: &TestApp, token: &str, case: &str) -> Vec<(u64, String)> {
    let r = staff(app, token, "GET", &case_path(case, "/audit"), &[], None);
    r.conforms("GET", "/triage/cases/{case_id}/audit");
    assert_eq!(r.status, 200, "{}", r.body);
    let entries = r.body["entries"].as_array().unwrap();
    entries.iter().map(|e| (e["slot"].as_u64().unwrap(), e["action"].as_str().unwrap().to_string())).collect()
}

fn stored(app: &TestApp, key: &str) -> Vec<u8> {
    app.kv_dump("default").into_iter().find(|(k, _)| k == key).map(|(_, v)| v).expect(key)
}

#[test]
fn a_change_and_its_entry_stand_or_fall_together_and_tampering_is_found() {
    let app = start(options());
    let (case, _) = file_mayor_report(&app);
    let token = admin(&app);
    let before = read(&app, &token, &case);
    let etag = before.header("etag").unwrap().to_string();

    // Every write of this case's keys fails: its record and its audit entries alike.
    app.set_write_fault(WriteFault::KeysStartingWith(format!("case/{case}")));
    let refused = staff(&app, &token, "POST", &case_path(&case, "/acknowledge"), &[("if-match", &etag)], None);
    app.set_write_fault(WriteFault::None);
    refused.conforms("POST", "/triage/cases/{case_id}/acknowledge");
    assert_eq!(refused.status, 503, "{}", refused.body);
    let after = read(&app, &token, &case);
    assert_eq!(after.header("etag"), Some(etag.as_str()), "no change");
    assert_eq!(after.body["acknowledged_at"], Value::Null);
    assert!(trail(&app, &token, &case).iter().all(|(_, a)| a != "acknowledged"), "no entry");

    let acked = staff(&app, &token, "POST", &case_path(&case, "/acknowledge"), &[("if-match", &etag)], None);
    assert_eq!(acked.status, 200, "{}", acked.body);
    let entries = trail(&app, &token, &case);
    assert_eq!(entries[0].1, "triaged:P3:ngb", "triage's decision, by the system: {entries:?}");
    let verified = verify(&app, &token, &case);
    assert_eq!(verified["valid"], true, "{verified}");

    // Edited straight in the store: found, by slot.
    let slot = entries.iter().find(|(_, a)| a == "acknowledged").unwrap().0;
    let key = format!("case/{case}/audit/s/{slot:012}");
    let original = stored(&app, &key);
    let edited = String::from_utf8(original.clone()).unwrap().replace("acknowledged", "read");
    app.kv_set("default", &key, edited.as_bytes());
    let verified = verify(&app, &token, &case);
    assert_eq!(verified["broken"], json!({"chain": "record", "slot": slot, "problem": "altered"}), "{verified}");

    // Removed straight from the store: found, by slot.
    app.kv_set("default", &key, &original);
    assert_eq!(verify(&app, &token, &case)["valid"], true);
    let first = format!("case/{case}/audit/s/{:012}", entries[0].0);
    app.kv_delete("default", &first);
    let verified = verify(&app, &token, &case);
    assert_eq!(verified["broken"], json!({"chain": "record", "slot": entries[0].0, "problem": "missing"}));
}
