//! Token records carry a MAC under `record_mac_key`: a record written straight into the
//! store, by anything that can write to the store but does not hold that key, is
//! refused by every component that reads token records, like an unknown token.

use crate::e2e::*;
use serde_json::json;
use shared::auth::{issue_token, token_key, RecordMac, StaffRole, TokenRecord, TokenScope};
use shared::domain::Organisation;
use shared::id::TokenId;
use shared::random::SeededRandom;
use shared::time::Timestamp;
use weerbaar_tests::TestApp;

/// What a programme admin may read at each component that reads token records.
const READS: [&str; 3] = ["/triage/tokens", "/directory/audit/contact-reads", "/notification/subscriptions"];

fn statuses(app: &TestApp, secret: &str) -> Vec<u16> {
    READS.iter().map(|path| staff(app, secret, "GET", path, &[], None).status).collect()
}

#[test]
fn a_token_record_written_straight_into_the_store_is_refused_by_every_component() {
    let app = start(options());
    // A real programme admin, issued through triage: every component lets it read.
    let issued = staff(
        &app,
        ADMIN_TOKEN,
        "POST",
        "/triage/tokens",
        &[],
        Some(json!({"organisation": "bzk", "role": "admin", "holder": "Programmaleider", "scope": "programme"})),
    );
    assert_eq!(issued.status, 201, "{}", issued.body);
    let programme_admin = issued.body["token"].as_str().unwrap().to_string();
    assert_eq!(statuses(&app, &programme_admin), [200, 200, 200]);

    // The same powers, minted by writing a record into the store.
    let random = SeededRandom::new(2026);
    let forged = issue_token(&random);
    let key = token_key(&forged.hash);
    let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
    let record = TokenRecord {
        id: TokenId::generate(&random),
        organisation: Organisation::Bzk,
        role: StaffRole::Admin,
        holder: "indringer".into(),
        created_at: now,
        expires_at: Some(now + shared::time::Duration::days(3650)),
        revoked_at: None,
        scope: Some(TokenScope::Programme),
        mac: None,
    };
    let wrong_key = RecordMac::parse(&shared::crypto::base64_encode(&[99u8; 32])).unwrap();
    for (what, written) in [("no MAC", record.clone()), ("a MAC under another key", record.signed(&wrong_key, &key))] {
        app.kv_set("default", &key, &shared::kv::to_json(&written));
        for (path, status) in READS.iter().zip(statuses(&app, &forged.secret)) {
            assert_eq!(status, 401, "{what}: {path}");
        }
        let refused = staff(&app, &forged.secret, "GET", "/triage/tokens", &[], None);
        assert_eq!(
            refused.body["detail"], "unknown, expired or revoked token",
            "{what}: the answer of an unknown token"
        );
    }
    assert_eq!(statuses(&app, &programme_admin), [200, 200, 200], "issued tokens keep working");
}
