//! A native harness: the real router on a Spin-like in-memory store, a manual clock,
//! seeded randomness and a scripted webhook receiver.
#![allow(dead_code)]

use notification::core::signing::{verify, SigningSecret};
use notification::routes;
use serde_json::{json, Value};
use shared::clock::ManualClock;
use shared::config::MapVariables;
use shared::crypto::base64_encode;
use shared::domain::{CaseStatus, Organisation, Priority, RegionCode};
use shared::events::{case_api_link, CaseEvent, CaseEventData, EventType};
use shared::id::{CaseId, EventId};
use shared::kv::memory::{CasMode, MemoryStore};
use shared::outbound::{FakeOutbound, OutboundError};
use shared::random::SeededRandom;
use shared::time::{Duration, Timestamp};
use shared::web::Ports;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

pub const ADMIN: &str = "admin-token-0123456789abcdef0123456789";
pub const INTERNAL: &str = "internal-secret-for-tests-0123456789";
pub const HOOK: &str = "http://127.0.0.1:9999/hook";

/// What the receiver answers next.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    StatusWithRetryAfter(u16, &'static str),
    /// A status with this body (the others answer `ok`).
    Body(u16, Vec<u8>),
    Down,
}

#[derive(Default)]
pub struct Script {
    pub queue: VecDeque<Reply>,
    pub otherwise: Option<Reply>,
    pub delay_ms: u64,
}

type Respond = Box<dyn Fn(&http::Request<Vec<u8>>) -> shared::outbound::Answer + Send + Sync>;

pub struct Harness {
    pub store: Arc<MemoryStore>,
    /// Every store write (and each webhook send, as `send`) while recording: see
    /// [`Harness::record`].
    pub ops: Arc<Mutex<Option<Vec<Op>>>>,
    pub clock: ManualClock,
    pub random: SeededRandom,
    pub vars: MapVariables,
    pub script: Arc<Mutex<Script>>,
    pub receiver: FakeOutbound<Respond>,
}

pub fn keys() -> String {
    format!("k1:{}", base64_encode(&[7u8; 32]))
}

impl Harness {
    pub fn new() -> Self {
        Harness::with_mode(CasMode::SqliteLike)
    }

    pub fn with_mode(mode: CasMode) -> Self {
        let script = Arc::new(Mutex::new(Script { otherwise: Some(Reply::Status(204)), ..Script::default() }));
        let s = script.clone();
        let ops: Arc<Mutex<Option<Vec<Op>>>> = Arc::new(Mutex::new(None));
        let sent = ops.clone();
        let respond: Respond = Box::new(move |_req| {
            if let Some(list) = sent.lock().unwrap().as_mut() {
                list.push(Op { kind: "send", key: String::new(), quota_writes: 0 });
            }
            let (reply, delay) = {
                let mut s = s.lock().unwrap();
                (s.queue.pop_front().or(s.otherwise.clone()).unwrap_or(Reply::Status(204)), s.delay_ms)
            };
            if delay > 0 {
                std::thread::sleep(std::time::Duration::from_millis(delay));
            }
            let build = |status: u16, retry: Option<&str>, body: Vec<u8>| {
                let mut b = http::Response::builder().status(status);
                if let Some(r) = retry {
                    b = b.header("retry-after", r);
                }
                Ok(b.body(body).unwrap())
            };
            match reply {
                Reply::Status(s) => build(s, None, b"ok".to_vec()),
                Reply::StatusWithRetryAfter(s, r) => build(s, Some(r), b"ok".to_vec()),
                Reply::Body(s, body) => build(s, None, body),
                Reply::Down => Err(OutboundError("connection refused".into())),
            }
        });
        Harness {
            store: Arc::new(MemoryStore::with_mode(mode)),
            ops,
            clock: ManualClock::at(Timestamp::parse("2026-11-28T12:00:00Z").unwrap()),
            random: SeededRandom::new(42),
            vars: MapVariables::from_pairs(&[
                ("webhook_keys", &keys()),
                ("record_mac_key", &shared::crypto::base64_encode(&[5u8; 32])),
                ("internal_secret", INTERNAL),
                ("admin_token", ADMIN),
                ("webhook_allowed_http_hosts", "127.0.0.1"),
                ("webhook_first_attempt_timeout_ms", "2000"),
                ("webhook_timeout_seconds", "15"),
                ("webhook_sweep_batch", "50"),
            ]),
            script,
            receiver: FakeOutbound::new(respond),
        }
    }

