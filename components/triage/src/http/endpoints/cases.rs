//! One organisation's cases: the list, one case, its audit and conversation, and the
//! confidants' changes. Another organisation's case is 404 whoever asks.

use super::{owned_case, owned_update, staff_and_case};
use crate::context::{case_cipher, Ctx};
use crate::core::conversation::MessagesQuery;
use crate::core::listing::{self, Query};
use crate::core::org_audit::{audit_list_read, Listing};
use crate::core::{audit, conversation, outbox, transfer, workflow};
use crate::http::forms::{AssignForm, HandOverForm, MarkReadForm, MessageForm, PriorityForm, StatusForm};
use crate::http::views::{case_view, CaseState, MessageSent, SentMessage};
use shared::case::{CaseRecord, MessageAuthor};
use shared::kv::versioned::Versioned;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::web::{self, PathParams, Request, Response};

/// `GET /triage/cases`: the caller's organisation's cases, filtered and paged.
pub fn list_cases<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = ctx.staff(req)?;
    let query: Query = web::read_query(req)?;
    audit_list_read(ctx, &who, Listing::Cases)?;
    Ok(web::no_store(web::json(200, &listing::list(ctx, who.organisation, &query)?)))
}

/// `GET /triage/cases/{case_id}`: the case, opened, with its ETag.
pub fn read_case<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, id) = staff_and_case(ctx, params, req)?;
    let doc = workflow::read_for(ctx, &who, &id)?;
    let view = case_view(&doc, &case_cipher(ctx, &doc.data.id)?)?;
    Ok(web::no_store(web::json_with_etag(200, &view, doc.version)))
}

/// `GET /triage/cases/{case_id}/audit`: the case's audit trail.
pub fn read_audit<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, doc) = owned_case(ctx, params, req)?;
    audit::audit_read(ctx, &doc.data, &who, "audit_read")?;
    Ok(web::no_store(web::json(200, &audit::audit_trail(ctx, &doc.data.id)?)))
}

/// `GET /triage/cases/{case_id}/audit/verify`: admins check the trail's chain.
pub fn verify_audit<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, doc) = owned_case(ctx, params, req)?;
    // Admins only, and another organisation's case is 404 whoever asks.
    who.require_admin()?;
    audit::audit_read(ctx, &doc.data, &who, "audit_verified")?;
    Ok(web::no_store(web::json(200, &audit::verify_audit(ctx, &doc.data.id)?)))
}

/// `GET /triage/cases/{case_id}/messages`: the conversation with the reporter.
pub fn read_messages<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, id) = staff_and_case(ctx, params, req)?;
    let query: MessagesQuery = web::read_query(req)?;
    Ok(web::no_store(web::json(200, &conversation::conversation(ctx, &who, &id, query)?)))
}

/// `POST /triage/cases/{case_id}/messages/read`: the reporter's messages up to one are read.
pub fn mark_messages_read<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, id, version) = owned_update(ctx, params, req)?;
    let form: MarkReadForm = web::read_json_object(req)?;
    Ok(state_response(&conversation::mark_read(ctx, &who, &id, version, form.up_to)?))
}

/// `POST /triage/cases/{case_id}/handover`: the case moves to another organisation.
pub fn hand_over<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, id) = staff_and_case(ctx, params, req)?;
    // Ownership (or BZK admin) before the version: 404 whatever the headers say.
    transfer::handed_over_by(outbox::read_case(ctx, &id)?, &who)?;
    let version = web::if_match(req)?;
    let form: HandOverForm = web::read_json_object(req)?;
    Ok(state_response(&transfer::hand_over(ctx, &who, &id, version, form.organisation, &form.reason)?))
}

/// `POST /triage/cases/{case_id}/messages`: a confidant writes to the reporter.
pub fn message_reporter<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, id) = staff_and_case(ctx, params, req)?;
    let form: MessageForm = web::read_json_object(req)?;
    let (at, _) = workflow::message_reporter(ctx, &who, &id, &form.text)?;
    let message = SentMessage { author: MessageAuthor::Confidant, at, text: form.text.into_inner() };
    Ok(web::no_store(web::json(201, &MessageSent { case_id: id, message })))
}

/// `POST /triage/cases/{case_id}/acknowledge`: a confidant has the case in hand.
pub fn acknowledge<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, id, version) = owned_update(ctx, params, req)?;
    Ok(state_response(&workflow::acknowledge(ctx, &who, &id, version)?))
}

/// `POST /triage/cases/{case_id}/assign`: a confidant and network members take the case.
pub fn assign<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, id, version) = owned_update(ctx, params, req)?;
    let form: AssignForm = web::read_json_object(req)?;
    let reason = form.reason.as_ref().map(|r| r.as_str());
    Ok(state_response(&workflow::assign(ctx, &who, &id, version, &form.confidant, &form.members, reason)?))
}

/// `POST /triage/cases/{case_id}/priority`: a confidant overrides the priority.
pub fn override_priority<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, id, version) = owned_update(ctx, params, req)?;
    let form: PriorityForm = web::read_json_object(req)?;
    Ok(state_response(&workflow::override_priority(ctx, &who, &id, version, form.priority, &form.reason)?))
}

/// `POST /triage/cases/{case_id}/status`: the case moves along its lifecycle.
pub fn change_status<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let (who, id, version) = owned_update(ctx, params, req)?;
    let form: StatusForm = web::read_json_object(req)?;
    let no_aftercare = form.no_aftercare_reason.as_ref().map(|r| r.as_str());
    let doc = workflow::change_status(ctx, &who, &id, version, form.status, &form.reason, no_aftercare)?;
    Ok(state_response(&doc))
}

/// What an update answers: the case's new state and its ETag.
fn state_response(doc: &Versioned<CaseRecord>) -> Response {
    web::no_store(web::json_with_etag(200, &CaseState::of(doc), doc.version))
}
