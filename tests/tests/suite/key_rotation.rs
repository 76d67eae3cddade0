//! Rotating the case keyring (`case_keys`): what was sealed before stays readable, new
//! cases get data keys wrapped under the new key, the triage sweep re-wraps the old
//! cases' data keys until health says none is left under the old key, and then the
//! old key can go. App runs share one store, as a redeploy with a new `case_keys`
//! value shares the production store.

use crate::e2e::*;
use serde_json::{json, Value};
use weerbaar_tests::TestApp;

fn key(byte: u8) -> String {
    shared::crypto::base64_encode(&[byte; 32])
}

fn sweep(app: &TestApp) -> Reply {
    let r = call(app, "POST", "/triage/sweep", &[("weerbaar-internal-secret", INTERNAL_SECRET)], None);
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

fn rewrap_health(app: &TestApp) -> Value {
    let health = get(app, "/triage/health");
    health.conforms("GET", "/triage/health");
    health.body["case_keys_rewrap"].clone()
}

fn texts(status: &Reply) -> Vec<String> {
    status.body["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()).collect()
}

#[test]
fn after_a_rotation_the_sweep_rewraps_every_data_key_and_the_old_key_can_be_retired() {
    let dir = std::env::temp_dir().join(format!("weerbaar-rotation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = shared_backing(&dir);
    let run = |keyring: String| {
        let mut o = options().variable("case_keys", keyring);
        o.store = store.clone();
        o.echo_logs = false;
        start(o)
    };
    let (old, new) = (format!("old:{}", key(1)), format!("new:{}", key(2)));
    let status = |app: &TestApp, receipt: &str| {
        let r = post_json(app, "/intake/reports/status", &json!({ "receipt_code": receipt }));
        assert_eq!(r.status, 200, "{}", r.body);
        r
    };
    let message = |app: &TestApp, receipt: &str, text: &str| {
        let r = post_json(app, "/intake/reports/messages", &json!({"receipt_code": receipt, "text": text}));
        assert_eq!(r.status, 201, "{}", r.body);
    };
    let wrapped_under = |app: &TestApp, kid: &str| {
        store_text(app).iter().filter(|(k, v)| k.ends_with("/key") && v.contains(&format!("\"kid\":\"{kid}\""))).count()
    };

    // Before: one key.
    let before = run(old.clone());
    let (first_case, first) = file_mayor_report(&before);
    message(&before, &first, "sealed before the rotation");
    let admin = |app: &TestApp| {
        let r = staff(
            app,
            ADMIN_TOKEN,
            "POST",
            "/triage/tokens",
            &[],
            Some(json!({"organisation": "ngb", "role": "confidant", "holder": "Ruud Mulder"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["token"].as_str().unwrap().to_string()
    };
    let confidant = admin(&before);
    assert_eq!(wrapped_under(&before, "old"), 1);
    drop(before);

    // The rotation: the new key first, the old one second. New data keys are wrapped
    // under the new key; what was sealed before still opens.
    let rotated = run(format!("{new},{old}"));
    let (second_case, second) = file_mayor_report(&rotated);
    message(&rotated, &first, "sealed after the rotation");
    assert_eq!(texts(&status(&rotated, &first)), ["sealed before the rotation", "sealed after the rotation"]);
    assert_eq!((wrapped_under(&rotated, "old"), wrapped_under(&rotated, "new")), (1, 1));
    let health = rewrap_health(&rotated);
    assert_eq!(health["current_kid"], "new");
    assert!(health["unchecked"].as_u64().unwrap() > 0, "not re-wrapped yet: {health}");
    drop(rotated);

    // Dropping the old key before the re-wrap is an operator error: reported, never silent.
    let too_early = run(new.clone());
    let broken = post_json(&too_early, "/intake/reports/status", &json!({ "receipt_code": first }));
    assert_eq!(broken.status, 500, "{}", broken.body);
    assert!(broken.body["correlation_id"].is_string());
    assert!(too_early.logs_text().contains("no key with id"), "the log says a key is missing");
    drop(too_early);

    // The sweep re-wraps, until health says no data key is under another key.
    let rotated = run(format!("{new},{old}"));
    let mut sweeps = 0;
    while rewrap_health(&rotated)["unchecked"] != 0 {
        sweeps += 1;
        assert!(sweeps <= 5, "the re-wrap walk finishes: {}", rewrap_health(&rotated));
        sweep(&rotated);
    }
    let health = rewrap_health(&rotated);
    assert_eq!((health["rewrapped"].clone(), health["stuck"].clone()), (json!(1), json!(false)), "{health}");
    assert_eq!((wrapped_under(&rotated, "old"), wrapped_under(&rotated, "new")), (0, 2));
    drop(rotated);

    // The old key is retired: only the new one is left, and every case opens.
    let retired = run(new.clone());
    assert_eq!(texts(&status(&retired, &first)), ["sealed before the rotation", "sealed after the rotation"]);
    assert!(texts(&status(&retired, &second)).is_empty());
    for id in [&first_case, &second_case] {
        let view = read(&retired, &confidant, id);
        assert_eq!(view.status, 200, "{}", view.body);
        assert_eq!(view.body["reporter"]["municipality"], "Wijk bij Duurstede");
    }
    let stored = store_text(&retired);
    assert!(!stored.iter().any(|(_, v)| v.contains("\"kid\":\"old\"")), "nothing in the store needs the old key");
    assert!(!retired.logs_text().contains("no key with id"));
    let _ = std::fs::remove_dir_all(&dir);
}