    /// Sets what the receiver answers from now on.
    pub fn receiver_answers(&self, reply: Reply) {
        let mut s = self.script.lock().unwrap();
        s.queue.clear();
        s.otherwise = Some(reply);
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// One request through the real router.
    pub fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> (u16, Value) {
        let (status, raw) = self.call_raw(method, path, headers, body);
        (status, serde_json::from_slice(&raw).unwrap_or(Value::Null))
    }

    /// One request; the raw body, for contract checks.
    pub fn call_raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> (u16, Vec<u8>) {
        let mut b = http::Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        let req = b.body(body.map(|v| serde_json::to_vec(v).unwrap()).unwrap_or_default()).unwrap();
        let ports = Ports { outbound: &self.receiver, clock: &self.clock, random: &self.random, variables: &self.vars };
        let store = Recording { inner: &self.store, ops: &self.ops };
        let resp = routes::handle(req, || Ok::<_, shared::kv::StoreError>(store), ports);
        (resp.status().as_u16(), resp.into_body())
    }

    pub fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let auth = format!("Bearer {ADMIN}");
        self.call(method, path, &[("authorization", &auth)], body)
    }

    /// Creates a subscription; returns (id, secret).
    pub fn subscribe(&self, extra: Value) -> (String, SigningSecret) {
        let mut body = json!({ "url": HOOK, "description": "desk" });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, v) = self.admin("POST", "/notification/subscriptions", Some(&body));
        assert_eq!(status, 201, "{v}");
        (v["id"].as_str().unwrap().to_string(), SigningSecret::parse(v["secret"].as_str().unwrap()).unwrap())
    }

    pub fn post_event(&self, event: &CaseEvent) -> (u16, Value) {
        let body = serde_json::to_value(event).unwrap();
        self.call("POST", "/notification/internal/events", &[("weerbaar-internal-secret", INTERNAL)], Some(&body))
    }

    pub fn sweep(&self) -> (u16, Value) {
        self.call("POST", "/notification/sweep", &[("weerbaar-internal-secret", INTERNAL)], None)
    }

    /// Every webhook the receiver got: (webhook-id, timestamp, signature header, body).
    pub fn received(&self) -> Vec<Received> {
        self.receiver
            .sent()
            .into_iter()
            .map(|r| {
                let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
                Received {
                    url: r.uri().to_string(),
                    id: h("webhook-id"),
                    timestamp: h("webhook-timestamp").parse().unwrap_or(0),
                    signature: h("webhook-signature"),
                    body: String::from_utf8(r.body().clone()).unwrap(),
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Received {
    pub url: String,
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
}

impl Received {
    pub fn verifies(&self, secret: &SigningSecret) -> bool {
        verify(secret, &self.signature, &self.id, self.timestamp, self.body.as_bytes())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A case event; `seed` makes its ids.
pub fn event(
    seed: u64,
    event_type: EventType,
    priority: Option<Priority>,
    org: Organisation,
    region: RegionCode,
) -> CaseEvent {
    let r = SeededRandom::new(seed);
    let case = CaseId::generate(&r);
    CaseEvent {
        id: EventId::generate(&r),
        event_type,
        timestamp: Timestamp::parse("2026-11-28T11:59:59Z").unwrap(),
        data: CaseEventData {
            api_link: case_api_link(&case),
            case_reference: case,
            priority,
            organisation: Some(org),
            region,
            status: CaseStatus::Triaged,
            first_contact_due: Some(Timestamp::parse("2026-11-28T12:15:00Z").unwrap()),
            escalation_level: None,
            unread_reporter_messages: None,
            check_in_id: None,
            check_in_due_at: None,
        },
    }
}

pub fn p1(seed: u64) -> CaseEvent {
    event(seed, EventType::CaseTriaged, Some(Priority::P1), Organisation::Ngb, RegionCode::Vr09)
}

impl Harness {
    pub fn clock_now_seconds(&self) -> i64 {
        use shared::clock::Clock;
        self.clock.now().unix_seconds()
    }

    /// Re-enables a subscription (reads its ETag first).
    pub fn enable(&self, id: &str) {
        let path = format!("/notification/subscriptions/{id}");
        let (_, v) = self.admin("GET", &path, None);
        let _ = v;
        let etag = self.etag(&path);
        let auth = format!("Bearer {ADMIN}");
        let (status, v) = self.call(
            "PATCH",
            &path,
            &[("authorization", &auth), ("if-match", &etag)],
            Some(&json!({ "enabled": true })),
        );
        assert_eq!(status, 200, "{v}");
    }

    /// The ETag of a GET.
    pub fn etag(&self, path: &str) -> String {
        let req = http::Request::builder()
            .method("GET")
            .uri(path)
            .header("authorization", format!("Bearer {ADMIN}"))
            .body(Vec::new())
            .unwrap();
        let ports = Ports { outbound: &self.receiver, clock: &self.clock, random: &self.random, variables: &self.vars };
        let store: &MemoryStore = &self.store;
        let resp = routes::handle(req, || Ok::<_, shared::kv::StoreError>(store), ports);
        resp.headers()["etag"].to_str().unwrap().to_string()
    }
}

/// One store write (a commit on Spin's SQLite store) or a webhook send, as recorded.
#[derive(Debug, Clone)]
pub struct Op {
    /// `increment`, `set`, `set_many`, `delete`, `delete_many`, `cas` or `send`.
    pub kind: &'static str,
    /// The key (the first key of a batch).
    pub key: String,
    /// Keys written (what a quota meter counts): one per key of a batch.
    pub quota_writes: usize,
}

impl Harness {
    /// Starts (`true`, clearing what was recorded) or stops recording store writes.
    pub fn record(&self, on: bool) {
        *self.ops.lock().unwrap() = on.then(Vec::new);
    }

    /// What was recorded so far; empties the record.
    pub fn take_ops(&self) -> Vec<Op> {
        self.ops.lock().unwrap().as_mut().map(std::mem::take).unwrap_or_default()
    }
}

/// The harness's store as the component sees it: the memory store, recording writes.
#[derive(Clone, Copy)]
pub struct Recording<'a> {
    inner: &'a MemoryStore,
    ops: &'a Mutex<Option<Vec<Op>>>,
}

impl Recording<'_> {
    fn note(&self, kind: &'static str, key: &str, quota_writes: usize) {
        if let Some(list) = self.ops.lock().unwrap().as_mut() {
            list.push(Op { kind, key: key.to_string(), quota_writes });
        }
    }
}

impl shared::kv::KeyValue for Recording<'_> {
    type Cas = <MemoryStore as shared::kv::KeyValue>::Cas;
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, shared::kv::StoreError> {
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), shared::kv::StoreError> {
        self.note("set", key, 1);
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), shared::kv::StoreError> {
        self.note("delete", key, 1);
        self.inner.delete(key)
    }
    fn exists(&self, key: &str) -> Result<bool, shared::kv::StoreError> {
        self.inner.exists(key)
    }
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, shared::kv::StoreError> {
        self.inner.get_many(keys)
    }
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), shared::kv::StoreError> {
        self.note("set_many", entries.first().map(|e| e.0.as_str()).unwrap_or(""), entries.len());
        self.inner.set_many(entries)
    }
    fn delete_many(&self, keys: &[String]) -> Result<(), shared::kv::StoreError> {
        self.note("delete_many", keys.first().map(|k| k.as_str()).unwrap_or(""), keys.len());
        self.inner.delete_many(keys)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, shared::kv::StoreError> {
        self.note("increment", key, 1);
        self.inner.increment(key, delta)
    }
    fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), shared::kv::StoreError> {
        self.inner.cas_begin(key)
    }
    fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<shared::kv::Swap, shared::kv::StoreError> {
        self.note("cas", "", 1);
        self.inner.cas_swap(cas, value)
    }
}
