//! Staff tokens and the organisation's audit: admins only.

use super::admin_listing;
use crate::context::Ctx;
use crate::core::org_audit::{self, Listing};
use crate::core::tokens::{self, NewToken};
use crate::http::views::{CreatedToken, TokenAudit, TokenList, TokenView};
use shared::id::TokenId;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::web::{self, PathParams, Request, Response};

/// `POST /triage/tokens`: an admin issues a staff token.
pub fn create_token<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let admin = ctx.staff(req)?;
    admin.require_admin()?;
    let form: NewToken = web::read_json_object(req)?;
    let created = tokens::create_token(ctx, &admin, form)?;
    let r = created.record;
    let view = CreatedToken {
        id: r.id.clone(),
        token: created.secret,
        organisation: r.organisation,
        role: r.role,
        scope: r.scope,
        created_at: r.created_at,
        expires_at: r.expires(),
        holder: r.holder,
    };
    Ok(web::no_store(web::json(201, &view)))
}

/// `GET /triage/tokens`: the tokens an admin manages.
pub fn list_tokens<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin_listing(ctx, req, Listing::Tokens)?;
    let listed = tokens::list_tokens(ctx, &who)?;
    let tokens = listed.iter().map(TokenView::from).collect();
    Ok(web::no_store(web::json(200, &TokenList { tokens })))
}

/// `GET /triage/tokens/audit`: who issued and revoked which token.
pub fn read_token_audit<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin_listing(ctx, req, Listing::TokenAudit)?;
    let entries = tokens::token_audit_trail(ctx, &who)?;
    Ok(web::no_store(web::json(200, &TokenAudit { entries })))
}

/// `GET /triage/audit`: the organisation's audit (list reads, purges).
pub fn read_organisation_audit<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let audit = org_audit::organisation_audit(ctx, &ctx.staff(req)?)?;
    Ok(web::no_store(web::json(200, &audit)))
}

/// `DELETE /triage/tokens/{token_id}`: an admin revokes a token.
pub fn revoke_token<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let admin = ctx.staff(req)?;
    let id = TokenId::parse(params.get("token_id")).map_err(|_| Problem::not_found())?;
    let r = tokens::revoke_token(ctx, &admin, &id)?;
    Ok(web::json(200, &TokenView::from(&r)))
}
