//! Triage's routes: every endpoint of `openapi.yaml`, and the one dispatch that sends
//! each to its handler in [`crate::http::endpoints`].

use crate::config::TriageConfig;
use crate::context::{Ctx, COMPONENT};
use crate::http::endpoints;
use shared::config::{ConfigError, Variables};
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::service::Service;
use shared::web::{PathParams, Ports, Request, Response, RouteTable};

/// Triage's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /triage/health`: liveness, configuration, store and sweep.
    Health,
    /// `POST /triage/internal/cases`: intake hands a case over for triage.
    Handover,
    /// `POST /triage/sweep`: the periodic sweep (scheduler or programme admin).
    Sweep,
    /// `GET …/sweep/tick`: a platform scheduler that cannot send a header.
    SweepTick,
    /// `POST /triage/tokens`: an admin issues a staff token.
    CreateToken,
    /// `GET /triage/tokens`: the tokens an admin manages.
    ListTokens,
    /// `GET /triage/tokens/audit`: who issued and revoked which token.
    ReadTokenAudit,
    /// `GET /triage/audit`: the organisation's audit of list reads and purges.
    ReadOrganisationAudit,
    /// `DELETE /triage/tokens/{token_id}`: an admin revokes a token.
    RevokeToken,
    /// `GET /triage/cases`: the organisation's cases, filtered and paged.
    ListCases,
    /// `GET /triage/cases/{case_id}`: one case, opened.
    ReadCase,
    /// `GET /triage/cases/{case_id}/audit`: the case's audit trail.
    ReadAudit,
    /// `GET /triage/cases/{case_id}/audit/verify`: admins check the trail's chain.
    VerifyAudit,
    /// `POST /triage/cases/{case_id}/acknowledge`: first contact is in hand.
    Acknowledge,
    /// `POST /triage/cases/{case_id}/assign`: a confidant and network members take the case.
    Assign,
    /// `POST /triage/cases/{case_id}/priority`: a confidant overrides the priority.
    OverridePriority,
    /// `POST /triage/cases/{case_id}/status`: the case moves along its lifecycle.
    ChangeStatus,
    /// `POST /triage/cases/{case_id}/messages`: a confidant writes to the reporter.
    MessageReporter,
    /// `POST /triage/internal/messages`: intake passes on a reporter's message.
    TakeInMessage,
    /// `GET /triage/cases/{case_id}/messages`: the conversation with the reporter.
    ReadMessages,
    /// `POST /triage/cases/{case_id}/messages/read`: reporter messages up to one are read.
    MarkMessagesRead,
    /// `POST /triage/cases/{case_id}/handover`: the case moves to another organisation.
    HandOver,
    /// `POST /triage/cases/{case_id}/check-ins`: a confidant plans a contact.
    ScheduleCheckIn,
    /// `POST /triage/cases/{case_id}/check-ins/{check_in_id}/complete`: the contact happened.
    CompleteCheckIn,
    /// `GET /triage/check-ins`: the organisation's agenda of check-ins.
    ListCheckIns,
    /// `GET /triage/stats`: the programme figures (JSON, or CSV).
    Stats,
    /// `GET /triage/stats/report`: the figures as one HTML page.
    StatsReport,
    /// `POST /triage/stats/rebuild`: the one-off count of cases from before counting began.
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

    fn health<S: KeyValue, O: Outbound>(
        config: Result<&TriageConfig, &ConfigError>,
        open_store: impl FnOnce() -> Result<S, StoreError>,
        ports: &Ports<'_, O>,
        _correlation_id: &str,
    ) -> Response {
        endpoints::health(config, open_store, ports.clock.now())
    }

    fn dispatch<S: KeyValue, O: Outbound>(
        ctx: &Ctx<'_, S, O>,
        endpoint: Endpoint,
        params: &PathParams,
        req: &Request,
    ) -> Result<Response, Problem> {
        match endpoint {
            Endpoint::Health => unreachable!("answered by Service::health before dispatch"),
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
