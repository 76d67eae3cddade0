//! A triage world for native tests: the real router on a Spin-like in-memory store,
//! a manual clock, seeded randomness, and scripted directory and notification peers.
#![allow(dead_code)]

use serde_json::{json, Value};
use shared::case::{
    case_key, pending_triage_log, CaseRecord, ContactChannel, ContactPreference, PendingTriage, ReportFacts,
    ReporterDetails, REPORTER_FIELD,
};
use shared::case_keys::CaseCipher;
use shared::clock::ManualClock;
use shared::config::MapVariables;
use shared::crypto::{base64_encode, FieldSealer, Keyring};
use shared::domain::*;
use shared::events::{CaseEvent, CaseEventBatch};
use shared::id::CaseId;
use shared::kv::memory::{CasMode, MemoryStore};
use shared::kv::versioned::Versioned;
use shared::kv::{to_json, KeyValue};
use shared::outbound::{FakeOutbound, OutboundError};
use shared::random::SeededRandom;
use shared::time::{Duration, Timestamp};
use shared::web::Ports;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use triage::routes;

pub const ADMIN: &str = "bootstrap-admin-token-for-triage-tests-0123";
pub const INTERNAL: &str = "internal-secret-for-triage-tests-0123";
pub const MUNICIPALITY: &str = "Wijk bij Duurstede";

pub fn keyring_spec() -> String {
    format!("k1:{}", base64_encode(&[7u8; 32]))
}

/// What the scripted peers do.
#[derive(Default)]
pub struct Peers {
    pub directory_down: bool,
    pub notification_down: bool,
    /// Event types notification answers 503 (the others it accepts).
    pub notification_refuses: BTreeSet<String>,
    /// A notification component from before `POST /notification/internal/events/batch`:
    /// that path is 404 (single events are accepted as before).
    pub notification_without_batch: bool,
    /// Members at capacity.
    pub full: BTreeSet<String>,
    /// Every event the notification component accepted.
    pub events: Vec<CaseEvent>,
    /// Every (path, body) the directory got.
    pub directory_calls: Vec<(String, Value)>,
    /// Each member's open cases, as the directory's load document keeps them: a set
    /// per member, so assign and release are idempotent per (member, case).
    pub loads: std::collections::BTreeMap<String, BTreeSet<String>>,
    /// The holds on each (member, case), as the directory keeps them: a release with a
    /// hold takes the case off only when no hold is left; no entry: held for good.
    pub holds: std::collections::BTreeMap<(String, String), Vec<String>>,
    /// When set, every assign waits here after it took effect: lets a test line up
    /// concurrent assignments so that all reach the directory before any commits.
    pub assign_gate: Option<Arc<std::sync::Barrier>>,
}

pub type Answer = Result<http::Response<Vec<u8>>, OutboundError>;
/// The scripted peers' answering function.
pub type Responder = Box<dyn Fn(&http::Request<Vec<u8>>) -> Answer + Send + Sync>;

fn answer(status: u16, body: Value) -> Answer {
    Ok(http::Response::builder().status(status).body(serde_json::to_vec(&body).unwrap()).unwrap())
}

pub const MEMBER: &str = "mem_0000000000000000000000000p";
pub const MEMBER_2: &str = "mem_0000000000000000000000000q";

