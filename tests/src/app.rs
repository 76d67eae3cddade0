//! A running application: the loaded components, their grants, and the
//! per-request instantiation that Spin's HTTP trigger does.

use crate::compile::{engine, load_component};
use crate::guest_io::{GuestClock, LogBook, Stream};
use crate::kv::{KvGrant, KvStore, KvView};
use crate::manifest::{expand_all, expand_template, Manifest};
use crate::outbound::{empty_body, OutboundHooks, OutboundPolicy};
use crate::routing::{RouteMatch, Router};
use crate::server::add_spin_headers;
use crate::variables::VarsView;
use crate::Options;
use anyhow::{bail, Context, Result};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::Store;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::{Error as HttpError, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Everything one request's `Store` holds.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    kv: KvGrant,
    vars: Arc<HashMap<String, String>>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// A component ready to be instantiated per request.
pub(crate) struct LoadedComponent {
    id: String,
    pre: ProxyPre<HostState>,
    kv: KvGrant,
    vars: Arc<HashMap<String, String>>,
    policy: Arc<OutboundPolicy>,
    env: Vec<(String, String)>,
}

/// The shared state of one running app.
pub struct Runtime {
    components: HashMap<String, LoadedComponent>,
    pub(crate) router: Router,
    pub(crate) store: Arc<KvStore>,
    pub(crate) down: Mutex<HashSet<String>>,
    pub(crate) clock: GuestClock,
    pub(crate) logs: LogBook,
    pub(crate) addr: SocketAddr,
    /// Each request's time to its response, while recording (`TestApp::record`).
    pub(crate) timings: Mutex<Option<Vec<crate::RequestTiming>>>,
    /// Guest instances still running, by the correlation id of their request.
    pub(crate) chains: ChainBook,
}

/// Which guest instances are still running, by correlation id: a component goes on
/// running after it has answered (work left for after the response), and so may the
/// components it called. A test that wants the state after a request's whole chain
/// waits for its correlation id to have no instance left (`TestApp::settle`). Our
/// components pass the correlation id on every call between them, so one id covers
/// the whole chain.
#[derive(Default)]
pub(crate) struct ChainBook {
    running: Mutex<Running>,
    changed: std::sync::Condvar,
}

/// Instances running now: all of them, and those of each known chain.
#[derive(Default)]
struct Running {
    instances: usize,
    chains: HashMap<String, usize>,
}

impl ChainBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An instance starts (its chain may not be known yet).
    pub(crate) fn start(&self) {
        self.lock().instances += 1;
    }

    /// A running instance turns out to belong to chain `id`.
    pub(crate) fn enter(&self, id: &str) {
        *self.lock().chains.entry(id.to_string()).or_default() += 1;
    }

    /// An instance's handler returned; it belonged to `chain` if that is known.
    pub(crate) fn finish(&self, chain: Option<&str>) {
        let mut running = self.lock();
        running.instances -= 1;
        if let Some(id) = chain {
            if let Some(n) = running.chains.get_mut(id) {
                *n -= 1;
                if *n == 0 {
                    running.chains.remove(id);
                }
            }
        }
        self.changed.notify_all();
    }

    /// How many instances run now, answered or not.
    pub(crate) fn instances(&self) -> usize {
        self.lock().instances
    }

    /// Waits until `busy` is false; false if that took longer than `limit`.
    fn wait_while(&self, limit: std::time::Duration, busy: impl Fn(&Running) -> bool) -> bool {
        let deadline = std::time::Instant::now() + limit;
        let mut running = self.lock();
        while busy(&running) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            running = self.changed.wait_timeout(running, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        true
    }

    /// Waits until no instance runs at all; false if that took longer than `limit`.
    pub(crate) fn settle_all(&self, limit: std::time::Duration) -> bool {
        self.wait_while(limit, |r| r.instances > 0)
    }

    /// Waits until no instance of chain `id` runs; false if that took longer than `limit`.
    pub(crate) fn settle(&self, id: &str, limit: std::time::Duration) -> bool {
        self.wait_while(limit, |r| r.chains.contains_key(id))
    }
}

/// The correlation id a request or response carries, if any.
fn correlation_of(headers: &http::HeaderMap) -> Option<String> {
    headers.get("x-correlation-id").and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn base_linker() -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine());
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::kv::add_to_linker(&mut linker, |s: &mut HostState| KvView { grant: &s.kv, table: &mut s.table })?;
    crate::variables::add_to_linker(&mut linker, |s: &mut HostState| VarsView { values: &s.vars })?;
    Ok(linker)
}

