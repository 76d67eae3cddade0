//! The one skeleton every component follows.
//!
//! A component is a [`Service`]: a name, a route table written as in `openapi.yaml`, a
//! configuration read from Spin variables, a health answer, and one `dispatch` that
//! sends each endpoint to its handler. [`handle`] is the request flow they all share:
//! correlation id, routing (404/405), health before anything can fail, configuration,
//! the store, then `dispatch` with one [`Context`]. Handlers are free functions that
//! take the context first; the core below them never sees HTTP. A handler may leave
//! work for after its answer ([`Context::after_response`]): [`serve`] sends the answer
//! first, so a caller never waits for what it does not need.
//!
//! Svix's server splits thin endpoints from its core the same way; ours is one flow
//! instead of a framework, because a Spin component serves exactly one request.

use crate::auth::{Principal, RecordMac};
use crate::clock::Clock;
use crate::config::{ConfigError, Variables};
use crate::kv::{KeyValue, StoreError};
use crate::problem::Problem;
use crate::random::Random;
use crate::time::Timestamp;
use crate::web::{self, PathParams, Ports, Request, Response, RouteTable};
use std::cell::RefCell;

/// What one request of a component is served with: the store, the outbound client, the
/// clock, randomness, the component's configuration `C`, and the request's correlation
/// id (for log lines and calls onward). Each component names its own as `Ctx`.
pub struct Context<'a, S, O, C> {
    pub store: &'a S,
    pub outbound: &'a O,
    pub clock: &'a dyn Clock,
    pub random: &'a dyn Random,
    pub config: &'a C,
    pub correlation_id: &'a str,
    after: RefCell<Vec<AfterResponse<'a, S, O, C>>>,
}

/// Work a handler leaves for after its answer (see [`Context::after_response`]).
type AfterResponse<'a, S, O, C> = Box<dyn FnOnce(&Context<'a, S, O, C>) + 'a>;

impl<'a, S, O, C> Context<'a, S, O, C> {
    /// The context of one request, from the ports the entry point passed.
    pub fn new(store: &'a S, ports: &Ports<'a, O>, config: &'a C, correlation_id: &'a str) -> Self {
        Context {
            store,
            outbound: ports.outbound,
            clock: ports.clock,
            random: ports.random,
            config,
            correlation_id,
            after: RefCell::new(Vec::new()),
        }
    }

    /// The time now.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Leaves `work` for after the answer: [`serve`] sends the handler's response first,
    /// then runs it in the same instance (Spin keeps a component running after it has
    /// set its response, `docs/spin-host.md`). Only for work that is already durable
    /// in the store, or that a sweep finishes anyway: the instance may die before it
    /// runs, and nobody waits for it or sees how it went.
    pub fn after_response(&self, work: impl FnOnce(&Self) + 'a) {
        self.after.borrow_mut().push(Box::new(work));
    }

    /// Runs the work left for after the answer, in order (and what that work leaves).
    fn run_after_response(&self) {
        loop {
            let work: Vec<_> = self.after.borrow_mut().drain(..).collect();
            if work.is_empty() {
                return;
            }
            for w in work {
                w(self);
            }
        }
    }
}

/// A configuration that holds the secret other components call with.
pub trait InternalCallers {
    /// The shared secret of calls between components.
    fn internal_secret(&self) -> &str;
}

/// A configuration that lets staff in with bearer tokens.
pub trait StaffCallers {
    /// The bootstrap admin token (`admin_token`).
    fn admin_token(&self) -> &str;
    /// The key token records are authenticated with.
    fn record_mac(&self) -> &RecordMac;
}

impl<S, O, C: InternalCallers> Context<'_, S, O, C> {
    /// Checks that the request comes from another component (the internal secret): 401
    /// otherwise.
    pub fn verify_internal(&self, req: &Request) -> Result<(), Problem> {
        crate::auth::verify_internal(req.headers(), self.config.internal_secret())
    }
}

impl<S: KeyValue, O, C: StaffCallers> Context<'_, S, O, C> {
    /// The staff member (or admin) the request's bearer token names: 401 otherwise.
    pub fn staff(&self, req: &Request) -> Result<Principal, Problem> {
        let config = self.config;
        crate::auth::authenticate(self.store, req.headers(), config.admin_token(), config.record_mac(), self.now())
    }
}

