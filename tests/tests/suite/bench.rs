//! The benchmark of issue 16: how fast, how small, how many store operations, and how
//! cost grows. A measurement, not a test: it prints one table and writes JSON under
//! `target/bench/`, asserting nothing about time. Run it with `tests/bench` (which
//! builds the components and an optimised host first); `WEERBAAR_BENCH_QUICK=1` for a
//! short trial run.
//!
//! The app runs on Spin's default store as `spin up` has it (a SQLite file, one
//! connection for the whole app), on the faithful host of `docs/spin-host.md`
//! ("Concurrency and timing"). Every figure is set beside the trivial component
//! (`tests/fixtures/probe`, `?do=noop`: a spin-sdk 5.2 component built the same way)
//! measured in the same run with the same client, right before it, so that noise on
//! this shared machine hits both alike.
mod fill;
mod listing;

use crate::e2e::callers::{issue, subscribe};
use crate::e2e::receiver::Receiver;
use crate::e2e::{self, ADMIN_TOKEN, INTERNAL_SECRET};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use weerbaar_tests::{count_commits, OpKind, Options, StoreBacking, StoreOp, TestApp};

/// How long and how often; the quick mode only shows that everything runs.
struct Plan {
    quick: bool,
    /// Time per measurement of one variant at one concurrency.
    window: Duration,
    /// Interleaved rounds (trivial, then the endpoint) per figure.
    rounds: usize,
    /// Requests whose store operations are counted per endpoint.
    counted: usize,
    p1_reports: usize,
    due_messages: usize,
    member_sizes: Vec<usize>,
    /// Stored cases for the growth of listing, read and stats.
    case_sizes: Vec<usize>,
    /// How long to wait for a window's reports to finish their chain.
    drain_deadline: Duration,
}

