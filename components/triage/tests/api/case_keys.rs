//! Least privilege for keys in triage: each case's own data key (crypto-shredding at
//! the purge, re-wrapping after a rotation of `case_keys`) and MACs on token records.

use crate::common::*;
use serde_json::json;
use shared::auth::{issue_token, token_key, RecordMac, StaffRole, TokenRecord, TokenScope};
use shared::case::{case_key, message_field, messages_log, CaseMessage, CaseRecord, ReporterDetails, REPORTER_FIELD};
use shared::case_keys::{data_key_key, CaseCipher, WrappedKey};
use shared::crypto::{base64_encode, FieldSealer, DATA_KEY_KID};
use shared::domain::{IncidentKind, Organisation, Role};
use shared::id::{CaseId, TokenId};
use shared::kv::memory::CasMode;
use shared::kv::versioned;
use shared::kv::{to_json, KeyValue};
use shared::time::Duration;

fn case_path(id: &CaseId, rest: &str) -> String {
    format!("/triage/cases/{id}{rest}")
}

fn mayor_case(w: &World) -> CaseId {
    w.triaged(shared::case::ReportFacts { role: Role::Mayor, ..incident(&[IncidentKind::ThreatOfViolence]) })
}

fn wrapped_kid(w: &World, id: &CaseId) -> String {
    versioned::read::<_, WrappedKey>(&w.store, &data_key_key(id)).unwrap().unwrap().data.wrapped.kid
}

/// Opens a copy of a case's record and messages, as a thief holding the full keyring
/// would try: with whatever `case/<id>/key` the store has now.
fn open_copy(w: &World, id: &CaseId, record: &CaseRecord, messages: &[(u64, CaseMessage)]) -> Vec<bool> {
    let keyring = w.keyring();
    let cipher = CaseCipher::load(&w.store, &keyring, id).unwrap();
    let mut opened = vec![cipher.open_json::<ReporterDetails>(&record.reporter, id.as_str(), REPORTER_FIELD).is_ok()];
    for (slot, message) in messages {
        opened.push(cipher.open(&message.text, id.as_str(), &message_field(*slot)).is_ok());
    }
    opened
}

#[test]
fn every_sealed_field_of_a_new_case_uses_its_own_data_key_not_the_keyring() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = mayor_case(&w);
    let reply = w.staff(&token, "POST", &case_path(&id, "/messages"), &[], Some(json!({"text": "Ik bel u morgen."})));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let view = w.staff(&token, "GET", &case_path(&id, ""), &[], None);
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.body["reporter"]["municipality"], MUNICIPALITY);

    let record = w.record(&id).data;
    assert_eq!(record.reporter.kid, DATA_KEY_KID);
    let keyring = w.keyring();
    assert!(keyring.open(&record.reporter, id.as_str(), REPORTER_FIELD).is_err(), "the keyring alone opens nothing");
    assert_eq!(wrapped_kid(&w, &id), keyring.current_kid(), "the data key is wrapped by the case keyring");
    let log = messages_log(&id);
    for (_, bytes) in log.read(&w.store, 1, log.last_slot(&w.store).unwrap()).unwrap() {
        let message: CaseMessage = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(message.text.kid, DATA_KEY_KID);
    }
}

#[test]
fn after_the_purge_a_copy_of_the_case_taken_before_cannot_be_opened_even_with_the_full_keyring() {
    for mode in [CasMode::SqliteLike, CasMode::RedisLike] {
        let w = World::with_mode(mode);
        let token = w.token("ngb", "confidant");
        let id = mayor_case(&w);
        let reply = w.staff(&token, "POST", &case_path(&id, "/messages"), &[], Some(json!({"text": "Tot morgen."})));
        assert_eq!(reply.status, 201, "{}", reply.body);
        let etag = w.staff(&token, "GET", &case_path(&id, ""), &[], None).etag();
        let closed = w.staff(
            &token,
            "POST",
            &case_path(&id, "/status"),
            &[("if-match", &etag)],
            Some(json!({"status": "closed", "reason": "klaar"})),
        );
        assert_eq!(closed.status, 200, "{}", closed.body);

        // The copy: the case record and its sealed messages, without the key.
        let record = w.record(&id).data;
        let log = messages_log(&id);
        let messages: Vec<(u64, CaseMessage)> = log
            .read(&w.store, 1, log.last_slot(&w.store).unwrap())
            .unwrap()
            .into_iter()
            .map(|(slot, bytes)| (slot, serde_json::from_slice(&bytes).unwrap()))
            .collect();
        assert!(!messages.is_empty());
        assert!(open_copy(&w, &id, &record, &messages).iter().all(|ok| *ok), "{mode:?}: the copy opens before");

        w.advance(Duration::days(366));
        assert_eq!(w.sweep().body["cases_purged"], 1, "{mode:?}");
        assert_eq!(w.store.get(&data_key_key(&id)).unwrap(), None, "{mode:?}: the wrapped data key is gone");
        assert_eq!(w.store.get(&case_key(&id)).unwrap(), None);
        assert!(
            open_copy(&w, &id, &record, &messages).iter().all(|ok| !ok),
            "{mode:?}: nothing of the copy opens after the purge"
        );
    }
}

