//! One handler per endpoint of `routes.rs`, all of one shape: authenticate, parse,
//! call the core, build the answer. A form posted by a browser is handed to the
//! reporter pages (`pages/`), which call the same core and answer in HTML.

use super::forms::{request_language, MessageForm, ReportForm, StatusForm};
use super::views::{AddedMessageView, FiledView, StatusView};
use super::{pages, replayed};
use crate::config::IntakeConfig;
use crate::context::{self, Ctx, COMPONENT};
use crate::core::proof_of_work::{self, Proof};
use crate::core::submit::{self, IdempotencyKey, NewReport};
use crate::core::{lookup, sweep as sweeps};
use crate::routes::Intake;
use shared::config::ConfigError;
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::service::Service;
use shared::time::Timestamp;
use shared::web::{self, PathParams, Request, Response};

/// `POST /intake/reports`: files a report, checked in full before anything is written.
pub fn file_report<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let client = context::client(ctx, req.headers());
    if pages::is_form(req) {
        return Ok(pages::file_report(ctx, req, &client));
    }
    let form: ReportForm = web::read_json_object(req)?;
    let report = NewReport::parse(form, ctx.now(), request_language(req))?;
    let key = header(req, "idempotency-key", IdempotencyKey::parse)?;
    let proof = header(req, proof_of_work::HEADER, Proof::parse)?;
    let filed = submit::file(ctx, report, req.body(), &client, key, proof)?;
    Ok(replayed(web::no_store(web::json(201, &FiledView::of(&filed))), filed.replayed))
}

/// `POST /intake/reports/status`: the status and messages behind a receipt code.
pub fn status<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let client = context::client(ctx, req.headers());
    if pages::is_form(req) {
        return Ok(pages::show_status(ctx, req, &client));
    }
    let form: StatusForm = web::read_json_object(req)?;
    let status = lookup::status(ctx, &form.receipt_code.0, &client)?;
    Ok(web::no_store(web::json(200, &StatusView::of(&status))))
}

/// `POST /intake/reports/messages`: the reporter's follow-up message.
pub fn add_message<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let client = context::client(ctx, req.headers());
    if pages::is_form(req) {
        return Ok(pages::add_message(ctx, req, &client));
    }
    let form: MessageForm = web::read_json_object(req)?;
    let (code, text, follow_up) = form.parse()?;
    let added = lookup::add_message(ctx, &code, text, follow_up, &client)?;
    Ok(web::no_store(web::json(201, &AddedMessageView::of(&added))))
}

/// `POST /intake/sweep`: the scheduler's sweep, with the internal secret.
pub fn sweep<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    ctx.verify_internal(req)?;
    let swept = sweeps::sweep(ctx)?;
    shared::watchdog::record_run(ctx.store, COMPONENT, ctx.config.sweep_interval, ctx.now(), &swept)?;
    Ok(web::json(200, &swept))
}

/// `GET /intake/sweep/tick`: the sweep for a scheduler that cannot send a header, run
/// at most once per half interval however often it is called.
pub fn sweep_tick<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    _req: &Request,
) -> Result<Response, Problem> {
    let interval = ctx.config.sweep_interval;
    let ticked = shared::watchdog::tick(ctx.store, COMPONENT, interval, ctx.now(), ctx.random, || sweeps::sweep(ctx))?;
    Ok(web::json(200, &ticked))
}

/// `GET /intake/health`: configuration, store, and how the sweep stands.
pub fn health<S: KeyValue>(
    config: Result<&IntakeConfig, &ConfigError>,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    now: Timestamp,
) -> Response {
    let interval = config.map(|c| c.sweep_interval).map_err(Clone::clone);
    shared::watchdog::health(COMPONENT, Intake::VERSION, interval, open_store, now, |_, _| Default::default())
}

/// An optional header, parsed; a value that is not text is parsed as empty (refused).
fn header<T>(req: &Request, name: &str, parse: impl FnOnce(&str) -> Result<T, Problem>) -> Result<Option<T>, Problem> {
    req.headers().get(name).map(|v| parse(v.to_str().unwrap_or(""))).transpose()
}