/// A component: what [`handle`] needs to serve it.
pub trait Service {
    /// The component's name, in log lines and health answers.
    const NAME: &'static str;
    /// The component's version, in health answers.
    const VERSION: &'static str;
    /// Its endpoints, one variant per operation of `openapi.yaml`.
    type Endpoint: Copy + PartialEq + 'static;
    /// Its configuration, read from Spin variables.
    type Config;
    /// Every route, exactly as in `openapi.yaml`.
    const ROUTES: &'static RouteTable<Self::Endpoint>;
    /// The health endpoint, answered before configuration or store can fail.
    const HEALTH: Self::Endpoint;

    /// Reads the configuration.
    fn config(variables: &dyn Variables) -> Result<Self::Config, ConfigError>;

    /// `GET /<component>/health`: `config` as read, the store still unopened, every
    /// port and the correlation id (notification's health raises the watchdog alarm,
    /// which sends webhooks).
    fn health<S: KeyValue, O: crate::outbound::Outbound>(
        config: Result<&Self::Config, &ConfigError>,
        open_store: impl FnOnce() -> Result<S, StoreError>,
        ports: &Ports<'_, O>,
        correlation_id: &str,
    ) -> Response;

    /// Answers that need neither configuration nor store (static pages), if `endpoint`
    /// is one of them.
    fn without_store(_endpoint: Self::Endpoint, _req: &Request, _random: &dyn Random) -> Option<Response> {
        None
    }

    /// The answer when configuration or store fails before `dispatch`: by default the
    /// problem itself (a browser's form post is answered with a page instead).
    fn unavailable(
        _endpoint: Self::Endpoint,
        _req: &Request,
        _random: &dyn Random,
        problem: Problem,
        _correlation_id: &str,
    ) -> Result<Response, Problem> {
        Err(problem)
    }

    /// Sends one request to the handler of its endpoint.
    fn dispatch<S: KeyValue, O: crate::outbound::Outbound>(
        ctx: &Context<'_, S, O, Self::Config>,
        endpoint: Self::Endpoint,
        params: &PathParams,
        req: &Request,
    ) -> Result<Response, Problem>;
}

/// Serves one request of component `V` and returns the answer: [`serve`], for callers
/// that want the response as a value (native tests). Work left for after the answer
/// has run when this returns.
pub fn handle<V: Service, S: KeyValue, O: crate::outbound::Outbound>(
    req: Request,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    ports: Ports<'_, O>,
) -> Response {
    let mut answer = None;
    serve::<V, S, O>(req, open_store, ports, |response| answer = Some(response));
    answer.expect("serve always answers")
}

