//! A test host for weerbaar: runs the `.wasm` components named in a
//! `spin.toml` on wasmtime, the way Spin's HTTP trigger does, and serves them
//! over real HTTP on a loopback port.
//!
//! ```no_run
//! use weerbaar_tests::{Options, TestApp};
//! let mut options = Options::new(weerbaar_tests::project_manifest());
//! options.variables.insert("admin_token".into(), "x".repeat(32));
//! let app = TestApp::start(options).unwrap();
//! let url = format!("{}/intake/health", app.url());
//! # let _ = url;
//! ```
//!
//! `TestApp` owns its own tokio runtime on a background thread, so it works
//! from plain `#[test]` functions with a blocking client (e.g. `ureq`) and
//! from async tests alike. Dropping it stops the server.

mod app;
mod compile;
mod guest_io;
pub mod kv;
pub mod manifest;
pub mod outbound;
pub mod routing;
mod server;
pub mod variables;

/// Host bindings generated from the WIT files in `tests/wit/`.
mod wit {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "weerbaar:test-host/host",
        imports: { default: trappable },
        with: {
            "fermyon:spin/key-value.store": crate::kv::SpinStore,
            "wasi:keyvalue/store.bucket": crate::kv::Bucket,
            "wasi:keyvalue/atomics.cas": crate::kv::CasHandle,
        },
    });
}

pub use guest_io::{LogLine, Stream};
pub use kv::{count_commits, OpKind, RedisServer, StoreBacking, StoreOp, StoreSession, WriteFault};

use anyhow::{Context, Result};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long one request took a component, from its arrival at the host (service
/// chaining included) to the response head the component set: instantiation, guest
/// work, store waits and the calls it made meanwhile.
#[derive(Debug, Clone)]
pub struct RequestTiming {
    pub component: String,
    pub path: String,
    pub took: Duration,
}

/// How to start an app.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `spin.toml` to run; `source` paths are relative to its directory.
    pub manifest: PathBuf,
    /// Run only these components, like `spin up -c a -c b`. `None`: all.
    pub components: Option<Vec<String>>,
    /// Variable values, like `spin up --variable name=value`. These win over
    /// the environment.
    pub variables: HashMap<String, String>,
    /// Also read `SPIN_VARIABLE_<NAME>` from the process environment (default: true).
    pub environment_variables: bool,
    /// Also read `SPIN_VARIABLE_<NAME>` from `.env` beside the manifest
    /// (default: false; the binary turns it on, as `spin up` reads `.env`).
    pub dotenv: bool,
    /// Key-value data: Spin's SQLite store in memory (default) or in a file
    /// shared by apps, or Spin's Redis store on a real redis-server.
    pub store: StoreBacking,
    /// Store labels defined besides `default` (what a runtime config would define).
    pub store_labels: Vec<String>,
    /// Where to listen (default `127.0.0.1:0`, a free port).
    pub listen: SocketAddr,
    /// Echo component output to stdout, prefixed `[component out|err]` (default: true).
    pub echo_logs: bool,
}

impl Options {
    pub fn new(manifest: impl Into<PathBuf>) -> Options {
        Options {
            manifest: manifest.into(),
            components: None,
            variables: HashMap::new(),
            environment_variables: true,
            dotenv: false,
            store: StoreBacking::Memory,
            store_labels: Vec::new(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            echo_logs: true,
        }
    }

    /// Sets one variable (chainable).
    pub fn variable(mut self, name: &str, value: impl Into<String>) -> Options {
        self.variables.insert(name.to_string(), value.into());
        self
    }

    /// Runs only these components (chainable).
    pub fn only(mut self, components: &[&str]) -> Options {
        self.components = Some(components.iter().map(|c| c.to_string()).collect());
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::new(project_manifest())
    }
}

/// The workspace's own `spin.toml`.
pub fn project_manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").join("spin.toml")
}

