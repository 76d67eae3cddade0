//! One handler per endpoint: authenticate, parse, call the core, answer.
//!
//! Who may call what: the network is shared by every organisation, so it has one
//! owner, the programme. Programme admins change it and read who read contact details;
//! any admin reads one member's contact details (audited); confidants and admins search
//! and match; triage (with the internal secret) matches, assigns and releases. A
//! known-but-not-allowed action is 403: members are nobody's secret to hide from staff,
//! so there is no existence to conceal.

use crate::context::Ctx;
use crate::core::contact_audit::{self, AuditLog, ContactRead, LogRead};
use crate::core::load;
use crate::core::matching::{match_members, Criteria};
use crate::core::member::{MemberForm, MemberProfile};
use crate::core::record::{Load, MemberRecord};
use crate::core::registry;
use crate::http::forms::{self, AuditPageQuery, MemberQuery, PurposeQuery};
use crate::http::views::{EntryPage, Imported, MemberPage, MemberView};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::auth::Principal;
use shared::calls::{MatchRequest, MemberCase, MemberLoad};
use shared::id::{CaseId, MemberId};
use shared::kv::versioned::Versioned;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::web::{self, read_query, PathParams, Request, Response};

/// What a change to the network requires.
const CHANGE_THE_NETWORK: &str = "do this in the network";

/// `POST /directory/members/import`: all-or-nothing, every bad record listed.
pub fn import<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    programme_admin(ctx, req)?;
    let records = forms::import_records(req)?;
    let member_ids = registry::import(ctx, records)?;
    Ok(web::json(201, &Imported { imported: member_ids.len(), member_ids }))
}

/// `POST /directory/members`: a new member with an id of ours.
pub fn create<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    programme_admin(ctx, req)?;
    let form: MemberForm = web::read_json(req)?;
    if form.id.is_some() {
        return Err(Problem::invalid_field("/id", "ids are given by the directory; only imports may bring one"));
    }
    let profile = MemberProfile::parse_one(&form)?;
    let doc = registry::create(ctx, profile)?;
    let mut response = member_response(ctx, 201, &doc, &Load::default());
    let location = format!("/directory/members/{}", doc.data.id);
    response.headers_mut().insert(http::header::LOCATION, location.parse().expect("ascii id"));
    Ok(response)
}

/// `GET /directory/members`: a filtered page, without contact details.
pub fn list<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, _: &PathParams, req: &Request) -> Result<Response, Problem> {
    ctx.staff(req)?;
    let query: MemberQuery = read_query(req)?;
    let page = registry::list(ctx, &query.filters, query.page.cursor, query.page.limit())?;
    let now = ctx.now();
    let members = page.members.iter().map(|(m, l)| MemberView::of(m, l, now, None)).collect();
    let body = MemberPage { members, next_cursor: page.next_cursor.map(|c| c.to_string()) };
    Ok(web::no_store(web::json(200, &body)))
}

/// `GET /directory/members/{member_id}`: one member with contact details, after the read
/// is recorded in the audit log.
pub fn read<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = ctx.staff(req)?;
    who.require_admin()?;
    let purpose = read_query::<PurposeQuery>(req)?.purpose()?;
    let id = member_id(params)?;
    let stored = registry::read(ctx, &id)?;
    // Alone and before the answer: no audit entry, no contact details.
    contact_audit::record(ctx, &ContactRead::new(&who, &id, &purpose, ctx.now(), ctx.correlation_id))?;
    let member = &stored.member.data;
    let contact = member.open_contact(&ctx.config.keyring).map_err(Problem::internal)?;
    let view = MemberView::of(member, &stored.load, ctx.now(), Some(&contact));
    Ok(web::no_store(web::json_with_etag(200, &view, stored.member.version)))
}

