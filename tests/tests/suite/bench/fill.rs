//! Cases written straight into an app's store, for the growth of case listing, case
//! read and statistics at 1,000 / 10,000 / 100,000 cases: filing that many through the
//! HTTP chain would take hours on the faithful store.
//!
//! Each case is written as intake writes it (`write_case` in intake's `core/submit.rs`:
//! the record, its receipt, its data key and its pending-triage entry in one batch, built
//! with `shared`'s types) and then handed over to triage's own router, run natively
//! (`triage::routes::handle`, the code the component is built from) with the variables
//! the app gives the triage component, so that every key triage keeps for a case (its
//! index entries and counters, statistics, audit, outbox) is exactly what the
//! component writes, whatever that is at the time. The directory and notification
//! answer as the real ones do, from a scripted peer. Everything happens in one store
//! transaction per batch of cases ([`TestApp::kv_session`]), not one per operation.

use serde_json::{json, Value};
use shared::case::{
    case_key, case_receipt_key, pending_triage_log, receipt_key, CaseReceipt, CaseRecord, ContactChannel,
    ContactPreference, PendingTriage, ReceiptEntry, ReportFacts, ReporterDetails, RECEIPT_PURPOSE, REPORTER_FIELD,
};
use shared::case_keys::CaseCipher;
use shared::clock::{Clock, ManualClock};
use shared::config::MapVariables;
use shared::crypto::{FieldSealer, KeyedHasher, Keyring};
use shared::domain::{CaseStatus, RegionCode};
use shared::id::CaseId;
use shared::kv::versioned::Versioned;
use shared::kv::{claim, to_json, KeyValue, StoreError, Swap};
use shared::outbound::{Outbound, OutboundError};
use shared::random::SeededRandom;
use shared::receipt::ReceiptCode;
use shared::time::{Duration as Span, Timestamp};
use shared::web::Ports;
use std::time::Duration;
use weerbaar_tests::{StoreSession, TestApp};

/// The host's store session as `shared`'s key-value port, with SQLite's semantics: one
/// writer, a swap applies when the key still holds what `cas_begin` read (and is an
/// upsert when it read nothing).
struct Direct<'s, 'a>(&'s StoreSession<'a>);

fn err(e: String) -> StoreError {
    StoreError(e)
}

impl KeyValue for Direct<'_, '_> {
    type Cas = (String, Option<Vec<u8>>);

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(key).map_err(err)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.0.set(key, value).map_err(err)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).map_err(err)
    }
    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.get(key)?.is_some())
    }
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        keys.iter().map(|k| self.get(k)).collect()
    }
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        entries.iter().try_for_each(|(k, v)| self.set(k, v))
    }
    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        keys.iter().try_for_each(|k| self.delete(k))
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.0.increment(key, delta).map_err(err)
    }
    fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), StoreError> {
        let value = self.get(key)?;
        Ok(((key.to_string(), value.clone()), value))
    }
    fn cas_swap(&self, (key, seen): Self::Cas, value: &[u8]) -> Result<Swap, StoreError> {
        if seen.is_some() && self.get(&key)? != seen {
            return Ok(Swap::Conflict);
        }
        self.set(&key, value)?;
        Ok(Swap::Applied)
    }
}

/// The directory and notification as triage meets them: a match offers one member per
/// need, an assignment or release answers the member's load, an event is accepted.
struct Peers;

fn answer(status: u16, body: Value) -> Result<http::Response<Vec<u8>>, OutboundError> {
    Ok(http::Response::builder().status(status).body(serde_json::to_vec(&body).unwrap()).unwrap())
}

impl Outbound for Peers {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        _timeout: std::time::Duration,
    ) -> Result<http::Response<Vec<u8>>, OutboundError> {
        let path = request.uri().path().to_string();
        if path == "/directory/internal/match" {
            let body: Value = serde_json::from_slice(request.body()).unwrap_or(Value::Null);
            let needs = body["needs"].as_array().cloned().unwrap_or_default();
            let matches: Vec<Value> = needs
                .iter()
                .map(|need| {
                    json!({"need": need, "candidates": [{"member_id": "mem_0000000000000000000000benchp",
                        "name": "Peer Bench", "kind": "peer", "score": 300.0, "reasons": ["same region"]}]})
                })
                .collect();
            return answer(200, json!({ "matches": matches }));
        }
        if path.starts_with("/directory/") && (path.ends_with("/assign") || path.ends_with("/release")) {
            return answer(200, json!({"open_cases": 1, "capacity": 3}));
        }
        if path.starts_with("/notification/") {
            return answer(202, json!({"accepted": true}));
        }
        answer(404, json!({"type": "about:blank", "title": "Not Found", "status": 404}))
    }
}

/// Writes cases into an app's store, continuing where the last call stopped.
pub struct CaseFill {
    triage: MapVariables,
    keyring: Keyring,
    hasher: KeyedHasher,
    internal_secret: String,
    clock: ManualClock,
    random: SeededRandom,
    /// Cases written so far.
    pub filed: usize,
    /// Some of NGB's cases, spread over the fill (for reads).
    pub sample: Vec<String>,
    /// The newest case of NGB's (a mayor's): first on NGB's newest-first listing.
    pub newest_ngb: Option<String>,
}

