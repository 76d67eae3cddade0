//! A directory served natively over fakes: MemoryStore, ManualClock, SeededRandom.
//! Every response is checked against `openapi.yaml`.
#![allow(dead_code)]

use directory::routes::{handle, ROUTES};
use serde_json::{json, Value};
use shared::clock::ManualClock;
use shared::config::MapVariables;
use shared::kv::memory::{CasMode, MemoryStore};
use shared::outbound::NoOutbound;
use shared::random::SeededRandom;
use shared::time::Timestamp;
use shared::web::Ports;

pub const ADMIN: &str = "admin-token-for-tests-0123456789abcdef";
pub const INTERNAL: &str = "internal-secret-for-tests-0123456789";

/// The MAC key of token records the harness runs with.
pub fn record_mac_key() -> String {
    shared::crypto::base64_encode(&[5u8; 32])
}

/// [`record_mac_key`], parsed: signs token records written straight into the store.
pub fn record_mac() -> shared::auth::RecordMac {
    shared::auth::RecordMac::parse(&record_mac_key()).unwrap()
}

pub struct Harness {
    pub store: MemoryStore,
    pub clock: ManualClock,
    pub random: SeededRandom,
    pub vars: MapVariables,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn etag(&self) -> String {
        self.headers.get("etag").expect("an etag").to_str().unwrap().to_string()
    }
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_mode(CasMode::SqliteLike)
    }

    pub fn with_mode(mode: CasMode) -> Harness {
        let key = shared::crypto::base64_encode(&[7u8; 32]);
        Harness {
            store: MemoryStore::with_mode(mode),
            clock: ManualClock::at(Timestamp::parse("2026-11-28T12:00:00Z").unwrap()),
            random: SeededRandom::new(42),
            vars: MapVariables::from_pairs(&[
                ("directory_keys", &format!("k1:{key}")),
                ("record_mac_key", &record_mac_key()),
                ("internal_secret", INTERNAL),
                ("admin_token", ADMIN),
            ]),
        }
    }

    pub fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Reply {
        let mut builder = http::Request::builder().method(method).uri(path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let bytes = match body {
            Some(b) => {
                builder = builder.header("content-type", "application/json");
                serde_json::to_vec(b).unwrap()
            }
            None => Vec::new(),
        };
        let ports = Ports { outbound: &NoOutbound, clock: &self.clock, random: &self.random, variables: &self.vars };
        let response = handle(builder.body(bytes).unwrap(), || Ok(&self.store), ports);
        let status = response.status().as_u16();
        let template = ROUTES
            .iter()
            .find(|r| {
                shared::web::route(std::slice::from_ref(*r), &method.parse().unwrap(), path.split('?').next().unwrap())
                    .is_ok()
            })
            .map(|r| r.1);
        if let Some(template) = template {
            if let Err(e) = shared::contract::validate_response(method, template, status, response.body()) {
                panic!(
                    "{method} {path} → {status} does not fit openapi.yaml: {e}\n{}",
                    String::from_utf8_lossy(response.body())
                );
            }
        }
        let body = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
        Reply { status, headers: response.headers().clone(), body }
    }

    pub fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.call(method, path, &[("authorization", &format!("Bearer {ADMIN}"))], body)
    }

    /// A staff token written straight into the store, as triage issues it: `Bearer …`.
    pub fn token(&self, organisation: &str, role: &str, programme: bool) -> String {
        let issued = shared::auth::issue_token(&self.random);
        let record = shared::auth::TokenRecord {
            id: shared::id::TokenId::generate(&self.random),
            organisation: shared::domain::Organisation::parse(organisation).unwrap(),
            role: shared::auth::StaffRole::parse(role).unwrap(),
            holder: format!("{organisation} {role}"),
            expires_at: Some(Timestamp::from_unix_millis(4_102_444_800_000)),
            created_at: Timestamp::from_unix_millis(0),
            revoked_at: None,
            scope: programme.then_some(shared::auth::TokenScope::Programme),
            mac: None,
        };
        let key = shared::auth::token_key(&issued.hash);
        let record = record.signed(&record_mac(), &key);
        shared::kv::KeyValue::set(&self.store, &key, &shared::kv::to_json(&record)).unwrap();
        format!("Bearer {}", issued.secret)
    }

    pub fn internal(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.call(method, path, &[("weerbaar-internal-secret", INTERNAL)], body)
    }

    /// Creates a member and returns its id.
    pub fn create(&self, member: Value) -> String {
        let r = self.admin("POST", "/directory/members", Some(&member));
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    pub fn matches(&self, request: Value) -> Value {
        let r = self.internal("POST", "/directory/internal/match", Some(&request));
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    pub fn assign(&self, member: &str, case: &str) -> Reply {
        self.internal(
            "POST",
            &format!("/directory/internal/members/{member}/assign"),
            Some(&json!({ "case_id": case })),
        )
    }

    pub fn release(&self, member: &str, case: &str) -> Reply {
        self.internal(
            "POST",
            &format!("/directory/internal/members/{member}/release"),
            Some(&json!({ "case_id": case })),
        )
    }
}

/// A peer in one region.
pub fn peer(name: &str, role: &str, region: &str, municipality: &str) -> Value {
    json!({
        "name": name, "kind": "peer", "role": role, "organisation": "wethoudersvereniging",
        "municipality": municipality, "regions": [region], "languages": ["nl"], "capacity": 3,
        "contact": { "email": format!("{}@example.org", name.to_lowercase().replace(' ', ".")) }
    })
}

/// An expert serving `regions` (or `["national"]`).
pub fn expert(name: &str, expertise: &[&str], regions: &[&str]) -> Value {
    json!({
        "name": name, "kind": "expert", "expertise": expertise, "specialties": ["police liaison"],
        "regions": regions, "languages": ["nl", "en"], "capacity": 3,
        "contact": { "phone": "+31 6 00000000" }
    })
}

/// A case id made from a number.
pub fn case(n: u32) -> String {
    format!("case_{n:026}")
}

/// The ids of the candidates for the need at `index`.
pub fn candidate_ids(matches: &Value, index: usize) -> Vec<String> {
    matches["matches"][index]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["member_id"].as_str().unwrap().to_string())
        .collect()
}

pub fn case_request(region: &str, municipality: &str, needs: &[&str]) -> Value {
    json!({ "role": "alderman", "region": region, "municipality": municipality, "needs": needs, "language": "nl" })
}
