//! Check-ins: planned contacts with the reporter, and the organisation's agenda.

use super::owned_update;
use crate::context::{case_cipher, Ctx};
use crate::core::agenda;
use crate::core::checkins::{self, NewCheckIn};
use crate::core::org_audit::{audit_list_read, Listing};
use crate::http::forms::{AgendaForm, CheckInForm, CompletionForm};
use crate::http::views::CheckInChanged;
use shared::case::CaseRecord;
use shared::id::CheckInId;
use shared::kv::versioned::Versioned;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::web::{self, PathParams, Request, Response};

/// `POST /triage/cases/{case_id}/check-ins`: a confidant plans a contact.
pub fn schedule_check_in<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, id, version) = owned_update(ctx, params, req)?;
    let form: CheckInForm = web::read_json_object(req)?;
    let new = NewCheckIn { due_at: form.due_at, purpose: form.purpose, note: form.note.map(|n| n.into_inner()) };
    let (doc, check_in_id) = checkins::schedule_check_in(ctx, &who, &id, version, &new)?;
    check_in_response(ctx, 201, &doc, &check_in_id)
}

/// `POST /triage/cases/{case_id}/check-ins/{check_in_id}/complete`: the contact happened.
pub fn complete_check_in<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, id, version) = owned_update(ctx, params, req)?;
    // A malformed id names no check-in: 404, after ownership and version.
    let check_in_id = CheckInId::parse(params.get("check_in_id")).map_err(|_| Problem::not_found())?;
    let form: CompletionForm = web::read_json_object(req)?;
    let doc = checkins::complete_check_in(ctx, &who, &id, version, &check_in_id, form.outcome, &form.note)?;
    check_in_response(ctx, 200, &doc, &check_in_id)
}

/// `GET /triage/check-ins`: the organisation's agenda of check-ins.
pub fn list_check_ins<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = ctx.staff(req)?;
    let query = web::read_query::<AgendaForm>(req)?.at(ctx.now())?;
    audit_list_read(ctx, &who, Listing::CheckIns)?;
    Ok(web::no_store(web::json(200, &agenda::agenda(ctx, who.organisation, &query)?)))
}

/// What a check-in change answers: the case's new version and the check-in.
fn check_in_response<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    status: u16,
    doc: &Versioned<CaseRecord>,
    check_in_id: &CheckInId,
) -> Result<Response, Problem> {
    let view = CheckInChanged::of(doc, check_in_id, &case_cipher(ctx, &doc.data.id)?)?;
    Ok(web::no_store(web::json_with_etag(status, &view, doc.version)))
}
