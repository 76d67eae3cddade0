//! The platform's endpoints: health, intake's hand-over and messages, the sweep, and
//! the one-off rebuild of the figures.

use super::platform_or;
use crate::config::TriageConfig;
use crate::context::{Ctx, COMPONENT};
use crate::core::{conversation, stats, sweep, triage};
use shared::calls::{TakeInMessage, TakenIn, TriageCase, Triaged};
use shared::config::ConfigError;
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::problem::{Problem, ProblemKind};
use shared::service::Service;
use shared::time::Timestamp;
use shared::web::{self, PathParams, Request, Response};

/// The health answer: configuration, store, and how the sweep keeps up.
pub fn health<S: KeyValue>(
    config: Result<&TriageConfig, &ConfigError>,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    now: Timestamp,
) -> Response {
    let kid = config.ok().map(|c| c.keyring.current_kid().to_string());
    let interval = config.map(|c| c.sweep_interval).map_err(Clone::clone);
    let version = crate::routes::Triage::VERSION;
    shared::watchdog::health(COMPONENT, version, interval, open_store, now, |store, record| {
        sweep::health_details(store, record, now, kid.as_deref())
    })
}

/// `POST /triage/internal/cases`: intake hands a case over for triage.
pub fn handover<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    ctx.verify_internal(req)?;
    let call: TriageCase = web::read_json_object(req)?;
    let doc = triage::triage(ctx, &call.case_id)?;
    let priority = doc.data.assessment.as_ref().map(|a| a.priority);
    Ok(web::json(200, &Triaged { case_id: doc.data.id, status: doc.data.status, priority }))
}

/// `POST /triage/internal/messages`: intake passes on a reporter's message.
pub fn take_in_message<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    ctx.verify_internal(req)?;
    let call: TakeInMessage = web::read_json_object(req)?;
    let taken_in = conversation::take_in_message(ctx, &call.case_id, call.slot)?;
    Ok(web::json(200, &TakenIn { case_id: call.case_id, slot: call.slot, taken_in }))
}

/// `POST /triage/sweep`: the platform's scheduler (internal secret) or a programme admin.
pub fn sweep<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    // Its report counts every organisation's cases: the programme's to run.
    platform_or(ctx, req, |who| who.require_programme_admin("run the sweep: it works on every organisation's cases"))?;
    let report = sweep::sweep(ctx)?;
    shared::watchdog::record_run(ctx.store, COMPONENT, ctx.config.sweep_interval, ctx.now(), &report.for_watchdog())?;
    Ok(web::json(200, &report))
}

/// `GET /triage/sweep/tick`: a platform scheduler that cannot send a header.
pub fn sweep_tick<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    _req: &Request,
) -> Result<Response, Problem> {
    let ticked =
        shared::watchdog::tick(ctx.store, COMPONENT, ctx.config.sweep_interval, ctx.now(), ctx.random, || {
            sweep::sweep(ctx).map(|report| report.for_watchdog())
        })?;
    Ok(web::json(200, &ticked))
}

/// `POST /triage/stats/rebuild`: the one-off count of cases from before counting began.
pub fn stats_rebuild<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    platform_or(ctx, req, |who| match who.is_programme_admin() {
        true => Ok(()),
        false => Err(Problem::new(ProblemKind::Forbidden, "programme admins only")),
    })?;
    Ok(web::json(200, &stats::rebuild::rebuild_stats(ctx)?))
}