/// The facts of the `i`th case: mostly NGB's (a mayor), every priority, every region.
fn facts(i: usize) -> ReportFacts {
    let regions = RegionCode::ALL;
    let role = if i % 5 == 4 { "alderman" } else { "mayor" };
    let (kinds, danger, request) = match i % 4 {
        0 => (vec!["threat_of_violence"], true, "incident"),
        1 => (vec!["threat_of_violence"], false, "incident"),
        2 => (vec!["intimidation"], false, "incident"),
        _ => (vec![], false, "prevention"),
    };
    serde_json::from_value(json!({
        "role": role, "relation": "self", "region": regions[(i * 7) % regions.len()].as_str(),
        "request_kind": request, "incident_kinds": kinds, "immediate_danger": danger, "threat_to_life": false,
        "recurrence": "first", "occurred_at": null, "police_informed": i.is_multiple_of(3), "police_report_filed": false,
        "support_requested": [], "language": "nl"
    }))
    .expect("report facts")
}

impl CaseFill {
    /// A fill for `app`, which must run intake and triage. Cases are dated from
    /// `span_back` before the guests' now, 100 ms apart.
    pub fn new(app: &TestApp, span_back: Duration) -> CaseFill {
        let intake = app.component_variables("intake").expect("the app runs intake");
        let triage = app.component_variables("triage").expect("the app runs triage");
        let keyring = Keyring::parse(&intake["case_keys"]).expect("intake's keyring");
        let hasher = KeyedHasher::parse(&intake["receipt_hmac_key"]).expect("intake's receipt key");
        let internal_secret = triage["internal_secret"].clone();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap() - span_back;
        CaseFill {
            triage: MapVariables(triage),
            keyring,
            hasher,
            internal_secret,
            clock: ManualClock::at(Timestamp::from_unix_millis(now.as_millis() as i64)),
            random: SeededRandom::new(16),
            filed: 0,
            sample: Vec::new(),
            newest_ngb: None,
        }
    }

    /// Files and triages cases until `total` are in the store, `batch` per transaction.
    pub fn fill_to(&mut self, app: &TestApp, total: usize, batch: usize) {
        while self.filed < total {
            let n = batch.min(total - self.filed);
            let ids = app.kv_session("default", |session| {
                let store = Direct(session);
                (self.filed..self.filed + n).map(|i| self.one(&store, i)).collect::<Vec<_>>()
            });
            for id in ids {
                if self.filed % 5 != 4 {
                    // About one NGB case in a thousand, for reads spread over the fill.
                    if self.sample.len() * 1_000 <= self.filed {
                        self.sample.push(id.clone());
                    }
                    self.newest_ngb = Some(id);
                }
                self.filed += 1;
            }
        }
    }

    /// Case number `i`: intake's write, then triage's handover.
    fn one(&self, store: &Direct, i: usize) -> String {
        self.clock.advance(Span::milliseconds(100));
        let now = self.clock.now();
        let id = CaseId::generate(&self.random);
        // As intake's `claim_receipt` and `write_case`.
        let receipt_hash = loop {
            let code = ReceiptCode::generate(&self.random);
            let hash = self.hasher.hex(RECEIPT_PURPOSE, code.canonical().as_bytes());
            if claim(store, &format!("{}/claim", receipt_key(&hash))).unwrap() {
                break hash;
            }
        };
        let pending = pending_triage_log();
        let slot = pending.reserve(store).unwrap();
        let (cipher, key_entries) = CaseCipher::create(&self.keyring, &id, slot, &self.random);
        let details = ReporterDetails {
            name: None,
            municipality: format!("Gemeente {}", i % 340),
            description: format!("Benchmarkmelding {i}: iemand stond bij de voordeur."),
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
            received_at: now,
            status: CaseStatus::Received,
            facts: facts(i),
            reporter,
            pending_triage_slot: Some(slot),
            assessment: None,
            acknowledged_at: None,
            next_check_in: None,
            work: None,
        };
        let mut entries = vec![
            (case_key(&id), Versioned::first(record, &self.random).encode()),
            (receipt_key(&receipt_hash), to_json(&ReceiptEntry { case_id: id.clone() })),
            (pending.key(slot), to_json(&PendingTriage { case_id: id.clone(), since: now })),
            (case_receipt_key(&id), to_json(&CaseReceipt { receipt_hash })),
        ];
        entries.extend(key_entries);
        store.set_many(&entries).unwrap();

        // Triage's own handover, natively.
        let request = http::Request::builder()
            .method("POST")
            .uri("/triage/internal/cases")
            .header("content-type", "application/json")
            .header("weerbaar-internal-secret", &self.internal_secret)
            .body(serde_json::to_vec(&json!({ "case_id": id })).unwrap())
            .unwrap();
        let ports = Ports { outbound: &Peers, clock: &self.clock, random: &self.random, variables: &self.triage };
        let response = triage::routes::handle(request, || Ok(store), ports);
        assert!(
            response.status().is_success(),
            "triage's handover of a filled case: {} {}",
            response.status(),
            String::from_utf8_lossy(response.body())
        );
        id.as_str().to_string()
    }
}

/// Runs `f` with the process's stdout and stderr sent to /dev/null: triage's native
/// router logs one line per request, which would bury the benchmark's table.
pub fn quietly<R>(f: impl FnOnce() -> R) -> R {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null").expect("/dev/null");
    // SAFETY: plain descriptor duplication; the saved descriptors are restored below.
    let saved = unsafe { (libc::dup(1), libc::dup(2)) };
    unsafe {
        libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 1);
        libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 2);
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    unsafe {
        libc::dup2(saved.0, 1);
        libc::dup2(saved.1, 2);
        libc::close(saved.0);
        libc::close(saved.1);
    }
    match r {
        Ok(r) => r,
        // The panic's own message went to /dev/null: say it again, audibly.
        Err(p) => {
            let message = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("while filling the store: {message}")
        }
    }
}