impl Plan {
    fn from_env() -> Plan {
        if std::env::var("WEERBAAR_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0") {
            Plan {
                quick: true,
                window: Duration::from_millis(700),
                rounds: 1,
                counted: 3,
                p1_reports: 20,
                due_messages: 100,
                member_sizes: vec![100, 1_000],
                case_sizes: vec![1_000, 10_000],
                drain_deadline: Duration::from_secs(30),
            }
        } else {
            Plan {
                quick: false,
                window: Duration::from_secs(4),
                rounds: 2,
                counted: 10,
                p1_reports: 200,
                due_messages: 100,
                member_sizes: vec![100, 1_000, 10_000],
                case_sizes: vec![1_000, 10_000, 100_000],
                drain_deadline: Duration::from_secs(60),
            }
        }
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn bench_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh SQLite file as `spin up` keeps `.spin/sqlite_key_value.db`.
fn spin_default_store(name: &str) -> StoreBacking {
    let path = bench_dir().join(format!("{name}-{}.db", std::process::id()));
    for suffix in ["", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    StoreBacking::File(path)
}

fn remove_store(backing: &StoreBacking) {
    if let StoreBacking::File(path) = backing {
        for suffix in ["", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}

fn app_options(store: StoreBacking) -> Options {
    let mut o = e2e::webhook_options()
        .variable("submission_limit_per_hour", "100000000")
        .variable("receipt_lookup_limit", "100000000")
        .variable("webhook_sweep_batch", "100");
    o.store = store;
    o
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// One request as a client sends it; returns the status.
fn send(agent: &ureq::Agent, method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> u16 {
    send_full(agent, method, url, headers, body).0
}

/// One request as a client sends it; returns the status and the body.
fn send_full(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> (u16, Vec<u8>) {
    let mut b = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let r = match body {
        Some(bytes) => agent.run(b.header("content-type", "application/json").body(bytes.to_vec()).unwrap()),
        None => agent.run(b.body(()).unwrap()),
    };
    match r {
        Ok(mut resp) => {
            let body = resp.body_mut().read_to_vec().unwrap_or_default();
            (resp.status().as_u16(), body)
        }
        Err(_) => (0, Vec::new()),
    }
}

/// One request of a client (its agent, the request's number); returns the status.
type Request<'a> = Box<dyn Fn(&ureq::Agent, usize) -> u16 + Sync + 'a>;

/// What one endpoint does per request, and the status that means it worked.
struct Endpoint<'a> {
    name: &'static str,
    ok: u16,
    /// The numbers of concurrent clients it is measured with.
    clients: &'static [usize],
    /// What finishes the work a request starts (for intake's chain).
    chain: Chain,
    request: Request<'a>,
}

/// When the work a request started is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chain {
    /// With the response.
    None,
    /// A P1 report: when the subscriber's `case.triaged` webhook has arrived and no
    /// guest instance of the app runs any more.
    Webhook,
    /// A P3 report, which no subscription hears: when the case is triaged and no guest
    /// instance of the app runs any more (the events are with notification).
    Triaged,
}

impl Chain {
    fn short(self) -> &'static str {
        match self {
            Chain::None => "-",
            Chain::Webhook => "P1",
            Chain::Triaged => "P3",
        }
    }
}

/// The chain's side of an intake row: reports filed in the windows, how many finished
/// their chain, and how long windows and drains took.
#[derive(Debug, Default, Clone)]
struct ChainLoad {
    reports: usize,
    completed: usize,
    window_seconds: f64,
    drain_seconds: f64,
}

impl ChainLoad {
    /// Chains finished per second, over the windows and the drains after them.
    fn rate(&self) -> f64 {
        self.completed as f64 / (self.window_seconds + self.drain_seconds).max(1e-9)
    }
}

/// The webhooks seen so far, by case reference, read from the receiver incrementally.
#[derive(Default)]
struct Arrivals {
    read: usize,
    cases: BTreeMap<String, Instant>,
}

impl Arrivals {
    fn update(&mut self, receiver: &Receiver) {
        let state = receiver.state.lock().unwrap();
        for hit in &state.hits[self.read..] {
            if let Some(case) = hit.json()["data"]["case_reference"].as_str() {
                self.cases.entry(case.to_string()).or_insert(hit.at);
            }
        }
        self.read = state.hits.len();
    }
}

/// How a drain ended.
struct Drained {
    completed: usize,
    drain: Duration,
}

/// Waits until the chain of every one of `cases` has finished (see [`Chain`]), or until
/// no guest instance runs any more (what is unfinished then waits for a sweep), at most
/// `deadline`.
fn wait_chain(
    app: &TestApp,
    receiver: &Receiver,
    arrivals: &mut Arrivals,
    chain: Chain,
    cases: &[String],
    deadline: Duration,
) -> Drained {
    let started = Instant::now();
    let mut open: BTreeSet<&str> = cases.iter().map(String::as_str).collect();
    loop {
        // Sampled before the results are looked at: when nothing ran then, what is not
        // finished now never will be without a sweep.
        let idle = app.running_instances() == 0;
        match chain {
            Chain::None => open.clear(),
            Chain::Webhook => {
                arrivals.update(receiver);
                open.retain(|c| !arrivals.cases.contains_key(*c));
            }
            Chain::Triaged => open.retain(|c| {
                let stored = app.kv_get("default", &format!("case/{c}"));
                let record: Option<Value> = stored.and_then(|b| serde_json::from_slice(&b).ok());
                record.is_none_or(|r| r["data"]["assessment"].is_null())
            }),
        }
        // Finished means all of it: nothing the reports started still runs (a P1's
        // notification records the delivery after sending the webhook). Reports still
        // open when nothing runs any more were left for the sweeps: unfinished.
        if idle || chain == Chain::None || started.elapsed() >= deadline {
            return Drained { completed: cases.len() - open.len(), drain: started.elapsed() };
        }
        std::thread::sleep(Duration::from_millis(if chain == Chain::Triaged { 20 } else { 2 }));
    }
}

/// Throughput and latency of `clients` clients for `window`.
#[derive(Default, Clone)]
struct Load {
    requests: usize,
    failed: usize,
    /// Requests that took 5 s or more: they waited out a timeout.
    slow: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

impl Load {
    fn add(&mut self, other: Load) {
        self.requests += other.requests;
        self.failed += other.failed;
        self.slow += other.slow;
        self.seconds += other.seconds;
        self.latencies.extend(other.latencies);
    }

    fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }

    fn pct(&self, p: f64) -> f64 {
        let mut l = self.latencies.clone();
        l.sort();
        if l.is_empty() {
            return f64::NAN;
        }
        let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
        l[i].as_secs_f64() * 1000.0
    }
}

fn load(clients: usize, window: Duration, e: &Endpoint) -> Load {
    load_at_least(clients, window, e, 0)
}

/// [`load`], each client sending at least `min` requests even if the window is over.
fn load_at_least(clients: usize, window: Duration, e: &Endpoint, min: usize) -> Load {
    let counter = AtomicUsize::new(0);
    let started = Instant::now();
    let until = started + window;
    let parts: Vec<Load> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                s.spawn(|| {
                    let agent = agent();
                    let mut mine = Load::default();
                    while Instant::now() < until || mine.requests < min {
                        let i = counter.fetch_add(1, Ordering::Relaxed);
                        let t = Instant::now();
                        let status = (e.request)(&agent, i);
                        let took = t.elapsed();
                        mine.requests += 1;
                        mine.failed += usize::from(status != e.ok);
                        mine.slow += usize::from(took >= Duration::from_secs(5));
                        mine.latencies.push(took);
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total = Load { seconds: started.elapsed().as_secs_f64(), ..Load::default() };
    for p in parts {
        total.requests += p.requests;
        total.failed += p.failed;
        total.slow += p.slow;
        total.latencies.extend(p.latencies);
    }
    total
}

/// Store operations per request, by kind, and by component and kind.
#[derive(Default)]
struct OpCount {
    per_kind: BTreeMap<&'static str, f64>,
    per_component: BTreeMap<String, BTreeMap<&'static str, f64>>,
}

fn kind_name(k: OpKind) -> &'static str {
    match k {
        OpKind::Read => "reads",
        OpKind::Write => "writes",
        OpKind::Cas => "cas",
        OpKind::Increment => "increments",
        OpKind::CounterRead => "counter_reads",
        OpKind::ListKeys => "key_listings",
    }
}

/// Counts `ops` per request: each kind by key, and `commits`, the store transactions
/// (one per host call that writes, however many keys: `weerbaar_tests::count_commits`).
fn count_ops(ops: &[StoreOp], requests: usize) -> OpCount {
    let mut c = OpCount::default();
    for k in ["reads", "counter_reads", "writes", "cas", "increments", "key_listings"] {
        c.per_kind.insert(k, 0.0);
    }
    let per = 1.0 / requests.max(1) as f64;
    for op in ops {
        let k = kind_name(op.kind);
        *c.per_kind.entry(k).or_default() += per;
        *c.per_component.entry(op.component.clone()).or_default().entry(k).or_default() += per;
    }
    c.per_kind.insert("commits", count_commits(ops) as f64 * per);
    let components: BTreeSet<String> = ops.iter().map(|op| op.component.clone()).collect();
    for component in components {
        let mine: Vec<StoreOp> = ops.iter().filter(|op| op.component == component).cloned().collect();
        c.per_component.entry(component).or_default().insert("commits", count_commits(&mine) as f64 * per);
    }
    c
}

impl OpCount {
    fn get(&self, k: &str) -> f64 {
        self.per_kind.get(k).copied().unwrap_or(0.0)
    }

    /// What a store quota counts as a write: writes, swaps and increments.
    fn quota_writes(&self) -> f64 {
        self.get("writes") + self.get("cas") + self.get("increments")
    }

    fn json(&self) -> Value {
        json!({ "per_request": self.per_kind, "quota_writes_per_request": self.quota_writes(),
                "per_component": self.per_component })
    }
}

/// A key with its ids, hashes and numbers replaced by what they are, so that the keys
/// of a request read as a list of purposes.
/// A store key with its ids, slots and hashes replaced by their kind, for printing.
pub(crate) fn key_shape(key: &str) -> String {
    key.split('/')
        .map(|seg| {
            for kind in ["case_", "mem_", "sub_", "msg_", "evt_", "tok_", "chk_"] {
                if seg.starts_with(kind) && seg.len() > kind.len() + 8 {
                    return format!("<{}id>", kind);
                }
            }
            if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) {
                return "<n>".to_string();
            }
            if seg.len() >= 16 && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return "<hash>".to_string();
            }
            seg.to_string()
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A P1 report: a mayor threatened, in danger now; the run's pager hears it.
pub(crate) fn p1_report(n: usize) -> Vec<u8> {
    report(n, "threat_of_violence", true, "man dreigt terug te komen.")
}

/// A P3 report: a mayor intimidated, no danger now; no subscription of the run hears it.
fn p3_report(n: usize) -> Vec<u8> {
    report(n, "intimidation", false, "iemand schold me uit bij de markt.")
}

fn report(n: usize, incident: &str, immediate_danger: bool, what: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "role": "mayor", "relation": "self", "region": "VR09", "municipality": "Wijk bij Duurstede",
        "request_kind": "incident", "incident_kinds": [incident], "immediate_danger": immediate_danger,
        "description": format!("Benchmark melding {n}: {what}"),
        "contact": { "channel": "phone", "phone": "+31 6 12345678" }, "language": "nl"
    }))
    .unwrap()
}

/// Subscribes the coordinators' pager at `receiver` to P1 `case.triaged` events.
pub(crate) fn subscribe_p1_pager(app: &TestApp, receiver: &Receiver) {
    let sub = subscribe(
        app,
        ADMIN_TOKEN,
        json!({ "url": receiver.url("/pager"), "description": "coordinators",
                "event_types": ["case.triaged"], "min_priority": "P1" }),
    );
    assert_eq!(sub.status, 201, "{}", sub.body);
}

/// Member `i` of the benchmark's directory: 40% peers, 60% experts of one kind, one
/// region each.
pub(crate) fn member(i: usize) -> Value {
    let regions: Vec<&str> = shared::domain::RegionCode::ALL.iter().map(|r| r.as_str()).collect();
    let region = regions[(i * 7) % regions.len()];
    let kinds = ["security", "legal", "aftercare"];
    if i % 5 < 2 {
        let role = ["mayor", "alderman", "council_member"][i % 3];
        json!({
            "name": format!("P{i}"), "kind": "peer", "role": role,
            "organisation": "nvvr", "municipality": format!("Gemeente {}", i % 340),
            "regions": [region], "languages": ["nl"], "capacity": 3,
            "contact": { "email": format!("p{i}@example.org"), "phone": "+31 6 55501234" }
        })
    } else {
        json!({
            "name": format!("E{i}"), "kind": "expert", "expertise": [kinds[i % 3]], "specialties": ["aangifte"],
            "regions": [region], "languages": ["nl"], "capacity": 1 + (i % 5), "contact": { "phone": "+31 6 55509876" }
        })
    }
}

/// Imports members `from..to` through the admin API (150 a request).
fn import_members(app: &TestApp, from: usize, to: usize) {
    let agent = agent();
    let url = format!("{}/directory/members/import", app.url());
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let all: Vec<Value> = (from..to).map(member).collect();
    for batch in all.chunks(150) {
        let body = serde_json::to_vec(&json!(batch)).unwrap();
        assert_eq!(send(&agent, "POST", &url, &[("authorization", &auth)], Some(&body)), 201);
    }
}

fn match_body(i: usize) -> Vec<u8> {
    let regions: Vec<&str> = shared::domain::RegionCode::ALL.iter().map(|r| r.as_str()).collect();
    serde_json::to_vec(&json!({
        "role": "mayor", "region": regions[i % regions.len()], "municipality": "Gemeente 1",
        "needs": ["peer", "security"], "language": "nl"
    }))
    .unwrap()
}

fn wasm_sizes() -> Vec<(String, u64)> {
    let dir = workspace().join("target/wasm32-wasip2/release");
    ["intake", "triage", "directory", "notification", "probe"]
        .iter()
        .map(|c| (c.to_string(), std::fs::metadata(dir.join(format!("{c}.wasm"))).map(|m| m.len()).unwrap_or(0)))
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct_of(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if values.is_empty() {
        return f64::NAN;
    }
    values[((values.len() as f64 * p).ceil() as usize).clamp(1, values.len()) - 1]
}

#[test]
#[ignore = "a measurement; run with tests/bench (prints figures instead of asserting behaviour)"]
fn issue_16_benchmark() {
    let plan = Plan::from_env();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut report = json!({
        "mode": if plan.quick { "quick" } else { "full" },
        "machine": { "cores": cores, "loadavg_at_start": load_avg.trim() },
        "store": "Spin's default SQLite file store (one connection, block_in_place per operation)",
    });

    // The trivial component, in an app of its own on the same host.
    let trivial_app = TestApp::start(crate::common::probe_options()).expect("the probe app starts");
    let trivial_url = format!("{}/probe?do=noop", trivial_app.url());
    let trivial = Endpoint {
        name: "trivial",
        ok: 200,
        clients: &[1, 16],
        chain: Chain::None,
        request: Box::new(|a, _| send(a, "GET", &trivial_url, &[], None)),
    };

    // The project's app on a SQLite file, with a webhook receiver for P1s.
    let store = spin_default_store("app");
    let mut o = app_options(store.clone());
    o.echo_logs = false;
    let app = TestApp::start(o).expect("the app starts");
    let receiver = Receiver::start();
    receiver.answer(200, None);
    subscribe_p1_pager(&app, &receiver);
    let confidant =
        issue(&app, ADMIN_TOKEN, json!({"organisation": "ngb", "role": "confidant", "holder": "Bench desk"}));
    let members = if plan.quick { 100 } else { 1_000 };
    import_members(&app, 0, members);
    let filed = e2e::post_json(&app, "/intake/reports", &serde_json::from_slice(&p1_report(0)).unwrap());
    assert_eq!(filed.status, 201, "{}", filed.body);
    let case_id = filed.body["case_reference"].as_str().unwrap().to_string();
    let receipt = filed.body["receipt_code"].as_str().unwrap().to_string();

    let base = app.url();
    let auth = format!("Bearer {confidant}");
    let status_body = serde_json::to_vec(&json!({ "receipt_code": receipt })).unwrap();
    let submit_url = format!("{base}/intake/reports");
    let status_url = format!("{base}/intake/reports/status");
    let list_url = format!("{base}/triage/cases");
    let read_url = format!("{base}/triage/cases/{case_id}");
    let match_url = format!("{base}/directory/internal/match");
    // The case references intake answered, for following each report's chain.
    let filed: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let submit = |a: &ureq::Agent, body: Vec<u8>| -> u16 {
        let (status, reply) = send_full(a, "POST", &submit_url, &[], Some(&body));
        if (200..300).contains(&status) {
            if let Some(case) = serde_json::from_slice::<Value>(&reply)
                .ok()
                .and_then(|v| v["case_reference"].as_str().map(str::to_string))
            {
                filed.lock().unwrap().push(case);
            }
        }
        status
    };
    let endpoints = [
        Endpoint {
            name: "intake submit, P1 (full chain)",
            ok: 201,
            clients: &[1, 16],
            chain: Chain::Webhook,
            request: Box::new(|a, i| submit(a, p1_report(i + 1))),
        },
        Endpoint {
            name: "reporter status lookup",
            ok: 200,
            clients: &[1, 16],
            chain: Chain::None,
            request: Box::new(|a, _| send(a, "POST", &status_url, &[], Some(&status_body))),
        },
        Endpoint {
            name: "confidant case listing",
            ok: 200,
            clients: &[1, 16],
            chain: Chain::None,
            request: Box::new(|a, _| send(a, "GET", &list_url, &[("authorization", &auth)], None)),
        },
        Endpoint {
            name: "confidant case read",
            ok: 200,
            clients: &[1, 16],
            chain: Chain::None,
            request: Box::new(|a, _| send(a, "GET", &read_url, &[("authorization", &auth)], None)),
        },
        Endpoint {
            name: "directory match (2 needs)",
            ok: 200,
            clients: &[1, 16],
            chain: Chain::None,
            request: Box::new(|a, i| {
                send(a, "POST", &match_url, &[("weerbaar-internal-secret", INTERNAL_SECRET)], Some(&match_body(i)))
            }),
        },
        Endpoint {
            name: "intake submit, P3 (full chain)",
            ok: 201,
            clients: &[16],
            chain: Chain::Triaged,
            request: Box::new(|a, i| submit(a, p3_report(i + 1))),
        },
    ];
    let mut arrivals = Arrivals::default();

    // Store operations per request, one client, nothing else running. A request's
    // count includes what its instances (and their callees) do after answering: the
    // record is taken once the chain of every counted report has finished.
    let mut ops_json = serde_json::Map::new();
    let mut op_counts = Vec::new();
    let mut chain_writes: Vec<(String, String, OpKind, u64)> = Vec::new();
    let mut unfinished_while_counting = 0usize;
    {
        let a = agent();
        for (n, e) in endpoints.iter().enumerate() {
            filed.lock().unwrap().clear();
            app.record(true);
            for i in 0..plan.counted {
                assert_eq!((e.request)(&a, 1_000_000 + n * 100_000 + i), e.ok, "{}", e.name);
            }
            let cases = std::mem::take(&mut *filed.lock().unwrap());
            let done = wait_chain(&app, &receiver, &mut arrivals, e.chain, &cases, plan.drain_deadline);
            unfinished_while_counting += cases.len() - done.completed;
            // Whatever any endpoint's instances do after answering counts too.
            app.settle_all(plan.drain_deadline);
            let ops = app.take_store_ops();
            app.record(false);
            if n == 0 {
                // The writes of one P1 chain, in order: each is listed with its purpose.
                app.record(true);
                assert_eq!((e.request)(&a, 2_000_000), e.ok);
                let cases = std::mem::take(&mut *filed.lock().unwrap());
                let done = wait_chain(&app, &receiver, &mut arrivals, e.chain, &cases, plan.drain_deadline);
                unfinished_while_counting += cases.len() - done.completed;
                app.settle_all(plan.drain_deadline);
                chain_writes = app
                    .take_store_ops()
                    .into_iter()
                    .filter(|op| op.kind.commits() && op.kind != OpKind::CounterRead)
                    .map(|op| (op.component, key_shape(&op.key), op.kind, op.call))
                    .collect();
                app.record(false);
            }
            let c = count_ops(&ops, plan.counted);
            ops_json.insert(e.name.to_string(), c.json());
            op_counts.push(c);
        }
    }

    // Throughput and latency, trivial and endpoint interleaved. For the intake chain,
    // each window is followed by a drain: until every report of the window has finished
    // its chain (the webhook arrived; a P3 is triaged and no instance runs any more).
    let mut rows = Vec::new();
    let mut phases: BTreeMap<(usize, String), Vec<f64>> = BTreeMap::new();
    let mut collapse_logs = 0usize;
    for e in endpoints.iter() {
        for &clients in e.clients {
            let (mut t, mut m) = (Load::default(), Load::default());
            let mut chain = (e.chain != Chain::None).then(ChainLoad::default);
            for _ in 0..plan.rounds {
                t.add(load(clients, plan.window, &trivial));
                if e.chain != Chain::None {
                    app.record(true);
                    filed.lock().unwrap().clear();
                }
                let window = load(clients, plan.window, e);
                if let Some(chain) = chain.as_mut() {
                    let cases = std::mem::take(&mut *filed.lock().unwrap());
                    let done = wait_chain(&app, &receiver, &mut arrivals, e.chain, &cases, plan.drain_deadline);
                    chain.reports += cases.len();
                    chain.completed += done.completed;
                    chain.window_seconds += window.seconds;
                    chain.drain_seconds += done.drain.as_secs_f64();
                    for timing in app.take_request_timings() {
                        phases
                            .entry((clients, format!("{} {} ({})", timing.component, timing.path, e.chain.short())))
                            .or_default()
                            .push(ms(timing.took));
                    }
                    let _ = app.take_store_ops();
                    app.record(false);
                }
                m.add(window);
            }
            rows.push((e.name, clients, t, m, chain));
        }
        if e.chain != Chain::None {
            collapse_logs = app.logs_text().matches("StreamError::Closed").count();
        }
    }

    // A webhook sweep with 100 due messages: a notification-only app whose receiver
    // refused the first attempts, 10 s later (the first retry step is 5 s).
    let sweep_store = spin_default_store("sweep");
    let mut so = app_options(sweep_store.clone()).only(&["notification"]);
    so.echo_logs = false;
    let sweep_app = TestApp::start(so).expect("the notification app starts");
    let sweep_receiver = Receiver::start();
    let sweep_sub = e2e::staff(
        &sweep_app,
        ADMIN_TOKEN,
        "POST",
        "/notification/subscriptions",
        &[],
        Some(json!({ "url": sweep_receiver.url("/hooks"), "description": "sweep bench" })),
    );
    assert_eq!(sweep_sub.status, 201, "{}", sweep_sub.body);
    let mut sweep_runs = Vec::new();
    let mut sweep_ops = None;
    let sweep_rounds = if plan.quick { 1 } else { 3 };
    for round in 0..sweep_rounds {
        sweep_receiver.answer(503, None);
        for k in 0..plan.due_messages {
            crate::e2e::callers::post_event(&sweep_app, &case_event(round * 10_000 + k));
        }
        sweep_receiver.answer(200, None);
        sweep_app.advance_clock(Duration::from_secs(10));
        let tl = load(1, plan.window / 4, &trivial);
        sweep_app.record(true);
        let t = Instant::now();
        let r = e2e::call(
            &sweep_app,
            "POST",
            "/notification/sweep",
            &[("weerbaar-internal-secret", INTERNAL_SECRET)],
            None,
        );
        let took = t.elapsed();
        assert_eq!(r.status, 200, "{}", r.body);
        let ops = sweep_app.take_store_ops();
        sweep_app.record(false);
        sweep_runs.push((took, r.body["delivered"].as_u64().unwrap_or(0), tl.pct(0.5)));
        sweep_ops = Some(count_ops(&ops, 1));
        // Everything delivered, so the next round starts from nothing due.
        sweep_app.advance_clock(Duration::from_secs(3600));
        let _ = e2e::call(
            &sweep_app,
            "POST",
            "/notification/sweep",
            &[("weerbaar-internal-secret", INTERNAL_SECRET)],
            None,
        );
    }
    drop(sweep_app);
    remove_store(&sweep_store);

    // P1 intake request to webhook received, one client, one report at a time: each
    // report's webhook (which may come after intake answered) and the end of every
    // instance it started are awaited before the next report.
    let mut p1 = Vec::new();
    let mut p1_answered = Vec::new();
    {
        let a = agent();
        for i in 0..plan.p1_reports {
            let body = p1_report(3_000_000 + i);
            let started = Instant::now();
            let (status, reply) = send_full(&a, "POST", &submit_url, &[], Some(&body));
            let answered = started.elapsed();
            if !(200..300).contains(&status) {
                continue;
            }
            p1_answered.push(ms(answered));
            let reply: Value = serde_json::from_slice(&reply).unwrap();
            let case = reply["case_reference"].as_str().unwrap().to_string();
            let cases = [case.clone()];
            wait_chain(&app, &receiver, &mut arrivals, Chain::Webhook, &cases, Duration::from_secs(10));
            if let Some(at) = arrivals.cases.get(&case) {
                p1.push(ms(at.duration_since(started)));
            }
            app.settle_all(Duration::from_secs(10));
        }
    }
    let p1_delivered = p1.len();
    let (p1_p50, p1_p99) = (pct_of(&mut p1, 0.5), pct_of(&mut p1, 0.99));
    let (p1_answer_p50, p1_answer_p99) = (pct_of(&mut p1_answered, 0.5), pct_of(&mut p1_answered, 0.99));
    drop(app);
    remove_store(&store);

    // Growth: matching at 100 / 1,000 / 10,000 members, directory alone.
    let growth_store = spin_default_store("growth");
    let mut go = app_options(growth_store.clone()).only(&["directory"]);
    go.echo_logs = false;
    let growth_app = TestApp::start(go).expect("the directory app starts");
    let mut growth = Vec::new();
    let mut have = 0;
    for &size in &plan.member_sizes {
        import_members(&growth_app, have, size);
        have = size;
        let url = format!("{}/directory/internal/match", growth_app.url());
        let e = Endpoint {
            name: "match",
            ok: 200,
            clients: &[1],
            chain: Chain::None,
            request: Box::new(move |a, i| {
                send(a, "POST", &url, &[("weerbaar-internal-secret", INTERNAL_SECRET)], Some(&match_body(i)))
            }),
        };
        let t = load(1, plan.window / 2, &trivial);
        growth_app.record(true);
        let m = load(1, plan.window / 2, &e);
        let ops = growth_app.take_store_ops();
        growth_app.record(false);
        growth.push((size, t, count_ops(&ops, m.requests.max(1)), m));
    }
    drop(growth_app);
    remove_store(&growth_store);

    // Growth: case listing, case read and statistics at 1,000 / 10,000 / 100,000 stored
    // cases, intake and triage alone. The cases are written straight into the store in
    // the components' format (bench/fill.rs), each size on top of the last, and checked
    // to be real to the triage component before they are measured.
    let cases_store = spin_default_store("cases");
    let mut co = app_options(cases_store.clone()).only(&["intake", "triage"]);
    co.echo_logs = false;
    let cases_app = TestApp::start(co).expect("the intake and triage app starts");
    let ngb_confidant =
        issue(&cases_app, ADMIN_TOKEN, json!({"organisation": "ngb", "role": "confidant", "holder": "Bench desk"}));
    let largest = plan.case_sizes.iter().copied().max().unwrap_or(0);
    let mut filler = fill::CaseFill::new(&cases_app, Duration::from_millis(100 * largest as u64 + 600_000));
    let mut case_growth = Vec::new();
    for &size in &plan.case_sizes {
        let started = Instant::now();
        fill::quietly(|| filler.fill_to(&cases_app, size, 2_000));
        let fill_seconds = started.elapsed().as_secs_f64();
        let base = cases_app.url();
        let auth = format!("Bearer {ngb_confidant}");
        let admin = format!("Bearer {ADMIN_TOKEN}");
        // Real to triage: the newest filled case of NGB's heads NGB's listing, a filled
        // case reads, the statistics answer.
        let listing = e2e::staff(&cases_app, &ngb_confidant, "GET", "/triage/cases", &[], None);
        assert_eq!(listing.status, 200, "{}", listing.body);
        assert_eq!(
            listing.body["cases"][0]["case_id"].as_str(),
            filler.newest_ngb.as_deref(),
            "the listing starts with the newest filled case"
        );
        let sample = filler.sample.clone();
        let read = e2e::staff(&cases_app, &ngb_confidant, "GET", &format!("/triage/cases/{}", sample[0]), &[], None);
        assert_eq!(read.status, 200, "{}", read.body);
        let list_url = format!("{base}/triage/cases");
        let stats_url = format!("{base}/triage/stats");
        let read_urls: Vec<String> = sample.iter().map(|id| format!("{base}/triage/cases/{id}")).collect();
        let growth_endpoints = [
            Endpoint {
                name: "confidant case listing",
                ok: 200,
                clients: &[1],
                chain: Chain::None,
                request: Box::new(|a, _| send(a, "GET", &list_url, &[("authorization", &auth)], None)),
            },
            Endpoint {
                name: "confidant case read",
                ok: 200,
                clients: &[1],
                chain: Chain::None,
                // NGB's cases spread over the fill, in turn.
                request: Box::new(|a, i| {
                    send(a, "GET", &read_urls[i % read_urls.len()], &[("authorization", &auth)], None)
                }),
            },
            Endpoint {
                name: "statistics (admin)",
                ok: 200,
                clients: &[1],
                chain: Chain::None,
                request: Box::new(|a, _| send(a, "GET", &stats_url, &[("authorization", &admin)], None)),
            },
        ];
        for e in &growth_endpoints {
            // One request first, untimed: the first after a fill reads a cold page cache.
            assert_eq!((e.request)(&agent(), 0), e.ok, "{} at {size} cases", e.name);
            let t = load(1, plan.window / 2, &trivial);
            // One client, so the operations recorded in the window are those of its
            // requests (a statistics request may take seconds: no separate count).
            cases_app.record(true);
            let m = load_at_least(1, plan.window / 2, e, 3);
            cases_app.settle_all(plan.drain_deadline);
            let ops = cases_app.take_store_ops();
            cases_app.record(false);
            case_growth.push((e.name, size, fill_seconds, t, count_ops(&ops, m.requests), m));
        }
    }
    drop(cases_app);
    remove_store(&cases_store);

    // ---------------------------------------------------------------- the table
    let mut out = String::new();
    let line = |out: &mut String, s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(&mut out, String::new());
    line(
        &mut out,
        format!(
            "weerbaar benchmark ({} mode), {cores} cores, load average at start {}",
            if plan.quick { "quick" } else { "full" },
            load_avg.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        ),
    );
    line(
        &mut out,
        "Throughput and latency (ratios: to the trivial component measured right before, same clients)".into(),
    );
    line(
        &mut out,
        format!(
            "{:<32} {:>3} {:>9} {:>7} {:>9} {:>9} {:>7} {:>6} {:>6} {:>9}",
            "request", "c", "req/s", "ratio", "p50 ms", "p99 ms", "p50 x", "fail", ">=5s", "trivial/s"
        ),
    );
    let mut rows_json = Vec::new();
    for (name, clients, t, m, chain) in &rows {
        line(
            &mut out,
            format!(
                "{:<32} {:>3} {:>9.1} {:>7.3} {:>9.1} {:>9.1} {:>7.1} {:>6} {:>6} {:>9.0}",
                name,
                clients,
                m.rps(),
                m.rps() / t.rps(),
                m.pct(0.5),
                m.pct(0.99),
                m.pct(0.5) / t.pct(0.5),
                m.failed,
                m.slow,
                t.rps()
            ),
        );
        rows_json.push(json!({
            "request": name, "clients": clients, "requests": m.requests, "requests_per_s": m.rps(),
            "ratio_to_trivial": m.rps() / t.rps(), "p50_ms": m.pct(0.5), "p99_ms": m.pct(0.99),
            "p50_ratio_to_trivial": m.pct(0.5) / t.pct(0.5), "failed": m.failed, "took_5s_or_more": m.slow,
            "trivial_requests_per_s": t.rps(), "trivial_p50_ms": t.pct(0.5), "trivial_p99_ms": t.pct(0.99),
            "chain": chain.as_ref().map(|c| json!({
                "reports": c.reports, "completed": c.completed, "window_s": c.window_seconds,
                "drain_s": c.drain_seconds, "completions_per_s": c.rate(),
                "completions_ratio_to_trivial": c.rate() / t.rps(),
            })),
        }));
    }
    for (took, delivered, trivial_p50) in &sweep_runs {
        line(
            &mut out,
            format!(
                "{:<32} {:>3} {:>9.1} {:>7} {:>9.1} {:>9} {:>7.0} {:>6} {:>6} {:>9}",
                format!("webhook sweep, {} due", plan.due_messages),
                1,
                1000.0 / ms(*took),
                "",
                ms(*took),
                "",
                ms(*took) / trivial_p50,
                if *delivered as usize == plan.due_messages { 0 } else { 1 },
                usize::from(*took >= Duration::from_secs(5)),
                ""
            ),
        );
    }
    line(&mut out, String::new());
    line(
        &mut out,
        "Intake chain: reports whose chain finished (P1: webhook arrived; P3: triaged; both: no instance running any more), per second of window + drain"
            .into(),
    );
    line(
        &mut out,
        format!(
            "{:<32} {:>3} {:>10} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10}",
            "request",
            "c",
            "reporter/s",
            "p50 ms",
            "p99 ms",
            "reports",
            "finished",
            "drain s",
            "chains/s",
            "ratio",
            "unfinished"
        ),
    );
    for (name, clients, t, m, chain) in &rows {
        if let Some(c) = chain {
            line(
                &mut out,
                format!(
                    "{:<32} {:>3} {:>10.1} {:>9.1} {:>9.1} {:>8} {:>8} {:>8.2} {:>9.2} {:>9.4} {:>10}",
                    name,
                    clients,
                    m.rps(),
                    m.pct(0.5),
                    m.pct(0.99),
                    c.reports,
                    c.completed,
                    c.drain_seconds,
                    c.rate(),
                    c.rate() / t.rps(),
                    c.reports - c.completed
                ),
            );
        }
    }
    if collapse_logs > 0 {
        line(&mut out, format!("  components logged `StreamError::Closed` {collapse_logs} times (a caller gave up)"));
    }

    line(&mut out, String::new());
    line(&mut out, "Store operations per request (counted in the host, one client)".into());
    line(
        &mut out,
        format!(
            "{:<32} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>13} {:>8}",
            "request", "reads", "ctr rd", "writes", "cas", "incr", "scans", "quota writes", "commits"
        ),
    );
    let mut all_counts: Vec<(String, &OpCount)> =
        endpoints.iter().map(|e| e.name.to_string()).zip(op_counts.iter()).collect();
    if let Some(s) = &sweep_ops {
        all_counts.push((format!("webhook sweep, {} due", plan.due_messages), s));
    }
    for (name, c) in &all_counts {
        line(
            &mut out,
            format!(
                "{:<32} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>13.1} {:>8.1}",
                name,
                c.get("reads"),
                c.get("counter_reads"),
                c.get("writes"),
                c.get("cas"),
                c.get("increments"),
                c.get("key_listings"),
                c.quota_writes(),
                c.get("commits")
            ),
        );
    }
    if unfinished_while_counting > 0 {
        line(
            &mut out,
            format!("  ({unfinished_while_counting} counted reports had not finished their chain within the deadline)"),
        );
    }
    let chain = &op_counts[0];
    line(&mut out, "  intake submit (P1) by component:".into());
    for (component, kinds) in &chain.per_component {
        let f = |k: &str| kinds.get(k).copied().unwrap_or(0.0);
        line(
            &mut out,
            format!(
                "    {component:<28} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>13.1} {:>8.1}",
                f("reads"),
                f("counter_reads"),
                f("writes"),
                f("cas"),
                f("increments"),
                f("key_listings"),
                f("writes") + f("cas") + f("increments"),
                f("commits")
            ),
        );
    }
    let quota = 50.0 / chain.quota_writes();
    line(
        &mut out,
        format!(
            "  whole chain: {:.1} quota writes per P1 report -> at most {quota:.2} reports/s under a 50 writes/s quota",
            chain.quota_writes()
        ),
    );
    let strict = chain.quota_writes() + chain.get("counter_reads");
    line(
        &mut out,
        format!(
            "  (a meter that counts increment-by-0 as a write too: {strict:.1} per report -> {:.2} reports/s)",
            50.0 / strict
        ),
    );
    line(
        &mut out,
        format!(
            "  whole chain: {:.1} commits (store transactions) per P1 report, {:.1} of them counter reads by increment-by-0",
            chain.get("commits"),
            chain.get("counter_reads")
        ),
    );
    line(
        &mut out,
        format!(
            "  the {} writes of one P1 chain, in order (commit: the store transaction each is part of; counter reads left out):",
            chain_writes.len()
        ),
    );
    let mut commit_no = 0;
    let mut last_call = None;
    for (i, (component, key, kind, call)) in chain_writes.iter().enumerate() {
        if last_call != Some(*call) {
            commit_no += 1;
            last_call = Some(*call);
        }
        line(
            &mut out,
            format!(
                "    {:>2}. commit {commit_no:>2}  {component:<13} {:<10} {key}",
                i + 1,
                format!("{kind:?}").to_lowercase()
            ),
        );
    }

    line(&mut out, String::new());
    line(
        &mut out,
        "Time to the response head per component in the P1 chain (host-measured; includes its callees)".into(),
    );
    line(&mut out, format!("{:<56} {:>3} {:>8} {:>9} {:>9}", "component and path", "c", "n", "p50 ms", "p90 ms"));
    let mut phases_json = Vec::new();
    for ((clients, what), values) in &mut phases {
        let (n, p50, p90) = (values.len(), pct_of(values, 0.5), pct_of(values, 0.9));
        line(&mut out, format!("{what:<56} {clients:>3} {n:>8} {p50:>9.1} {p90:>9.1}"));
        phases_json.push(json!({ "what": what, "clients": clients, "n": n, "p50_ms": p50, "p90_ms": p90 }));
    }

    line(&mut out, String::new());
    line(
        &mut out,
        format!(
            "P1 intake request -> signed webhook received: p50 {p1_p50:.1} ms, p99 {p1_p99:.1} ms over {p1_delivered} of {} reports (one client)",
            plan.p1_reports
        ),
    );
    line(
        &mut out,
        format!("  (the same reports answered to the reporter: p50 {p1_answer_p50:.1} ms, p99 {p1_answer_p99:.1} ms)"),
    );

    line(&mut out, String::new());
    line(&mut out, "Release .wasm sizes".into());
    let sizes = wasm_sizes();
    let probe_size = sizes.iter().find(|(c, _)| c == "probe").map(|(_, s)| *s).unwrap_or(1).max(1);
    for (c, s) in &sizes {
        line(
            &mut out,
            format!(
                "  {c:<13} {:>10} bytes  {:>7.2} MiB  {:>6.2}x trivial{}",
                s,
                *s as f64 / 1048576.0,
                *s as f64 / probe_size as f64,
                if c == "probe" { " (the trivial component)" } else { "" }
            ),
        );
    }

    line(&mut out, String::new());
    line(&mut out, "Growth: directory match (2 needs), one client".into());
    line(
        &mut out,
        format!(
            "{:>9} {:>9} {:>7} {:>9} {:>7} {:>7} {:>7} {:>7} {:>8}",
            "members", "req/s", "ratio", "p50 ms", "p50 x", "reads", "ctr rd", "writes", "commits"
        ),
    );
    let mut growth_json = Vec::new();
    for (size, t, c, m) in &growth {
        line(
            &mut out,
            format!(
                "{:>9} {:>9.1} {:>7.3} {:>9.2} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>8.1}",
                size,
                m.rps(),
                m.rps() / t.rps(),
                m.pct(0.5),
                m.pct(0.5) / t.pct(0.5),
                c.get("reads"),
                c.get("counter_reads"),
                c.quota_writes(),
                c.get("commits")
            ),
        );
        growth_json.push(json!({ "members": size, "requests_per_s": m.rps(), "ratio_to_trivial": m.rps() / t.rps(),
            "p50_ms": m.pct(0.5), "p99_ms": m.pct(0.99), "trivial_p50_ms": t.pct(0.5), "ops": c.json() }));
    }

    line(&mut out, String::new());
    line(
        &mut out,
        "Growth: stored cases (written in the components' format), intake and triage alone, one client".into(),
    );
    line(
        &mut out,
        format!(
            "{:<24} {:>7} {:>8} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} {:>7}",
            "request",
            "cases",
            "req/s",
            "ratio",
            "p50 ms",
            "p50 x",
            "reads",
            "ctr rd",
            "writes",
            "cas",
            "incr",
            "commits",
            "fill s"
        ),
    );
    let mut case_growth_json = Vec::new();
    for (name, size, fill_seconds, t, c, m) in &case_growth {
        line(
            &mut out,
            format!(
                "{:<24} {:>7} {:>8.1} {:>7.3} {:>8.2} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>8.1} {:>7.0}",
                name,
                size,
                m.rps(),
                m.rps() / t.rps(),
                m.pct(0.5),
                m.pct(0.5) / t.pct(0.5),
                c.get("reads"),
                c.get("counter_reads"),
                c.get("writes"),
                c.get("cas"),
                c.get("increments"),
                c.get("commits"),
                fill_seconds
            ),
        );
        case_growth_json.push(json!({ "request": name, "cases": size, "requests": m.requests,
            "requests_per_s": m.rps(), "ratio_to_trivial": m.rps() / t.rps(), "p50_ms": m.pct(0.5),
            "p99_ms": m.pct(0.99), "trivial_p50_ms": t.pct(0.5), "trivial_requests_per_s": t.rps(),
            "fill_seconds": fill_seconds, "ops": c.json() }));
    }
    print!("{out}");

    report["throughput"] = json!(rows_json);
    report["webhook_sweep"] = json!(sweep_runs
        .iter()
        .map(|(took, delivered, tp50)| json!({ "due": plan.due_messages, "ms": ms(*took), "delivered": delivered, "trivial_p50_ms": tp50 }))
        .collect::<Vec<_>>());
    report["store_ops"] = Value::Object(ops_json);
    if let Some(s) = &sweep_ops {
        report["store_ops"]["webhook sweep"] = s.json();
    }
    report["p1_chain"] = json!({
        "quota_writes_per_report": chain.quota_writes(),
        "reports_per_s_under_50_writes_per_s": quota,
        "commits_per_report": chain.get("commits"),
        "writes": chain_writes.iter().map(|(c, k, kind, call)| json!({ "component": c, "kind": format!("{kind:?}"), "key": k, "call": call })).collect::<Vec<_>>(),
    });
    report["chain_phases"] = json!(phases_json);
    report["p1_to_webhook"] = json!({ "reports": plan.p1_reports, "delivered": p1_delivered, "p50_ms": p1_p50, "p99_ms": p1_p99,
        "answered_p50_ms": p1_answer_p50, "answered_p99_ms": p1_answer_p99 });
    report["growth_cases"] = json!(case_growth_json);
    report["chains_unfinished_while_counting_ops"] = json!(unfinished_while_counting);
    report["wasm_bytes"] = json!(sizes.iter().map(|(c, s)| (c.clone(), *s)).collect::<BTreeMap<_, _>>());
    report["growth_match"] = json!(growth_json);
    report["stream_closed_logs"] = json!(collapse_logs);
    report["table"] = json!(out);
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let dir = bench_dir();
    let text = serde_json::to_string_pretty(&report).unwrap();
    std::fs::write(dir.join(format!("bench-{stamp}.json")), &text).unwrap();
    std::fs::write(dir.join("latest.json"), &text).unwrap();
    println!("\nJSON: {}", dir.join(format!("bench-{stamp}.json")).display());
}

/// A `case.triaged` event of a fresh case, as triage posts it.
fn case_event(n: usize) -> Value {
    let id = |prefix: &str| format!("{prefix}{:0>26}", format!("bench{n}"));
    let case = id("case_");
    json!({
        "id": id("evt_"), "type": "case.triaged", "timestamp": "2026-11-28T12:00:00Z",
        "data": {"case_reference": case, "priority": "P2", "organisation": "ngb", "region": "VR09",
                 "status": "triaged", "first_contact_due": "2026-11-28T16:00:00Z", "escalation_level": null,
                 "api_link": format!("/triage/cases/{case}")}
    })
}

/// The op record numbers host calls: the keys of one batch share a call and make one
/// commit, every other write (and a counter read by `increment(k, 0)`) is a commit of
/// its own, a read is none. `count_commits` is what the benchmark's "commits" column is.
#[test]
fn a_batch_is_one_commit_and_every_other_write_its_own() {
    use crate::common::{get, post, probe_options, start};
    let mut o = probe_options();
    o.store = e2e::backing();
    let app = start(o);
    app.record(true);
    for q in [
        "op=set&key=a&value=1",
        "op=increment&key=n&delta=2",
        "op=increment&key=n&delta=0",
        "op=get&key=a",
        "op=delete_many&key=a,b",
    ] {
        let r = get(&app, &format!("/probe?do=kv&{q}"));
        assert!(r.body.starts_with("ok"), "{q}: {r:?}");
    }
    let r = post(&app, "/probe?do=kv&op=set_many", "x=1\ny=2\nz=3");
    assert_eq!(r.body, "ok");
    let ops = app.take_store_ops();
    app.record(false);

    let batch: Vec<&StoreOp> = ops.iter().filter(|op| ["x", "y", "z"].contains(&op.key.as_str())).collect();
    assert_eq!(batch.len(), 3);
    assert!(batch.iter().all(|op| op.call == batch[0].call && op.kind == OpKind::Write));
    let deleted: Vec<&StoreOp> = ops.iter().filter(|op| op.kind == OpKind::Write && op.key == "b").collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(ops.iter().filter(|op| op.call == deleted[0].call).count(), 2, "both keys of the delete_many");
    assert_ne!(deleted[0].call, batch[0].call);
    // set, increment, counter read, delete_many (2 keys), set_many (3 keys): 8 writing
    // operations in 5 transactions; the read commits nothing.
    assert_eq!(ops.iter().filter(|op| op.kind.commits()).count(), 8);
    assert_eq!(count_commits(&ops), 5);
    assert_eq!(ops.iter().filter(|op| op.kind == OpKind::Read).count(), 1);
}

/// The benchmark's filled cases are real to the triage component: its listing shows
/// every one of NGB's, newest first, each reads, and the statistics answer.
#[test]
fn filled_cases_are_real_to_triage() {
    let app = e2e::start(e2e::options().only(&["intake", "triage"]));
    let confidant =
        issue(&app, ADMIN_TOKEN, json!({"organisation": "ngb", "role": "confidant", "holder": "Bench desk"}));
    let mut filler = fill::CaseFill::new(&app, Duration::from_secs(60));
    // Batches of 7: the fill continues across transactions and calls.
    filler.fill_to(&app, 20, 7);
    filler.fill_to(&app, 40, 7);
    assert_eq!(filler.filed, 40);

    let page = e2e::staff(&app, &confidant, "GET", "/triage/cases?limit=100", &[], None);
    assert_eq!(page.status, 200, "{}", page.body);
    let listed: Vec<&str> =
        page.body["cases"].as_array().unwrap().iter().map(|c| c["case_id"].as_str().unwrap()).collect();
    // Every fifth case is an alderman's, routed to another organisation.
    assert_eq!(listed.len(), 32, "{}", page.body);
    assert_eq!(Some(listed[0]), filler.newest_ngb.as_deref());
    assert!(!filler.sample.is_empty());
    for id in &filler.sample {
        let read = e2e::staff(&app, &confidant, "GET", &format!("/triage/cases/{id}"), &[], None);
        assert_eq!(read.status, 200, "{}", read.body);
        assert!(listed.contains(&id.as_str()));
    }
    let stats = e2e::staff(&app, ADMIN_TOKEN, "GET", "/triage/stats", &[], None);
    assert_eq!(stats.status, 200, "{}", stats.body);
    assert!(stats.body["organisations"].as_array().unwrap().iter().any(|o| o == "ngb"), "{}", stats.body);
}