impl Runtime {
    /// Loads the selected components of `manifest`, checking what `spin up`
    /// checks before it listens.
    pub(crate) fn load(
        manifest: &Manifest,
        options: &Options,
        variables: &HashMap<String, String>,
        addr: SocketAddr,
    ) -> Result<Runtime> {
        let selected: Vec<String> = match &options.components {
            Some(ids) => {
                for id in ids {
                    if !manifest.components.contains_key(id) {
                        bail!("no component `{id}` in the manifest");
                    }
                }
                ids.clone()
            }
            None => manifest.components.keys().cloned().collect(),
        };
        let mut defined: HashSet<String> = options.store_labels.iter().cloned().collect();
        defined.insert("default".to_string());
        for id in &selected {
            for label in &manifest.components[id].key_value_stores {
                if !defined.contains(label) {
                    bail!(
                        "component `{id}` uses key-value store `{label}`, which is not defined \
                         (Spin defines only `default` without a runtime config; add it to Options::store_labels)"
                    );
                }
            }
        }
        let defined = Arc::new(defined);
        let store = Arc::new(KvStore::open(&options.store)?);
        let base = base_linker()?;
        let mut components = HashMap::new();
        for id in &selected {
            let decl = &manifest.components[id];
            let component = load_component(&decl.source)?;
            let linker = &base;
            let pre = ProxyPre::new(linker.instantiate_pre(&component)?)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("component `{id}` does not export wasi:http/incoming-handler"))?;
            let hosts = decl
                .allowed_outbound_hosts
                .iter()
                .map(|h| {
                    expand_template(h, |name| {
                        variables.get(name).cloned().with_context(|| format!("variable `{name}` has no value"))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let policy =
                OutboundPolicy::parse(&hosts).with_context(|| format!("component `{id}` allowed_outbound_hosts"))?;
            components.insert(
                id.clone(),
                LoadedComponent {
                    id: id.clone(),
                    pre,
                    kv: KvGrant {
                        component: Arc::from(id.as_str()),
                        store: store.clone(),
                        allowed: Arc::new(decl.key_value_stores.iter().cloned().collect()),
                        defined: defined.clone(),
                    },
                    vars: Arc::new(expand_all(&decl.variables, variables)?),
                    policy: Arc::new(policy),
                    env: decl.environment.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                },
            );
        }
        let running: HashSet<String> = selected.iter().cloned().collect();
        let (router, warnings) = Router::new(&manifest.triggers, &running);
        for w in warnings {
            eprintln!("[host] warning: {w}");
        }
        Ok(Runtime {
            components,
            router,
            store,
            down: Mutex::default(),
            clock: GuestClock::default(),
            logs: LogBook::new(options.echo_logs),
            addr,
            timings: Mutex::new(None),
            chains: ChainBook::default(),
        })
    }

    /// The variables component `id` sees, resolved as for its instances.
    pub(crate) fn variables_of(&self, id: &str) -> Option<HashMap<String, String>> {
        self.components.get(id).map(|c| (*c.vars).clone())
    }

    fn is_down(&self, component: &str) -> bool {
        self.down.lock().unwrap_or_else(|e| e.into_inner()).contains(component)
    }

    fn new_store(self: &Arc<Self>, c: &LoadedComponent) -> Store<HostState> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(self.logs.stream(&c.id, Stream::Stdout))
            .stderr(self.logs.stream(&c.id, Stream::Stderr))
            .wall_clock(self.clock.wall())
            .monotonic_clock(self.clock.monotonic());
        for (k, v) in &c.env {
            wasi.env(k, v);
        }
        let state = HostState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks { runtime: self.clone(), component: c.id.clone(), policy: c.policy.clone() },
            kv: c.kv.clone(),
            vars: c.vars.clone(),
        };
        Store::new(engine(), state)
    }

    /// Runs one request through a fresh instance of `component`. Like Spin,
    /// a trap or an error result becomes a bare 500.
    pub(crate) async fn serve(
        self: &Arc<Self>,
        component: &str,
        mut request: http::Request<WasiBody>,
        matched: &RouteMatch,
        client: SocketAddr,
        full_url: &str,
    ) -> http::Response<WasiBody> {
        let Some(c) = self.components.get(component) else {
            return bare(http::StatusCode::NOT_FOUND);
        };
        add_spin_headers(request.headers_mut(), matched, client, full_url);
        let started = std::time::Instant::now();
        let path = request.uri().path().to_string();
        let parts_headers = request.headers().clone();
        let mut store = self.new_store(c);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let prepared = (|| -> wasmtime::Result<_> {
            let req = store.data_mut().http().new_incoming_request(Scheme::Http, request)?;
            let out = store.data_mut().http().new_response_outparam(tx)?;
            Ok((req, out))
        })();
        let (req, out) = match prepared {
            Ok(x) => x,
            Err(e) => {
                eprintln!("[host] cannot pass the request to `{component}`: {e:#}");
                return bare(http::StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        let pre = c.pre.clone();
        // A call between components carries its chain's correlation id; a client's
        // request learns it from the answer.
        let mut chain = correlation_of(&parts_headers);
        if let Some(id) = &chain {
            self.chains.enter(id);
        }
        self.chains.start();
        let task = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy.wasi_http_incoming_handler().call_handle(&mut store, req, out).await
        });
        let id = component.to_string();
        let answer = rx.await;
        if let Some(t) = self.timings.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            t.push(crate::RequestTiming { component: id.clone(), path, took: started.elapsed() });
        }
        if chain.is_none() {
            chain = answer.as_ref().ok().and_then(|a| a.as_ref().ok()).and_then(|r| correlation_of(r.headers()));
            if let Some(c) = &chain {
                self.chains.enter(c);
            }
        }
        // The instance runs on after its answer (the body, and work left for after
        // the response) until its handler returns; report a late trap.
        let runtime = self.clone();
        let finished = tokio::spawn(async move {
            let result = task.await;
            runtime.chains.finish(chain.as_deref());
            result
        });
        match answer {
            Ok(Ok(response)) => {
                tokio::spawn(async move {
                    if let Ok(Ok(Err(e))) = finished.await {
                        eprintln!("[host] `{id}` failed after responding: {e:?}");
                    }
                });
                response
            }
            Ok(Err(code)) => {
                eprintln!("[host] `{id}` responded with error {code:?}");
                bare(http::StatusCode::INTERNAL_SERVER_ERROR)
            }
            Err(_) => {
                match finished.await {
                    Ok(Ok(Err(e))) => eprintln!("[host] `{id}` trapped: {e:?}"),
                    Ok(Ok(Ok(()))) => eprintln!("[host] `{id}` returned without a response"),
                    Ok(Err(e)) | Err(e) => eprintln!("[host] `{id}` task failed: {e}"),
                }
                bare(http::StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    /// Service chaining to `http://<component>.spin.internal/...`.
    pub(crate) async fn dispatch_to(
        self: &Arc<Self>,
        component: &str,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        if !self.components.contains_key(component) || self.is_down(component) {
            return Err(HttpError::ConnectionRefused);
        }
        let path = request.uri().path().to_string();
        let matched = self.router.route_of(component).and_then(|r| r.matches(&path)).unwrap_or_else(|| RouteMatch {
            component: component.to_string(),
            raw_route: String::new(),
            component_route: String::new(),
            path_info: path.clone(),
            named: Vec::new(),
        });
        let full_url = request.uri().to_string();
        let client = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok(self.serve(component, request, &matched, client, &full_url).await)
    }

    /// A request to `http://self/...` (or a relative URL), routed like an
    /// incoming one.
    pub(crate) async fn dispatch_self(
        self: &Arc<Self>,
        mut request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let path = request.uri().path().to_string();
        let Some(matched) = self.router.route(&path) else {
            return Ok(bare(http::StatusCode::NOT_FOUND));
        };
        if self.is_down(&matched.component) {
            return Err(HttpError::ConnectionRefused);
        }
        let pq = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".to_string());
        let full_url = format!("http://{}{pq}", self.addr);
        *request.uri_mut() = full_url.parse().map_err(|_| HttpError::HttpRequestUriInvalid)?;
        request.headers_mut().remove(http::header::HOST);
        let client = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok(self.serve(&matched.component, request, &matched, client, &full_url).await)
    }
}

/// A response with a status and an empty body, as Spin sends for 404 and 500.
pub(crate) fn bare(status: http::StatusCode) -> http::Response<WasiBody> {
    let mut r = http::Response::new(empty_body());
    *r.status_mut() = status;
    r
}
