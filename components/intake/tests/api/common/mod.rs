//! A native intake with in-memory ports, spoken to as HTTP requests.
#![allow(dead_code)]

use intake::routes::{handle, ROUTES};
use serde_json::{json, Value};
use shared::clock::ManualClock;
use shared::config::MapVariables;
use shared::crypto::base64_encode;
use shared::kv::memory::{CasMode, MemoryStore};
use shared::kv::StoreError;
use shared::outbound::{Answer, FakeOutbound, OutboundError};
use shared::random::SeededRandom;
use shared::time::{Duration, Timestamp};
use shared::web::Ports;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub const INTERNAL_SECRET: &str = "internal-secret-for-tests-0123456789";
pub const TRIAGE_URL: &str = "http://triage.spin.internal";

pub fn keyring_spec() -> String {
    format!("k1:{}", base64_encode(&[7u8; 32]))
}

type Responder = Box<dyn Fn(&http::Request<Vec<u8>>) -> Answer>;

pub struct Harness {
    pub store: Arc<MemoryStore>,
    pub clock: ManualClock,
    pub random: SeededRandom,
    pub vars: MapVariables,
    pub triage_up: Arc<AtomicBool>,
    pub outbound: FakeOutbound<Responder>,
    pub store_down: bool,
}

pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_mode(CasMode::SqliteLike)
    }

    pub fn with_mode(mode: CasMode) -> Self {
        let vars = MapVariables::from_pairs(&[
            ("case_keys", &keyring_spec()),
            ("receipt_hmac_key", &base64_encode(&[9u8; 32])),
            ("internal_secret", INTERNAL_SECRET),
            ("triage_url", TRIAGE_URL),
            ("submission_limit_per_hour", "10"),
            ("receipt_lookup_limit", "5"),
            ("receipt_lookup_window_seconds", "900"),
        ]);
        let triage_up = Arc::new(AtomicBool::new(true));
        let up = triage_up.clone();
        let respond: Responder = Box::new(move |_req| {
            if up.load(Ordering::SeqCst) {
                Ok(http::Response::builder().status(200).body(b"{}".to_vec()).unwrap())
            } else {
                Err(OutboundError("connection refused".into()))
            }
        });
        Harness {
            store: Arc::new(MemoryStore::with_mode(mode)),
            clock: ManualClock::at(Timestamp::parse("2026-11-28T03:00:00Z").unwrap()),
            random: SeededRandom::new(42),
            vars,
            triage_up,
            outbound: FakeOutbound::new(respond),
            store_down: false,
        }
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        let mut builder = http::Request::builder().method(method).uri(path);
        let mut has_client = false;
        for (k, v) in headers {
            has_client |= k.eq_ignore_ascii_case("spin-client-addr");
            builder = builder.header(*k, *v);
        }
        if !has_client {
            builder = builder.header("spin-client-addr", "203.0.113.7:51234");
        }
        let req = builder.body(body).unwrap();
        let store: &MemoryStore = &self.store;
        let down = self.store_down;
        let open = move || if down { Err(StoreError("no such store".into())) } else { Ok(store) };
        let ports = Ports { outbound: &self.outbound, clock: &self.clock, random: &self.random, variables: &self.vars };
        let response = handle(req, open, ports);
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body();
        let media = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        // The reporter pages answer in HTML: their body is kept as text.
        let body = match (bytes.is_empty(), media.contains("json")) {
            (true, _) => Value::Null,
            (false, true) => serde_json::from_slice(&bytes).expect("JSON body"),
            (false, false) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        };
        // Every answer must be what openapi.yaml says it is.
        let template = ROUTES.iter().find(|(m, p, _)| *m == method && *p == path).map(|(_, p, _)| *p);
        if let Some(template) = template {
            let media = if media.contains("json") || bytes.is_empty() { "json" } else { media.as_str() };
            shared::contract::validate_response_as(method, template, status, media, &bytes)
                .unwrap_or_else(|e| panic!("{method} {path} -> {status} breaks openapi.yaml: {e}"));
        }
        Reply { status, headers, body }
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.request("POST", path, &[("content-type", "application/json")], serde_json::to_vec(body).unwrap())
    }

    pub fn file(&self, report: &Value) -> Reply {
        self.post_json("/intake/reports", report)
    }

    pub fn status_of(&self, receipt: &str) -> Reply {
        self.post_json("/intake/reports/status", &json!({ "receipt_code": receipt }))
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub fn dump(&self) -> BTreeMap<String, Vec<u8>> {
        self.store.dump()
    }

    pub fn case_keys(&self) -> Vec<String> {
        self.dump().into_keys().filter(|k| k.starts_with("case/") && k.matches('/').count() == 1).collect()
    }
}

/// A complete, valid report with recognisable personal data.
pub fn report() -> Value {
    json!({
        "role": "alderman",
        "relation": "self",
        "region": "VR09",
        "municipality": "Houten",
        "request_kind": "incident",
        "incident_kinds": ["threat_of_violence", "doxxing"],
        "immediate_danger": false,
        "recurrence": "repeated",
        "occurred_at": "2026-11-27T21:15:00Z",
        "police_informed": true,
        "police_report_filed": false,
        "support_requested": ["security", "peer"],
        "description": "Dreigbrieven bij mijn huisadres Lindelaan 12 sinds mijn adres online staat.",
        "name": "Marieke van Dijkhuizen",
        "contact": { "channel": "phone", "phone": "+31 6 98765432", "email": "marieke@example.nl", "when": "na 18:00" },
        "language": "nl"
    })
}

/// The personal strings of [`report`]: none may ever be stored in clear.
pub const PERSONAL: &[&str] =
    &["Houten", "Lindelaan", "Marieke", "Dijkhuizen", "98765432", "marieke@example.nl", "Dreigbrieven", "na 18:00"];
