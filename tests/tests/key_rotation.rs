//! Rotating the encryption keyring: what was sealed under the old key stays readable,
//! and new data is sealed under the new key. Two app runs share one store file, as a
//! redeploy with a new `encryption_keys` value shares the production store.

mod e2e;

use e2e::*;
use serde_json::json;

fn key(byte: u8) -> String {
    shared::crypto::base64_encode(&[byte; 32])
}

#[test]
fn reports_sealed_before_a_key_rotation_stay_readable_after_it() {
    let dir = std::env::temp_dir().join(format!("weerbaar-rotation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = shared_backing(&dir);
    let run = |keyring: String| {
        let mut o = options().only(&["intake"]).variable("encryption_keys", keyring);
        o.store = store.clone();
        start(o)
    };
    let report = json!({
        "role": "council_member", "relation": "staff", "region": "VR24", "municipality": "Heerlen",
        "request_kind": "prevention", "immediate_danger": false,
        "description": "Vraag over een veiligheidsscan van het huis.",
        "contact": {"channel": "status_lookup"}
    });

    let before = run(format!("old:{}", key(1)));
    let filed = post_json(&before, "/intake/reports", &report);
    assert_eq!(filed.status, 201, "{}", filed.body);
    let receipt = filed.body["receipt_code"].as_str().unwrap().to_string();
    let first =
        post_json(&before, "/intake/reports/messages", &json!({"receipt_code": receipt, "text": "sealed under old"}));
    assert_eq!(first.status, 201);
    drop(before);

    let after = run(format!("new:{},old:{}", key(2), key(1)));
    let second =
        post_json(&after, "/intake/reports/messages", &json!({"receipt_code": receipt, "text": "sealed under new"}));
    assert_eq!(second.status, 201);
    let status = post_json(&after, "/intake/reports/status", &json!({ "receipt_code": receipt }));
    assert_eq!(status.status, 200, "{}", status.body);
    let texts: Vec<&str> =
        status.body["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["sealed under old", "sealed under new"]);
    let stored = store_text(&after);
    let kids = |kid: &str| stored.iter().filter(|(_, v)| v.contains(&format!("\"kid\":\"{kid}\""))).count();
    assert_eq!(kids("old"), 2, "the report details and the first message keep their old key");
    assert_eq!(kids("new"), 1, "the new message is sealed under the new key");
    drop(after);

    let without_old = run(format!("new:{}", key(2)));
    let broken = post_json(&without_old, "/intake/reports/status", &json!({ "receipt_code": receipt }));
    assert_eq!(broken.status, 500, "dropping a key too early is an operator error, reported, never silent");
    assert!(broken.body["correlation_id"].is_string());
    assert!(without_old.logs_text().contains("no key with id"));
    let _ = std::fs::remove_dir_all(&dir);
}