/// `PUT /directory/members/{member_id}`: a new profile, if `If-Match` is still current.
pub fn update<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    programme_admin(ctx, req)?;
    let id = member_id(params)?;
    let expected = web::if_match(req)?;
    let form: MemberForm = web::read_json(req)?;
    if form.id.as_ref().is_some_and(|given| *given != id) {
        return Err(Problem::invalid_field("/id", "does not match the member in the path"));
    }
    let profile = MemberProfile::parse_one(&form)?;
    let doc = registry::update(ctx, &id, expected, profile)?;
    let load = registry::read(ctx, &id)?.load;
    Ok(member_response(ctx, 200, &doc, &load))
}

/// `POST /directory/members/{member_id}/deactivate`: kept for history, never matched again.
pub fn deactivate<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    programme_admin(ctx, req)?;
    let id = member_id(params)?;
    let doc = registry::deactivate(ctx, &id)?;
    let load = registry::read(ctx, &id)?.load;
    Ok(member_response(ctx, 200, &doc, &load))
}

/// `POST /directory/match`: staff ask who could help.
pub fn admin_match<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    ctx.staff(req)?;
    answer_match(ctx, req)
}

/// `POST /directory/internal/match`: triage asks who could help.
pub fn internal_match<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    ctx.verify_internal(req)?;
    answer_match(ctx, req)
}

/// `POST /directory/internal/members/{member_id}/assign`: 409 when the member is full.
pub fn assign<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    change_load(ctx, params, req, load::assign)
}

/// `POST /directory/internal/members/{member_id}/release`.
pub fn release<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    change_load(ctx, params, req, load::release)
}

/// Assign or release: a component's call that changes a member's load by `change`.
fn change_load<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
    change: impl FnOnce(&Ctx<'_, S, O>, &MemberId, &CaseId, Option<&str>) -> Result<MemberLoad, Problem>,
) -> Result<Response, Problem> {
    ctx.verify_internal(req)?;
    let id = member_id(params)?;
    let body: MemberCase = web::read_json(req)?;
    let hold = body.hold.as_ref().map(|h| h.as_str());
    Ok(web::json(200, &change(ctx, &id, &body.case_id, hold)?))
}

/// `GET /directory/audit/contact-reads`.
pub fn contact_reads<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    audit_page::<_, _, ContactRead>(ctx, req, AuditLog::ContactReads)
}

/// `GET /directory/audit/log-reads`.
pub fn log_reads<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    audit_page::<_, _, LogRead>(ctx, req, AuditLog::LogReads)
}

fn answer_match<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, req: &Request) -> Result<Response, Problem> {
    let request: MatchRequest = web::read_json(req)?;
    let criteria = Criteria::parse(request)?;
    Ok(web::no_store(web::json(200, &match_members(ctx, &criteria)?)))
}

/// A page of an audit log, after the read itself is recorded.
fn audit_page<S: KeyValue, O, T: DeserializeOwned + Serialize>(
    ctx: &Ctx<'_, S, O>,
    req: &Request,
    log: AuditLog,
) -> Result<Response, Problem> {
    let who = programme_admin(ctx, req)?;
    let query: AuditPageQuery = read_query(req)?;
    // Alone and before the answer: an audit read that is not recorded is not answered.
    contact_audit::record_log_read(ctx, &LogRead::new(&who, log, query.cursor, ctx.now(), ctx.correlation_id))?;
    let page = contact_audit::page::<_, _, T>(ctx, log, query.cursor, query.limit())?;
    Ok(web::no_store(web::json(200, &EntryPage::from(page))))
}

fn member_response<S, O>(ctx: &Ctx<'_, S, O>, status: u16, doc: &Versioned<MemberRecord>, load: &Load) -> Response {
    let view = MemberView::of(&doc.data, load, ctx.now(), None);
    web::no_store(web::json_with_etag(status, &view, doc.version))
}

fn member_id(params: &PathParams) -> Result<MemberId, Problem> {
    MemberId::parse(params.get("member_id")).map_err(|_| Problem::not_found())
}

/// A programme admin: the network's owner.
fn programme_admin<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, req: &Request) -> Result<Principal, Problem> {
    let who = ctx.staff(req)?;
    who.require_programme_admin(CHANGE_THE_NETWORK)?;
    Ok(who)
}