fn respond(peers: &Mutex<Peers>, req: &http::Request<Vec<u8>>) -> Answer {
    let mut p = peers.lock().unwrap();
    let path = req.uri().path().to_string();
    let body: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
    assert_eq!(req.headers()["weerbaar-internal-secret"], INTERNAL);
    if req.uri().host() == Some("directory.test") {
        if p.directory_down {
            return Err(OutboundError("connection refused".into()));
        }
        p.directory_calls.push((path.clone(), body.clone()));
        if path == "/directory/internal/match" {
            let matches: Vec<Value> = body["needs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|need| json!({"need": need, "candidates": [
                    {"member_id": MEMBER, "name": "Peer Een", "kind": "peer", "score": 335.0, "reasons": ["same region"]}
                ]}))
                .collect();
            return answer(200, json!({ "matches": matches }));
        }
        let member = path.split('/').nth(4).unwrap_or("").to_string();
        if path.ends_with("/assign") && p.full.contains(&member) {
            return answer(409, json!({"type": "urn:weerbaar:problem:conflict"}));
        }
        let case = body["case_id"].as_str().unwrap_or("").to_string();
        let hold = body["hold"].as_str().map(str::to_string);
        let key = (member.clone(), case.clone());
        let had = p.loads.entry(member.clone()).or_default().contains(&case);
        if path.ends_with("/assign") {
            match (had, hold) {
                (false, Some(hold)) => {
                    p.holds.insert(key, vec![hold]);
                }
                (true, Some(hold)) => {
                    if let Some(holds) = p.holds.get_mut(&key) {
                        holds.push(hold);
                    }
                }
                (false, None) => {}
                (true, None) => {
                    p.holds.remove(&key);
                }
            }
            p.loads.get_mut(&member).unwrap().insert(case);
        } else if path.ends_with("/release") && had {
            let off = match hold {
                None => true,
                Some(hold) => match p.holds.get_mut(&key) {
                    Some(holds) if holds.contains(&hold) => {
                        holds.retain(|h| *h != hold);
                        holds.is_empty()
                    }
                    _ => false,
                },
            };
            if off {
                p.holds.remove(&key);
                p.loads.get_mut(&member).unwrap().remove(&case);
            }
        }
        let open = p.loads[&member].len();
        let gate = if path.ends_with("/assign") { p.assign_gate.clone() } else { None };
        drop(p);
        if let Some(gate) = gate {
            gate.wait();
        }
        return answer(200, json!({"open_cases": open, "capacity": 3}));
    }
    if req.uri().host() == Some("notification.test") {
        if p.notification_down {
            return Err(OutboundError("connection refused".into()));
        }
        // One event, or a change's events in one batch: accepted in order, as the real
        // component does, until one is refused (those before it stay accepted).
        if p.notification_without_batch && req.uri().path() == "/notification/internal/events/batch" {
            return answer(404, json!({"type": "urn:weerbaar:problem:not-found"}));
        }
        let events: Vec<CaseEvent> = if req.uri().path() == "/notification/internal/events/batch" {
            let batch: CaseEventBatch = serde_json::from_slice(req.body()).expect("a batch is CaseEventBatch JSON");
            assert!(batch.events.len() > 1, "a single event goes alone");
            batch.events
        } else {
            assert_eq!(req.uri().path(), "/notification/internal/events");
            vec![serde_json::from_slice(req.body()).expect("events are CaseEvent JSON")]
        };
        for event in events {
            if p.notification_refuses.contains(event.event_type.as_str()) {
                return answer(503, json!({"type": "urn:weerbaar:problem:unavailable"}));
            }
            p.events.push(event);
        }
        return answer(202, json!({"accepted": true}));
    }
    panic!("unexpected outbound host {:?}", req.uri().host())
}

/// The world a test runs in.
pub struct World {
    pub store: MemoryStore,
    pub clock: ManualClock,
    pub random: SeededRandom,
    pub vars: MapVariables,
    pub peers: Arc<Mutex<Peers>>,
    pub outbound: FakeOutbound<Responder>,
}

pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Reply {
    pub fn etag(&self) -> String {
        self.headers.get("etag").expect("an ETag").to_str().unwrap().to_string()
    }
}

pub fn start() -> Timestamp {
    Timestamp::parse("2026-11-28T10:00:00Z").unwrap()
}

impl World {
    pub fn new() -> World {
        World::with_mode(CasMode::SqliteLike)
    }

