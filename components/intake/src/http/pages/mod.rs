//! The reporter pages: plain HTML forms over the same rules as the JSON API, for people
//! who will never use curl. A form posts to the API's own endpoint; its media type
//! (`application/x-www-form-urlencoded`) chooses an HTML answer. The form is turned into
//! the API's JSON and checked, filed and looked up by the same code; only the answer is
//! rendered differently. A receipt code travels only in POST bodies.
//!
//! Every page is sent with a strict Content-Security-Policy (nothing but our own
//! stylesheet, forms only to ourselves, never framed), no referrer and no caching. There
//! is no JavaScript, no cookie and nothing from another origin.

pub mod check;
pub mod fields;
pub mod form;
pub mod html;
pub mod local_time;
pub mod texts;
pub mod views;

use super::forms::{request_language, MessageForm, PageQuery, StatusForm};
use super::replayed;
use crate::context::{Ctx, COMPONENT};
use crate::core::client::Client;
use crate::core::lookup;
use crate::core::submit::{self, IdempotencyKey};
use form::{field_of, Form, KEY_FIELD, LANGUAGE_FIELD};
use shared::domain::Language;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::{Problem, ProblemKind};
use shared::random::Random;
use shared::web::{self, Request, Response};
use texts::Texts;
use views::Errors;

pub use form::is_form;

/// The policy of every page: nothing loads but our stylesheet, forms post only to us,
/// no page can be framed, no `<base>` can redirect links.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("style.css");

/// A page or the stylesheet: [`shared::web::private_document`] under our policy, and
/// never framed (for browsers that predate `frame-ancestors`).
fn with_safety_headers(status: u16, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = shared::web::private_document(status, content_type, CONTENT_SECURITY_POLICY, body);
    response.headers_mut().insert(http::header::X_FRAME_OPTIONS, http::HeaderValue::from_static("DENY"));
    response
}

fn page(status: u16, document: String) -> Response {
    with_safety_headers(status, "text/html; charset=utf-8", document.into_bytes())
}

/// `GET /intake/style.css`.
pub fn stylesheet() -> Response {
    with_safety_headers(200, "text/css; charset=utf-8", STYLESHEET.as_bytes().to_vec())
}

/// The page language: the one chosen on the page (`lang` in the form or the query),
/// else `Accept-Language`, else Dutch.
fn language(req: &Request, form: &Form) -> Language {
    let query: PageQuery = web::read_query(req).unwrap_or_default();
    let chosen = form.get(LANGUAGE_FIELD).or(query.lang.as_deref());
    chosen.and_then(|w| Language::parse(w).ok()).unwrap_or_else(|| request_language(req))
}

/// Reads a posted form once: the form (empty if unreadable, so a page can still be
/// shown), why it could not be read, and the page's texts.
fn posted(req: &Request) -> (Form, Option<Problem>, &'static Texts) {
    let (form, unreadable) = match Form::read(req.body()) {
        Ok(form) => (form, None),
        Err(problem) => (Form::default(), Some(problem)),
    };
    let t = texts::of(language(req, &form));
    (form, unreadable, t)
}

/// A one-time key for a new form: a double click sends it twice and files one report.
fn fresh_key(random: &dyn Random) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    shared::crypto::hex(&bytes)
}

/// `GET /intake/`: the report form.
pub fn report_page(req: &Request, random: &dyn Random) -> Response {
    let t = texts::of(language(req, &Form::default()));
    page(200, views::report_form(t, &Form::default(), &fresh_key(random), &Errors::default()))
}

/// `GET /intake/follow-up`: the form that asks for the receipt code.
pub fn follow_up_page(req: &Request) -> Response {
    let t = texts::of(language(req, &Form::default()));
    page(200, views::follow_up_form(t, &Form::default(), &Errors::default()))
}

