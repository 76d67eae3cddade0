//! Triage's handlers, one per endpoint, all of one shape: authenticate, parse, call the
//! core, build the answer. Split by area: the platform's calls ([`system`]), tokens and
//! the organisation audit ([`tokens`]), one case ([`cases`]), check-ins ([`check_ins`])
//! and the programme figures ([`stats`]).

pub mod cases;
pub mod check_ins;
pub mod stats;
pub mod system;
pub mod tokens;

pub use cases::*;
pub use check_ins::*;
pub use stats::*;
pub use system::*;
pub use tokens::*;

use crate::context::Ctx;
use crate::core::org_audit::{audit_list_read, Listing};
use crate::core::outbox;
use crate::core::workflow::owned;
use shared::auth::{Principal, INTERNAL_SECRET_HEADER};
use shared::case::CaseRecord;
use shared::id::CaseId;
use shared::kv::versioned::Versioned;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::web::{self, PathParams, Request};

/// The case the path names. A malformed id names no case: 404 like any other case the
/// caller cannot see.
fn case_id(params: &PathParams) -> Result<CaseId, Problem> {
    CaseId::parse(params.get("case_id")).map_err(|_| Problem::not_found())
}

/// The caller and the case of a case endpoint: the caller first, then the id.
fn staff_and_case<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<(Principal, CaseId), Problem> {
    let who = ctx.staff(req)?;
    Ok((who, case_id(params)?))
}

/// The caller and the case of the caller's organisation the path names (404 for
/// another organisation's case, as for one that does not exist).
fn owned_case<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<(Principal, Versioned<CaseRecord>), Problem> {
    let (who, id) = staff_and_case(ctx, params, req)?;
    let doc = owned(outbox::read_case(ctx, &id)?, &who)?;
    Ok((who, doc))
}

/// The caller, the case and the `If-Match` version of an update to a case of the
/// caller's organisation. The version is checked only after ownership: another
/// organisation's case is 404 whatever the headers say.
fn owned_update<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<(Principal, CaseId, u64), Problem> {
    let (who, doc) = owned_case(ctx, params, req)?;
    let version = web::if_match(req)?;
    Ok((who, doc.data.id, version))
}

/// The internal secret when the request carries one (the platform's scheduler), else
/// a staff member that `allowed` admits.
fn platform_or<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    req: &Request,
    allowed: impl FnOnce(Principal) -> Result<(), Problem>,
) -> Result<(), Problem> {
    if req.headers().contains_key(INTERNAL_SECRET_HEADER) {
        return ctx.verify_internal(req);
    }
    allowed(ctx.staff(req)?)
}

/// An admin reading a listing of their organisation: checked, and the read audited.
fn admin_listing<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    req: &Request,
    listed: Listing,
) -> Result<Principal, Problem> {
    let who = ctx.staff(req)?;
    who.require_admin()?;
    audit_list_read(ctx, &who, listed)?;
    Ok(who)
}
