//! The directory's routes: every endpoint of `openapi.yaml`, and one dispatch that
//! sends each to its handler in [`crate::http::endpoints`].

use crate::config::DirectoryConfig;
use crate::context::{Ctx, COMPONENT};
use crate::http::endpoints;
use shared::config::{ConfigError, Variables};
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::service::Service;
use shared::web::{self, PathParams, Ports, Request, Response, RouteTable};

/// The directory's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /directory/health`.
    Health,
    /// `POST /directory/members/import`: programme admins import members in bulk.
    Import,
    /// `POST /directory/members`: a programme admin adds a member.
    Create,
    /// `GET /directory/members`: staff list members, filtered.
    List,
    /// `GET /directory/members/{member_id}`: an admin reads one member, contact details included (audited).
    Read,
    /// `PUT /directory/members/{member_id}`: a programme admin replaces a member's profile.
    Update,
    /// `POST /directory/members/{member_id}/deactivate`: a programme admin deactivates a member.
    Deactivate,
    /// `POST /directory/match`: staff ask who could help with a case.
    AdminMatch,
    /// `POST /directory/internal/match`: triage asks who could help with a case.
    InternalMatch,
    /// `POST /directory/internal/members/{member_id}/assign`: triage gives a member a case.
    Assign,
    /// `POST /directory/internal/members/{member_id}/release`: triage takes a case off a member.
    Release,
    /// `GET /directory/audit/contact-reads`: programme admins read who read contact details.
    ContactReads,
    /// `GET /directory/audit/log-reads`: programme admins read who read the audit logs.
    LogReads,
}

/// Every route, exactly as in `openapi.yaml`. `import` comes before `{member_id}`.
pub const ROUTES: &RouteTable<Endpoint> = &[
    ("GET", "/directory/health", Endpoint::Health),
    ("POST", "/directory/members/import", Endpoint::Import),
    ("POST", "/directory/members", Endpoint::Create),
    ("GET", "/directory/members", Endpoint::List),
    ("GET", "/directory/members/{member_id}", Endpoint::Read),
    ("PUT", "/directory/members/{member_id}", Endpoint::Update),
    ("POST", "/directory/members/{member_id}/deactivate", Endpoint::Deactivate),
    ("POST", "/directory/match", Endpoint::AdminMatch),
    ("POST", "/directory/internal/match", Endpoint::InternalMatch),
    ("POST", "/directory/internal/members/{member_id}/assign", Endpoint::Assign),
    ("POST", "/directory/internal/members/{member_id}/release", Endpoint::Release),
    ("GET", "/directory/audit/contact-reads", Endpoint::ContactReads),
    ("GET", "/directory/audit/log-reads", Endpoint::LogReads),
];

/// The directory as a [`Service`].
pub struct Directory;

impl Service for Directory {
    const NAME: &'static str = COMPONENT;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    type Endpoint = Endpoint;
    type Config = DirectoryConfig;
    const ROUTES: &'static RouteTable<Endpoint> = ROUTES;
    const HEALTH: Endpoint = Endpoint::Health;

    fn config(variables: &dyn Variables) -> Result<DirectoryConfig, ConfigError> {
        DirectoryConfig::load(variables)
    }

    fn health<S: KeyValue, O: Outbound>(
        config: Result<&DirectoryConfig, &ConfigError>,
        open_store: impl FnOnce() -> Result<S, StoreError>,
        _ports: &Ports<'_, O>,
        _correlation_id: &str,
    ) -> Response {
        web::health(Self::NAME, Self::VERSION, config.map(drop).map_err(Clone::clone), open_store)
    }

    fn dispatch<S: KeyValue, O: Outbound>(
        ctx: &Ctx<'_, S, O>,
        endpoint: Endpoint,
        params: &PathParams,
        req: &Request,
    ) -> Result<Response, Problem> {
        match endpoint {
            Endpoint::Health => unreachable!("answered by Service::health before dispatch"),
            Endpoint::Import => endpoints::import(ctx, params, req),
            Endpoint::Create => endpoints::create(ctx, params, req),
            Endpoint::List => endpoints::list(ctx, params, req),
            Endpoint::Read => endpoints::read(ctx, params, req),
            Endpoint::Update => endpoints::update(ctx, params, req),
            Endpoint::Deactivate => endpoints::deactivate(ctx, params, req),
            Endpoint::AdminMatch => endpoints::admin_match(ctx, params, req),
            Endpoint::InternalMatch => endpoints::internal_match(ctx, params, req),
            Endpoint::Assign => endpoints::assign(ctx, params, req),
            Endpoint::Release => endpoints::release(ctx, params, req),
            Endpoint::ContactReads => endpoints::contact_reads(ctx, params, req),
            Endpoint::LogReads => endpoints::log_reads(ctx, params, req),
        }
    }
}

/// Serves one request (the Spin entry point and the native tests call this).
pub fn handle<S: KeyValue, O: Outbound>(
    req: Request,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    ports: Ports<'_, O>,
) -> Response {
    shared::service::handle::<Directory, S, O>(req, open_store, ports)
}