/// What the reporter is told about problems: field errors beside their fields, the
/// rest above the form. Nothing of a problem's own (English, technical) text is shown.
fn errors_of(t: &Texts, problems: &[Problem], lookup: bool) -> Errors {
    let mut errors = Errors::default();
    for problem in problems {
        if let Some((field, message)) = field_error(t, problem) {
            if !errors.fields.iter().any(|(f, _)| *f == field) {
                errors.fields.push((field, message));
            }
            continue;
        }
        if lookup && problem.kind == ProblemKind::NotFound {
            errors.fields.push(("receipt_code".into(), t.unknown_receipt));
            continue;
        }
        let minutes = problem.retry_after.map_or(1, |s| s.div_ceil(60)).to_string();
        let notice = match problem.kind {
            ProblemKind::TooManyRequests if lookup => t.too_many_lookups.replace("{minutes}", &minutes),
            ProblemKind::TooManyRequests => t.too_many_reports.replace("{minutes}", &minutes),
            ProblemKind::Conflict => t.being_processed.to_string(),
            ProblemKind::IdempotencyKeyReused => t.form_used.to_string(),
            ProblemKind::InvalidField | ProblemKind::InvalidFields | ProblemKind::MalformedBody => {
                t.check_field.to_string()
            }
            _ => t.went_wrong.to_string(),
        };
        errors.notice.get_or_insert(notice);
    }
    errors
}

/// The page field a problem is about, with its message. Only fields the pages have: a
/// crafted name gets no summary link to nowhere. A missing group (`contact`) is named
/// by its first field (`contact.channel`).
fn field_error(t: &Texts, problem: &Problem) -> Option<(String, &'static str)> {
    if !matches!(problem.kind, ProblemKind::InvalidField | ProblemKind::InvalidFields | ProblemKind::MalformedBody) {
        return None;
    }
    let field = problem.field.as_deref().and_then(field_of)?;
    if let Some(message) = t.field_error(&field) {
        return Some((field, message));
    }
    let prefix = format!("{field}.");
    t.field_errors.iter().find(|(f, _)| f.starts_with(&prefix)).map(|(f, m)| (f.to_string(), *m))
}

/// Logs what the operator must see of a problem the page turned into words.
fn log_cause(problem: &Problem, correlation_id: &str) {
    if let Some(cause) = &problem.cause {
        shared::log::error(COMPONENT, correlation_id, problem.kind.slug(), &format!("{cause:#}"));
    }
}

/// The report form again, with what was typed and what is wrong with it.
fn report_again(t: &Texts, form: &Form, random: &dyn Random, problems: &[Problem]) -> Response {
    // A key used for other content is spent: the next send is a new report.
    let spent = problems.iter().any(|p| p.kind == ProblemKind::IdempotencyKeyReused);
    let key = match form.get(KEY_FIELD) {
        Some(key) if !spent => key.to_string(),
        _ => fresh_key(random),
    };
    let status = problems.first().map_or(500, |p| p.kind.status());
    page(status, views::report_form(t, form, &key, &errors_of(t, problems, false)))
}

/// A form post whose component could not be set up (configuration, store): the form
/// again, keeping what was typed.
pub fn unavailable(
    req: &Request,
    endpoint_is_report: bool,
    random: &dyn Random,
    problem: Problem,
    correlation_id: &str,
) -> Response {
    log_cause(&problem, correlation_id);
    let (form, _, t) = posted(req);
    let status = problem.kind.status();
    if endpoint_is_report {
        report_again(t, &form, random, &[problem])
    } else {
        page(status, views::follow_up_form(t, &form, &errors_of(t, &[problem], false)))
    }
}