/// Serves one request of component `V`: the flow every component shares. `respond`
/// gets the answer (exactly once); then the work the handler left with
/// [`Context::after_response`] runs.
pub fn serve<V: Service, S: KeyValue, O: crate::outbound::Outbound>(
    req: Request,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    ports: Ports<'_, O>,
    respond: impl FnOnce(Response),
) {
    let exchange = web::Exchange::begin(V::NAME, &req, ports.random);
    let correlation_id = exchange.correlation_id();
    let answer = |result| respond(exchange.answer(result));
    let (endpoint, params) = match web::route(V::ROUTES, req.method(), req.uri().path()) {
        Ok(route) => route,
        Err(problem) => return answer(Err(problem)),
    };
    let config = V::config(ports.variables);
    if endpoint == V::HEALTH {
        return answer(Ok(V::health(config.as_ref(), open_store, &ports, correlation_id)));
    }
    if let Some(response) = V::without_store(endpoint, &req, ports.random) {
        return answer(Ok(response));
    }
    let config = match config {
        Ok(config) => config,
        Err(e) => return answer(V::unavailable(endpoint, &req, ports.random, e.into(), correlation_id)),
    };
    let store = match open_store() {
        Ok(store) => store,
        Err(e) => return answer(V::unavailable(endpoint, &req, ports.random, e.into(), correlation_id)),
    };
    let ctx = Context::new(&store, &ports, &config, correlation_id);
    answer(V::dispatch(&ctx, endpoint, &params, &req));
    ctx.run_after_response();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::MapVariables;
    use crate::kv::memory::MemoryStore;
    use crate::outbound::NoOutbound;
    use crate::random::SeededRandom;
    use crate::time::Timestamp;

    /// A component with one endpoint that needs the `greeting` variable and the store.
    struct Greeter;

    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Endpoint {
        Health,
        Greet,
        Later,
    }

    impl Service for Greeter {
        const NAME: &'static str = "greeter";
        const VERSION: &'static str = "1";
        type Endpoint = Endpoint;
        type Config = String;
        const ROUTES: &'static RouteTable<Endpoint> = &[
            ("GET", "/greeter/health", Endpoint::Health),
            ("GET", "/greeter/later/{name}", Endpoint::Later),
            ("GET", "/greeter/{name}", Endpoint::Greet),
        ];
        const HEALTH: Endpoint = Endpoint::Health;

        fn config(variables: &dyn Variables) -> Result<String, ConfigError> {
            variables.get("greeting").ok_or(ConfigError { variable: "greeting".into(), reason: "required".into() })
        }

        fn health<S: KeyValue, O: crate::outbound::Outbound>(
            config: Result<&String, &ConfigError>,
            open_store: impl FnOnce() -> Result<S, StoreError>,
            _ports: &Ports<'_, O>,
            _correlation_id: &str,
        ) -> Response {
            web::health(Self::NAME, Self::VERSION, config.map(drop).map_err(Clone::clone), open_store)
        }

        fn dispatch<S: KeyValue, O: crate::outbound::Outbound>(
            ctx: &Context<'_, S, O, String>,
            endpoint: Endpoint,
            params: &PathParams,
            _req: &Request,
        ) -> Result<Response, Problem> {
            if endpoint == Endpoint::Later {
                let name = params.get("name").to_string();
                ctx.after_response(move |ctx| {
                    ctx.store.set("greeted", name.as_bytes()).unwrap();
                    ctx.after_response(|ctx| ctx.store.set("then", b"yes").unwrap());
                });
                return Ok(web::json(202, &"later"));
            }
            ctx.store.set("greeted", params.get("name").as_bytes())?;
            Ok(web::json(200, &format!("{} {}", ctx.config, params.get("name"))))
        }
    }

    fn serve(path: &str, variables: &MapVariables, store: &MemoryStore) -> Response {
        let clock = ManualClock::at(Timestamp::from_unix_millis(1_800_000_000_000));
        let random = SeededRandom::new(7);
        let ports = Ports { outbound: &NoOutbound, clock: &clock, random: &random, variables };
        let req = http::Request::get(path).body(Vec::new()).unwrap();
        handle::<Greeter, _, _>(req, || Ok(store), ports)
    }

    #[test]
    fn work_left_for_after_the_answer_runs_once_the_answer_is_out() {
        let store = MemoryStore::new();
        let variables = MapVariables::from_pairs(&[("greeting", "hallo")]);
        let clock = ManualClock::at(Timestamp::from_unix_millis(1_800_000_000_000));
        let random = SeededRandom::new(7);
        let ports = Ports { outbound: &NoOutbound, clock: &clock, random: &random, variables: &variables };
        let req = http::Request::get("/greeter/later/ada").body(Vec::new()).unwrap();
        let mut seen = None;
        super::serve::<Greeter, _, _>(
            req,
            || Ok(&store),
            ports,
            |response| {
                seen = Some((response.status().as_u16(), store.get("greeted").unwrap()));
            },
        );
        assert_eq!(seen, Some((202, None)), "answered before the work ran");
        assert_eq!(store.get("greeted").unwrap().as_deref(), Some(&b"ada"[..]));
        assert_eq!(store.get("then").unwrap().as_deref(), Some(&b"yes"[..]), "work the work left runs too");
    }

    #[test]
    fn every_component_is_served_by_one_flow() {
        let store = MemoryStore::new();
        let configured = MapVariables::from_pairs(&[("greeting", "hallo")]);
        let greeted = serve("/greeter/ada", &configured, &store);
        assert_eq!((greeted.status().as_u16(), greeted.body().as_slice()), (200, &b"\"hallo ada\""[..]));
        assert!(greeted.headers().contains_key(web::CORRELATION_HEADER));
        assert_eq!(store.get("greeted").unwrap().as_deref(), Some(&b"ada"[..]));
        assert_eq!(serve("/elsewhere", &configured, &store).status(), 404);

        // Health answers even unconfigured; anything else is refused before the store.
        let unconfigured = MapVariables::from_pairs(&[]);
        assert_eq!(serve("/greeter/health", &unconfigured, &store).status(), 503);
        assert_eq!(serve("/greeter/health", &configured, &store).status(), 200);
        let store = MemoryStore::new();
        assert_eq!(serve("/greeter/bob", &unconfigured, &store).status(), 503, "misconfigured");
        assert_eq!(store.get("greeted").unwrap(), None);
    }
}
