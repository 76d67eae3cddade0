//! Intake's routes, exactly as in `openapi.yaml`, and the one dispatch that sends each
//! endpoint to its handler in `http/endpoints.rs`.

use crate::config::IntakeConfig;
use crate::context::{Ctx, COMPONENT};
use crate::http::{endpoints, pages};
use shared::config::{ConfigError, Variables};
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::random::Random;
use shared::service::Service;
use shared::web::{PathParams, Ports, Request, Response, RouteTable};

/// Intake's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /intake/` (and `/intake`): the report form (HTML).
    ReportPage,
    /// `GET /intake/follow-up`: the form that asks for the receipt code (HTML).
    FollowUpPage,
    /// `GET /intake/style.css`: the pages' one stylesheet.
    Stylesheet,
    /// `POST /intake/reports`: file a report (JSON, or the report form).
    FileReport,
    /// `POST /intake/reports/status`: the status behind a receipt code.
    Status,
    /// `POST /intake/reports/messages`: the reporter's follow-up message.
    AddMessage,
    /// `POST /intake/sweep`: forget what must not be kept (internal secret).
    Sweep,
    /// `GET /intake/sweep/tick`: the sweep, for a platform scheduler that cannot send a header.
    SweepTick,
    /// `GET /intake/health`.
    Health,
}

/// Every route, exactly as in `openapi.yaml`.
pub const ROUTES: &RouteTable<Endpoint> = &[
    ("GET", "/intake/", Endpoint::ReportPage),
    // The address as people type it, without the slash.
    ("GET", "/intake", Endpoint::ReportPage),
    ("GET", "/intake/follow-up", Endpoint::FollowUpPage),
    ("GET", "/intake/style.css", Endpoint::Stylesheet),
    ("POST", "/intake/reports", Endpoint::FileReport),
    ("POST", "/intake/reports/status", Endpoint::Status),
    ("POST", "/intake/reports/messages", Endpoint::AddMessage),
    ("POST", "/intake/sweep", Endpoint::Sweep),
    ("GET", "/intake/sweep/tick", Endpoint::SweepTick),
    ("GET", "/intake/health", Endpoint::Health),
];

/// The intake component.
pub struct Intake;

impl Service for Intake {
    const NAME: &'static str = COMPONENT;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    type Endpoint = Endpoint;
    type Config = IntakeConfig;
    const ROUTES: &'static RouteTable<Endpoint> = ROUTES;
    const HEALTH: Endpoint = Endpoint::Health;

    fn config(variables: &dyn Variables) -> Result<IntakeConfig, ConfigError> {
        IntakeConfig::load(variables)
    }

    fn health<S: KeyValue, O: Outbound>(
        config: Result<&IntakeConfig, &ConfigError>,
        open_store: impl FnOnce() -> Result<S, StoreError>,
        ports: &Ports<'_, O>,
        _correlation_id: &str,
    ) -> Response {
        endpoints::health(config, open_store, ports.clock.now())
    }

    fn without_store(endpoint: Endpoint, req: &Request, random: &dyn Random) -> Option<Response> {
        match endpoint {
            Endpoint::ReportPage => Some(pages::report_page(req, random)),
            Endpoint::FollowUpPage => Some(pages::follow_up_page(req)),
            Endpoint::Stylesheet => Some(pages::stylesheet()),
            _ => None,
        }
    }

    /// A browser's form post is answered with its form again, whatever went wrong.
    fn unavailable(
        endpoint: Endpoint,
        req: &Request,
        random: &dyn Random,
        problem: Problem,
        correlation_id: &str,
    ) -> Result<Response, Problem> {
        match endpoint {
            Endpoint::FileReport | Endpoint::Status | Endpoint::AddMessage if pages::is_form(req) => {
                let report = endpoint == Endpoint::FileReport;
                Ok(pages::unavailable(req, report, random, problem, correlation_id))
            }
            _ => Err(problem),
        }
    }

    fn dispatch<S: KeyValue, O: Outbound>(
        ctx: &Ctx<'_, S, O>,
        endpoint: Endpoint,
        params: &PathParams,
        req: &Request,
    ) -> Result<Response, Problem> {
        match endpoint {
            Endpoint::ReportPage | Endpoint::FollowUpPage | Endpoint::Stylesheet => {
                unreachable!("served by Service::without_store before dispatch")
            }
            Endpoint::FileReport => endpoints::file_report(ctx, params, req),
            Endpoint::Status => endpoints::status(ctx, params, req),
            Endpoint::AddMessage => endpoints::add_message(ctx, params, req),
            Endpoint::Sweep => endpoints::sweep(ctx, params, req),
            Endpoint::SweepTick => endpoints::sweep_tick(ctx, params, req),
            Endpoint::Health => unreachable!("answered by Service::health before dispatch"),
        }
    }
}

/// Serves one request (the Spin entry point in `lib.rs` and the native tests call this).
pub fn handle<S: KeyValue, O: Outbound>(
    req: Request,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    ports: Ports<'_, O>,
) -> Response {
    shared::service::handle::<Intake, S, O>(req, open_store, ports)
}