/// `POST /intake/reports` from the form: files the report as the API does (same rules,
/// limits and idempotency: the form's one-time key is the `Idempotency-Key`) and
/// answers the confirmation page.
pub fn file_report<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, req: &Request, client: &Client) -> Response {
    let (form, unreadable, t) = posted(req);
    let filed = (|| {
        unreadable.map_or(Ok(()), |p| Err(vec![p]))?;
        let report = check::report(&form.to_json(), ctx.now(), t.language)?;
        let key = form.get(KEY_FIELD).map(IdempotencyKey::parse).transpose().map_err(|p| vec![p])?;
        submit::file(ctx, report, &form.canonical(), client, key, None).map_err(|p| vec![p])
    })();
    match filed {
        Ok(filed) => {
            // When contact is due, as the status lookup tells it: known for a retried
            // submission whose case triage has seen; a new report is answered before
            // triage runs, and the page says it in the terms every priority shares.
            let due = match filed.replayed {
                true => lookup::status(ctx, &filed.receipt, client).ok().and_then(|v| v.next_contact_due),
                false => None,
            };
            let confirmation = views::filed(t, &filed.receipt.to_string(), filed.emergency, &filed.advice, due);
            replayed(page(201, confirmation), filed.replayed)
        }
        Err(problems) => {
            problems.iter().for_each(|p| log_cause(p, ctx.correlation_id));
            report_again(t, &form, ctx.random, &problems)
        }
    }
}

/// `POST /intake/reports/status` from the follow-up form: the status page.
pub fn show_status<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, req: &Request, client: &Client) -> Response {
    let (form, unreadable, t) = posted(req);
    let looked_up = (|| {
        unreadable.map_or(Ok(()), Err)?;
        let asked: StatusForm = web::parse_json(&form.to_json())?;
        let view = lookup::status(ctx, &asked.receipt_code.0, client)?;
        Ok::<_, Problem>((asked.receipt_code.0.to_string(), view))
    })();
    match looked_up {
        Ok((receipt, view)) => page(200, views::status(t, &receipt, &view, &[], &Form::default(), &Errors::default())),
        Err(problem) => {
            log_cause(&problem, ctx.correlation_id);
            let mut retyped = Form::default();
            retyped.keep(&form, "receipt_code");
            page(problem.kind.status(), views::follow_up_form(t, &retyped, &errors_of(t, &[problem], true)))
        }
    }
}

/// `POST /intake/reports/messages` from the reply form: adds the message as the API
/// does and shows the conversation with it, the 112 advice first if danger was reported.
pub fn add_message<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, req: &Request, client: &Client) -> Response {
    let (form, unreadable, t) = posted(req);
    let added = (|| {
        unreadable.map_or(Ok(()), Err)?;
        let message: MessageForm = web::parse_json(&form.to_json())?;
        let (code, text, follow_up) = message.parse()?;
        let added = lookup::add_message(ctx, &code, text, follow_up, client)?;
        let view = lookup::status(ctx, &code, client)?;
        Ok::<_, Problem>((code.to_string(), added.advice, view))
    })();
    match added {
        Ok((receipt, advice, view)) => {
            page(201, views::status(t, &receipt, &view, &advice, &Form::default(), &Errors::default()))
        }
        Err(problem) => {
            log_cause(&problem, ctx.correlation_id);
            reply_again(ctx, t, &form, client, &problem)
        }
    }
}

/// A refused reply: the conversation again with the typed message kept, or, if the
/// receipt code itself is at fault, the follow-up form.
fn reply_again<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    t: &Texts,
    form: &Form,
    client: &Client,
    problem: &Problem,
) -> Response {
    let receipt = form.get("receipt_code").and_then(|c| shared::receipt::ReceiptCode::parse(c).ok());
    let receipt_at_fault = problem.field.as_deref().and_then(field_of).as_deref() == Some("receipt_code")
        || matches!(problem.kind, ProblemKind::NotFound | ProblemKind::TooManyRequests);
    if let (Some(code), false) = (receipt, receipt_at_fault) {
        if let Ok(view) = lookup::status(ctx, &code, client) {
            let status = problem.kind.status();
            let errors = errors_of(t, std::slice::from_ref(problem), false);
            return page(status, views::status(t, &code.to_string(), &view, &[], form, &errors));
        }
    }
    let mut retyped = Form::default();
    retyped.keep(form, "receipt_code");
    page(problem.kind.status(), views::follow_up_form(t, &retyped, &errors_of(t, std::slice::from_ref(problem), true)))
}