    pub fn with_mode(mode: CasMode) -> World {
        let peers = Arc::new(Mutex::new(Peers::default()));
        let shared = peers.clone();
        let respond: Responder = Box::new(move |req| respond(&shared, req));
        World {
            store: MemoryStore::with_mode(mode),
            clock: ManualClock::at(start()),
            random: SeededRandom::new(42),
            vars: MapVariables::from_pairs(&[
                ("case_keys", &keyring_spec()),
                ("record_mac_key", &shared::crypto::base64_encode(&[5u8; 32])),
                ("internal_secret", INTERNAL),
                ("admin_token", ADMIN),
                ("directory_url", "http://directory.test"),
                ("notification_url", "http://notification.test"),
                ("first_contact_sla_minutes", triage::core::rules::DEFAULT_SLA),
                ("escalation_interval_minutes", triage::core::rules::DEFAULT_ESCALATION),
                ("routing", triage::core::rules::DEFAULT_ROUTING),
                // The stories here span years (retention); their staff keep one token.
                ("token_max_days", "3650"),
            ]),
            peers,
            outbound: FakeOutbound::new(respond),
        }
    }

    pub fn keyring(&self) -> Keyring {
        Keyring::parse(&keyring_spec()).unwrap()
    }

    /// Sends a request through the real router.
    pub fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Value>) -> Reply {
        let mut builder = http::Request::builder().method(method).uri(path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let req = builder.body(body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default()).unwrap();
        let ports = Ports { outbound: &self.outbound, clock: &self.clock, random: &self.random, variables: &self.vars };
        let response = routes::handle(req, || Ok(&self.store), ports);
        let raw = response.body().clone();
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
            raw,
        }
    }

    /// A staff call with a bearer token.
    pub fn staff(&self, token: &str, method: &str, path: &str, extra: &[(&str, &str)], body: Option<Value>) -> Reply {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        self.call(method, path, &headers, body)
    }

    /// Issues a token for `org` with the bootstrap admin, living the longest allowed.
    pub fn token(&self, org: &str, role: &str) -> String {
        let reply = self.staff(
            ADMIN,
            "POST",
            "/triage/tokens",
            &[],
            Some(json!({"organisation": org, "role": role, "holder": "Anne de Wit", "expires_in_days": 3650})),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body["token"].as_str().unwrap().to_string()
    }

    /// Files a case the way intake does (record, data key and pending entry in one
    /// set_many).
    pub fn file(&self, facts: ReportFacts) -> CaseId {
        self.file_sealed(facts, true)
    }

    /// Files a case as intake did before cases had their own data key: sealed with the
    /// keyring itself.
    pub fn file_legacy(&self, facts: ReportFacts) -> CaseId {
        self.file_sealed(facts, false)
    }

    /// Seals `plaintext` for field `field` of case `id` as triage does.
    pub fn seal(&self, id: &CaseId, plaintext: &[u8], field: &str) -> shared::crypto::Sealed {
        let keyring = self.keyring();
        CaseCipher::load(&self.store, &keyring, id).unwrap().seal(plaintext, id.as_str(), field, &self.random)
    }

    /// Opens field `field` of case `id` as triage does.
    pub fn open(
        &self,
        id: &CaseId,
        sealed: &shared::crypto::Sealed,
        field: &str,
    ) -> Result<Vec<u8>, shared::crypto::CryptoError> {
        let keyring = self.keyring();
        CaseCipher::load(&self.store, &keyring, id).unwrap().open(sealed, id.as_str(), field)
    }

    fn file_sealed(&self, facts: ReportFacts, data_key: bool) -> CaseId {
        let id = CaseId::generate(&self.random);
        let keyring = self.keyring();
        let pending = pending_triage_log();
        let slot = pending.reserve(&self.store).unwrap();
        let (cipher, mut entries) = if data_key {
            CaseCipher::create(&keyring, &id, slot, &self.random)
        } else {
            (CaseCipher::load(&self.store, &keyring, &id).unwrap(), Vec::new())
        };
        let details = ReporterDetails {
            name: Some("Jeroen Koolhoven".into()),
            municipality: MUNICIPALITY.into(),
            description: "Mes aan de deur".into(),
            contact: ContactPreference {
                channel: ContactChannel::Phone,
                phone: Some("+31 6 12345678".into()),
                email: None,
                when: None,
            },
        };
        let reporter = cipher.seal_json(&details, id.as_str(), REPORTER_FIELD, &self.random);
        let record = CaseRecord {
            id: id.clone(),
            received_at: self.clock_now(),
            status: CaseStatus::Received,
            facts,
            reporter,
            pending_triage_slot: Some(slot),
            assessment: None,
            acknowledged_at: None,
            next_check_in: None,
            work: None,
        };
        entries.push((case_key(&id), Versioned::first(record, &self.random).encode()));
        entries.push((pending.key(slot), to_json(&PendingTriage { case_id: id.clone(), since: self.clock_now() })));
        self.store.set_many(&entries).unwrap();
        id
    }

    pub fn clock_now(&self) -> Timestamp {
        use shared::clock::Clock;
        self.clock.now()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Intake's handover.
    pub fn handover(&self, id: &CaseId) -> Reply {
        self.call(
            "POST",
            "/triage/internal/cases",
            &[("weerbaar-internal-secret", INTERNAL)],
            Some(json!({ "case_id": id })),
        )
    }

    /// Files and triages a case; returns its id.
    pub fn triaged(&self, facts: ReportFacts) -> CaseId {
        let id = self.file(facts);
        let reply = self.handover(&id);
        assert_eq!(reply.status, 200, "{}", reply.body);
        id
    }

    pub fn sweep(&self) -> Reply {
        let reply = self.call("POST", "/triage/sweep", &[("weerbaar-internal-secret", INTERNAL)], None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply
    }

    pub fn record(&self, id: &CaseId) -> Versioned<CaseRecord> {
        shared::kv::versioned::read(&self.store, &case_key(id)).unwrap().unwrap()
    }

    pub fn events(&self) -> Vec<CaseEvent> {
        self.peers.lock().unwrap().events.clone()
    }

    pub fn event_types(&self, id: &CaseId) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| &e.data.case_reference == id)
            .map(|e| e.event_type.as_str().to_string())
            .collect()
    }

    /// Keys of outbox entries still waiting.
    pub fn outbox(&self) -> Vec<String> {
        self.store.dump().into_keys().filter(|k| k.starts_with("triage/outbox/s/")).collect()
    }

    /// The types of the events waiting in the outbox (a change's events share one
    /// entry), in slot order.
    pub fn outbox_events(&self) -> Vec<String> {
        let entries = self.store.dump().into_iter().filter(|(k, _)| k.starts_with("triage/outbox/s/"));
        entries
            .flat_map(|(_, bytes)| {
                let entry: triage::core::outbox::OutboxEntry = serde_json::from_slice(&bytes).unwrap();
                entry.events().map(|e| e.event_type.as_str().to_string()).collect::<Vec<_>>()
            })
            .collect()
    }
}

/// A report of a mayor in Utrecht, with no incident kinds: adjust per test.
pub fn facts() -> ReportFacts {
    ReportFacts {
        role: Role::Mayor,
        relation: Relation::OfficeHolder,
        region: RegionCode::Vr09,
        request_kind: RequestKind::Incident,
        incident_kinds: vec![],
        immediate_danger: false,
        threat_to_life: false,
        recurrence: Recurrence::First,
        occurred_at: None,
        police_informed: false,
        police_report_filed: false,
        support_requested: vec![],
        language: Language::Dutch,
    }
}

pub fn incident(kinds: &[IncidentKind]) -> ReportFacts {
    ReportFacts { incident_kinds: kinds.to_vec(), ..facts() }
}
