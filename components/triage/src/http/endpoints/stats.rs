//! The programme figures: JSON or CSV, and the HTML report.

use crate::context::Ctx;
use crate::core::stats::answer::StatsAnswer;
use crate::core::stats::layout::Month;
use crate::core::stats::query;
use crate::http::forms::StatsForm;
use crate::http::stats_report;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::web::{self, PathParams, Request, Response};

/// The figures the request asks for, for the caller the route authenticates.
fn answer<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, req: &Request) -> Result<StatsAnswer, Problem> {
    let who = ctx.staff(req)?;
    let parsed = web::read_query::<StatsForm>(req)?.at(Month::of(ctx.now()))?;
    query::stats(ctx, &who, &parsed)
}

/// `GET /triage/stats`: JSON, or CSV with `Accept: text/csv`.
pub fn stats<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let answer = answer(ctx, req)?;
    let wants_csv = req
        .headers()
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.split(';').next().unwrap_or("").trim() == "text/csv"));
    if !wants_csv {
        return Ok(web::no_store(web::json(200, &answer)));
    }
    Ok(web::no_store(
        http::Response::builder()
            .status(200)
            .header(http::header::CONTENT_TYPE, "text/csv; charset=utf-8")
            .body(answer.csv().into_bytes())
            .expect("valid response parts"),
    ))
}

/// `GET /triage/stats/report`: the figures as one self-contained HTML page.
pub fn stats_report<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let body = stats_report::render(&answer(ctx, req)?).into_bytes();
    Ok(web::private_document(200, "text/html; charset=utf-8", stats_report::REPORT_CSP, body))
}
