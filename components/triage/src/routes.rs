//! Triage's routes: every endpoint of `openapi.yaml`, and the one dispatch that sends
//! each to its handler in [`crate::http::endpoints`].

use crate::config::TriageConfig;
use crate::context::{Ctx, COMPONENT};
use crate::http::endpoints;
use shared::clock::Clock;
use shared::config::{ConfigError, Variables};
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::service::Service;
use shared::web::{PathParams, Ports, Request, Response, RouteTable};

/// Triage's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Health,
    Handover,
    Sweep,
    /// `GET …/sweep/tick`: a platform scheduler that cannot send a header.
    SweepTick,
    CreateToken,
    ListTokens,
    ReadTokenAudit,
    ReadOrganisationAudit,
    RevokeToken,
    ListCases,
    ReadCase,
    ReadAudit,
    VerifyAudit,
    Acknowledge,
    Assign,
    OverridePriority,
    ChangeStatus,
    MessageReporter,
    TakeInMessage,
    ReadMessages,
    MarkMessagesRead,
    HandOver,
    ScheduleCheckIn,
    CompleteCheckIn,
    ListCheckIns,
    Stats,
    StatsReport,
    /// `POST …/stats/rebuild`: the one-off count of cases from before counting began.
    StatsRebuild,
}

/// Every route, exactly as in `openapi.yaml`.
pub const ROUTES: &RouteTable<Endpoint> = &[
    ("GET", "/triage/health", Endpoint::Health),
    ("POST", "/triage/internal/cases", Endpoint::Handover),
    ("POST", "/triage/sweep", Endpoint::Sweep),
    ("GET", "/triage/sweep/tick", Endpoint::SweepTick),
    ("POST", "/triage/tokens", Endpoint::CreateToken),
    ("GET", "/triage/tokens", Endpoint::ListTokens),
    ("GET", "/triage/tokens/audit", Endpoint::ReadTokenAudit),
    ("GET", "/triage/audit", Endpoint::ReadOrganisationAudit),
    ("DELETE", "/triage/tokens/{token_id}", Endpoint::RevokeToken),
    ("GET", "/triage/cases", Endpoint::ListCases),
    ("GET", "/triage/cases/{case_id}", Endpoint::ReadCase),
    ("GET", "/triage/cases/{case_id}/audit", Endpoint::ReadAudit),
    ("GET", "/triage/cases/{case_id}/audit/verify", Endpoint::VerifyAudit),
    ("POST", "/triage/cases/{case_id}/acknowledge", Endpoint::Acknowledge),
    ("POST", "/triage/cases/{case_id}/assign", Endpoint::Assign),
    ("POST", "/triage/cases/{case_id}/priority", Endpoint::OverridePriority),
    ("POST", "/triage/cases/{case_id}/status", Endpoint::ChangeStatus),
    ("POST", "/triage/cases/{case_id}/messages", Endpoint::MessageReporter),
    ("POST", "/triage/internal/messages", Endpoint::TakeInMessage),
    ("GET", "/triage/cases/{case_id}/messages", Endpoint::ReadMessages),
    ("POST", "/triage/cases/{case_id}/messages/read", Endpoint::MarkMessagesRead),
    ("POST", "/triage/cases/{case_id}/handover", Endpoint::HandOver),
    ("POST", "/triage/cases/{case_id}/check-ins", Endpoint::ScheduleCheckIn),
    ("POST", "/triage/cases/{case_id}/check-ins/{check_in_id}/complete", Endpoint::CompleteCheckIn),
    ("GET", "/triage/check-ins", Endpoint::ListCheckIns),
    ("GET", "/triage/stats", Endpoint::Stats),
    ("GET", "/triage/stats/report", Endpoint::StatsReport),
    ("POST", "/triage/stats/rebuild", Endpoint::StatsRebuild),
];

/// The triage component.
pub struct Triage;

impl Service for Triage {
    const NAME: &'static str = COMPONENT;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    type Endpoint = Endpoint;
    type Config = TriageConfig;
    const ROUTES: &'static RouteTable<Endpoint> = ROUTES;
    const HEALTH: Endpoint = Endpoint::Health;

    fn config(variables: &dyn Variables) -> Result<TriageConfig, ConfigError> {
        TriageConfig::load(variables)
    }

    fn health<S: KeyValue>(
        config: Result<&TriageConfig, &ConfigError>,
        open_store: impl FnOnce() -> Result<S, StoreError>,
        clock: &dyn Clock,
    ) -> Response {
        endpoints::health_answer(config, open_store, clock.now())
    }

    fn dispatch<S: KeyValue, O: Outbound>(
        ctx: &Ctx<'_, S, O>,
        endpoint: Endpoint,
        params: &PathParams,
        req: &Request,
    ) -> Result<Response, Problem> {
        match endpoint {
            Endpoint::Health => endpoints::health(ctx, params, req),
            Endpoint::Handover => endpoints::handover(ctx, params, req),
            Endpoint::Sweep => endpoints::sweep(ctx, params, req),
            Endpoint::SweepTick => endpoints::sweep_tick(ctx, params, req),
            Endpoint::CreateToken => endpoints::create_token(ctx, params, req),
            Endpoint::ListTokens => endpoints::list_tokens(ctx, params, req),
            Endpoint::ReadTokenAudit => endpoints::read_token_audit(ctx, params, req),
            Endpoint::ReadOrganisationAudit => endpoints::read_organisation_audit(ctx, params, req),
            Endpoint::RevokeToken => endpoints::revoke_token(ctx, params, req),
            Endpoint::ListCases => endpoints::list_cases(ctx, params, req),
            Endpoint::ReadCase => endpoints::read_case(ctx, params, req),
            Endpoint::ReadAudit => endpoints::read_audit(ctx, params, req),
            Endpoint::VerifyAudit => endpoints::verify_audit(ctx, params, req),
            Endpoint::Acknowledge => endpoints::acknowledge(ctx, params, req),
            Endpoint::Assign => endpoints::assign(ctx, params, req),
            Endpoint::OverridePriority => endpoints::override_priority(ctx, params, req),
            Endpoint::ChangeStatus => endpoints::change_status(ctx, params, req),
            Endpoint::MessageReporter => endpoints::message_reporter(ctx, params, req),
            Endpoint::TakeInMessage => endpoints::take_in_message(ctx, params, req),
            Endpoint::ReadMessages => endpoints::read_messages(ctx, params, req),
            Endpoint::MarkMessagesRead => endpoints::mark_messages_read(ctx, params, req),
            Endpoint::HandOver => endpoints::hand_over(ctx, params, req),
            Endpoint::ScheduleCheckIn => endpoints::schedule_check_in(ctx, params, req),
            Endpoint::CompleteCheckIn => endpoints::complete_check_in(ctx, params, req),
            Endpoint::ListCheckIns => endpoints::list_check_ins(ctx, params, req),
            Endpoint::Stats => endpoints::stats(ctx, params, req),
            Endpoint::StatsReport => endpoints::stats_report(ctx, params, req),
            Endpoint::StatsRebuild => endpoints::stats_rebuild(ctx, params, req),
        }
    }
}

/// Serves one request (the Spin entry point and the native tests call this).
pub fn handle<S: KeyValue, O: Outbound>(
    req: Request,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    ports: Ports<'_, O>,
) -> Response {
    shared::service::handle::<Triage, S, O>(req, open_store, ports)
}