#[test]
fn a_case_filed_before_data_keys_existed_stays_readable_through_the_keyring() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = w.file_legacy(shared::case::ReportFacts { role: Role::Mayor, ..incident(&[IncidentKind::Stalking]) });
    assert_eq!(w.handover(&id).status, 200);
    let reply = w.staff(&token, "POST", &case_path(&id, "/messages"), &[], Some(json!({"text": "Nog een vraag."})));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let view = w.staff(&token, "GET", &case_path(&id, ""), &[], None);
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.body["reporter"]["municipality"], MUNICIPALITY);
    assert_eq!(w.record(&id).data.reporter.kid, w.keyring().current_kid());
    let page = w.staff(&token, "GET", &case_path(&id, "/messages"), &[], None);
    assert_eq!(page.body["messages"][0]["text"], "Nog een vraag.", "{}", page.body);
    assert!(w.sweep().status == 200, "the re-wrap walk passes a case without a data key");
}

#[test]
fn the_sweep_rewraps_data_keys_under_the_new_key_in_batches_until_health_shows_none_left() {
    let mut w = World::new();
    let token = w.token("ngb", "confidant");
    let old = keyring_spec();
    let cases: Vec<CaseId> = (0..3).map(|_| mayor_case(&w)).collect();
    let health = |w: &World| w.call("GET", "/triage/health", &[], None).body["case_keys_rewrap"].clone();
    assert_eq!(health(&w)["unchecked"], 3, "{}", health(&w));
    w.sweep();
    assert_eq!(health(&w)["unchecked"], 0, "nothing to re-wrap under the one key");
    assert_eq!(health(&w)["rewrapped"], 0);

    w.vars.set("case_keys", format!("k2:{},{old}", base64_encode(&[77u8; 32])));
    let after_rotation = health(&w);
    assert_eq!(after_rotation["current_kid"], "k2");
    assert_eq!(after_rotation["unchecked"], 3, "a new current key: every data key is checked again");
    let report = w.sweep();
    assert_eq!(report.body["keys_rewrapped"], 3, "{}", report.body);
    assert_eq!(health(&w)["unchecked"], 0);
    assert_eq!(health(&w)["rewrapped"], 3);
    assert!(cases.iter().all(|id| wrapped_kid(&w, id) == "k2"));
    assert_eq!(w.sweep().body["keys_rewrapped"], 0, "re-wrapped once");

    w.vars.set("case_keys", format!("k2:{}", base64_encode(&[77u8; 32])));
    for id in &cases {
        let view = w.staff(&token, "GET", &case_path(id, ""), &[], None);
        assert_eq!(view.status, 200, "opens without the old key: {}", view.body);
        assert_eq!(view.body["reporter"]["municipality"], MUNICIPALITY);
    }
}

#[test]
fn a_data_key_under_a_key_the_keyring_lacks_holds_the_walk_and_shows_in_health() {
    let mut w = World::new();
    let id = mayor_case(&w);
    // Rotated, and the old key dropped before the walk re-wrapped anything.
    w.vars.set("case_keys", format!("k2:{}", base64_encode(&[77u8; 32])));
    let report = w.sweep();
    assert_eq!(report.body["keys_rewrapped"], 0, "{}", report.body);
    let health = w.call("GET", "/triage/health", &[], None).body["case_keys_rewrap"].clone();
    assert_eq!(health["unchecked"], 1, "{health}");
    assert_eq!(health["stuck"], true);
    w.vars.set("case_keys", format!("k2:{},{}", base64_encode(&[77u8; 32]), keyring_spec()));
    w.sweep();
    let health = w.call("GET", "/triage/health", &[], None).body["case_keys_rewrap"].clone();
    assert_eq!((health["unchecked"].clone(), health["stuck"].clone()), (json!(0), json!(false)), "{health}");
    assert_eq!(wrapped_kid(&w, &id), "k2");
}

/// A token record written straight into the store, by anything that can write to the
/// store but does not hold `record_mac_key`, is refused like an unknown token.
#[test]
fn a_token_record_written_straight_into_the_store_is_refused() {
    let w = World::new();
    let issued = w.token("ngb", "admin");
    assert_eq!(w.staff(&issued, "GET", "/triage/cases", &[], None).status, 200, "an issued token works");

    let forged = issue_token(&w.random);
    let key = token_key(&forged.hash);
    let record = TokenRecord {
        id: TokenId::generate(&w.random),
        organisation: Organisation::Bzk,
        role: StaffRole::Admin,
        holder: "indringer".into(),
        created_at: w.clock_now(),
        expires_at: Some(w.clock_now() + Duration::days(30)),
        revoked_at: None,
        scope: Some(TokenScope::Programme),
        mac: None,
    };
    let other_key = RecordMac::parse(&base64_encode(&[99u8; 32])).unwrap();
    let bearer = format!("Bearer {}", forged.secret);
    for (what, written) in
        [("without a MAC", record.clone()), ("with another key's MAC", record.signed(&other_key, &key))]
    {
        w.store.set(&key, &to_json(&written)).unwrap();
        for path in ["/triage/cases", "/triage/tokens"] {
            let reply = w.call("GET", path, &[("authorization", &bearer)], None);
            assert_eq!(reply.status, 401, "{what}: {path}: {}", reply.body);
            assert_eq!(reply.body["detail"], "unknown, expired or revoked token");
        }
    }

    // An issued record changed in the store (a confidant made admin) is refused too.
    let secret = issued.trim_start_matches("Bearer ");
    let issued_key = token_key(&shared::crypto::sha256_hex(secret.as_bytes()));
    let mut stored: TokenRecord = serde_json::from_slice(&w.store.get(&issued_key).unwrap().unwrap()).unwrap();
    assert!(stored.mac.is_some(), "triage signs the records it writes");
    stored.organisation = Organisation::Bzk;
    stored.scope = Some(TokenScope::Programme);
    w.store.set(&issued_key, &to_json(&stored)).unwrap();
    assert_eq!(w.staff(&issued, "GET", "/triage/cases", &[], None).status, 401);
}