/// A running app. Dropping it stops the server.
pub struct TestApp {
    runtime: Arc<app::Runtime>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestApp {
    /// Loads and compiles the components and starts listening. Fails as
    /// `spin up` would: missing required variables, unknown store labels,
    /// bad manifest, missing `.wasm`.
    pub fn start(options: Options) -> Result<TestApp> {
        let manifest = manifest::Manifest::load(&options.manifest)?;
        let sources = variables::VariableSources {
            explicit: options.variables.clone(),
            environment: options.environment_variables,
            dotenv: options.dotenv.then(|| manifest.dir.join(".env")),
        };
        let values = variables::resolve(&manifest, &sources)?;
        let listener = std::net::TcpListener::bind(options.listen)
            .with_context(|| format!("cannot listen on {}", options.listen))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = Arc::new(app::Runtime::load(&manifest, &options, &values, addr)?);
        let (shutdown, stop) = tokio::sync::oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let server_runtime = runtime.clone();
        let thread = std::thread::Builder::new().name(format!("weerbaar-host-{}", addr.port())).spawn(move || {
            // Spin's runtime: tokio's multi-threaded scheduler with its default of one
            // worker per core; requests, service-chained callees and the store's
            // blocking calls all run on these workers.
            let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
            let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(cores).enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(anyhow::Error::from(e)));
                    return;
                }
            };
            rt.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => {
                        let _ = ready_tx.send(Ok(()));
                        server::run(l, server_runtime, stop).await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                    }
                }
            });
            rt.shutdown_timeout(Duration::from_secs(2));
        })?;
        ready_rx.recv().context("the server thread ended before listening")??;
        Ok(TestApp { runtime, addr, shutdown: Some(shutdown), thread: Some(thread) })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every entry of store `label`, sorted by key (on Redis: every entry,
    /// since Spin's Redis store ignores labels).
    pub fn kv_dump(&self, label: &str) -> Vec<(String, Vec<u8>)> {
        self.runtime.store.dump(label).expect("reading the key-value store for a test")
    }

    /// Writes `key` of store `label` straight, past every component: for tests that
    /// tamper with what a component stored.
    pub fn kv_set(&self, label: &str, key: &str, value: &[u8]) {
        self.runtime.store.set(label, key, value).expect("writing the key-value store for a test")
    }

    /// Reads `key` of store `label` straight, past every component.
    pub fn kv_get(&self, label: &str, key: &str) -> Option<Vec<u8>> {
        self.runtime.store.get(label, key).expect("reading the key-value store for a test")
    }

    /// Runs `f` with direct access to store `label`, for filling it with prepared data
    /// fast: on SQLite every operation of `f` is in one transaction (one commit), on
    /// Redis each is a command. Nothing is recorded and no fault applies; guests wait
    /// for the store meanwhile.
    pub fn kv_session<R>(&self, label: &str, f: impl FnOnce(&StoreSession) -> R) -> R {
        self.runtime.store.session(label, f).expect("a store session for a test")
    }

    /// The variables component `id` sees (its `[component.variables]` resolved with
    /// the app's), for native code that must act as that component would.
    pub fn component_variables(&self, id: &str) -> Option<HashMap<String, String>> {
        self.runtime.variables_of(id)
    }

    /// Guest instances running now: requests being handled, and instances still at
    /// work after they answered (Spin lets a guest go on after `response-outparam::set`).
    pub fn running_instances(&self) -> usize {
        self.runtime.chains.instances()
    }

    /// Deletes `key` of store `label` straight, past every component.
    pub fn kv_delete(&self, label: &str, key: &str) {
        self.runtime.store.delete(label, key).expect("deleting from the key-value store for a test")
    }

    /// Fault hook: every store write fails with `other(..)` while on.
    pub fn fail_store_writes(&self, fail: bool) {
        self.runtime.store.set_write_fault(if fail { WriteFault::All } else { WriteFault::None });
    }

    /// Fault hook with finer aim (e.g. only keys with a prefix).
    pub fn set_write_fault(&self, fault: WriteFault) {
        self.runtime.store.set_write_fault(fault);
    }

    /// Fault hook: calls to `component` (via `*.spin.internal` or `self`)
    /// fail with a connection error while it is down.
    pub fn set_down(&self, component: &str, down: bool) {
        let mut set = self.runtime.down.lock().unwrap_or_else(|e| e.into_inner());
        if down {
            set.insert(component.to_string());
        } else {
            set.remove(component);
        }
    }

    /// Starts (`true`) or stops recording every store operation of every guest and
    /// each request's time; starting clears what was recorded.
    pub fn record(&self, on: bool) {
        self.runtime.store.set_recording(on);
        *self.runtime.timings.lock().unwrap_or_else(|e| e.into_inner()) = on.then(Vec::new);
    }

    /// The store operations recorded so far, in order; empties the record.
    pub fn take_store_ops(&self) -> Vec<StoreOp> {
        self.runtime.store.take_recorded()
    }

    /// Waits (at most `limit`) until nothing of the chain with this correlation id runs
    /// any more: the component that answered and every component it called, including
    /// the work they left for after their answers. False if the limit passed first.
    pub fn settle(&self, correlation_id: &str, limit: Duration) -> bool {
        self.runtime.chains.settle(correlation_id, limit)
    }

    /// Waits (at most `limit`) until no guest instance runs at all, answered or not: for
    /// a client that cannot see correlation ids (a browser), or a benchmark's drain.
    pub fn settle_all(&self, limit: Duration) -> bool {
        self.runtime.chains.settle_all(limit)
    }

    /// The request timings recorded so far, in order of response; empties the record.
    pub fn take_request_timings(&self) -> Vec<RequestTiming> {
        self.runtime.timings.lock().unwrap_or_else(|e| e.into_inner()).as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Every line the components wrote to stdout/stderr so far.
    pub fn logs(&self) -> Vec<LogLine> {
        self.runtime.logs.lines()
    }

    /// All output as one text, one `[component] line` per line, for
    /// `assert!(!app.logs_text().contains(secret))`.
    pub fn logs_text(&self) -> String {
        self.logs().iter().map(|l| format!("[{}] {}\n", l.component, l.line)).collect()
    }

    /// Moves every component's wall (and monotonic) clock forward.
    pub fn advance_clock(&self, by: Duration) {
        self.runtime.clock.advance(by);
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
