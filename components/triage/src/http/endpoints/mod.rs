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
use crate::core::outbox;
use crate::core::workflow::owned;
use shared::auth::{authenticate, Principal};
use shared::id::CaseId;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::web::{self, PathParams, Request};

/// The staff member (or admin) the request's bearer token names.
fn staff<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, req: &Request) -> Result<Principal, Problem> {
    authenticate(ctx.store, req.headers(), &ctx.config.admin_token, &ctx.config.record_mac, ctx.now())
}

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
    let who = staff(ctx, req)?;
    Ok((who, case_id(params)?))
}

/// The `If-Match` version of an update, checked only after ownership: another
/// organisation's case is 404 whatever the headers say.
fn owned_if_match<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &CaseId,
    req: &Request,
) -> Result<u64, Problem> {
    owned(outbox::read_case(ctx, id)?, who)?;
    web::if_match(req)
}
