//! Staff tokens: admins create, list and revoke them. The store keeps only the token's
//! hash (`auth/token/<sha256>`, read by every component's `authenticate`) and, to revoke
//! by id, `triage/token/<tok_id>` → the hash. The secret is shown once.
//!
//! A token names its holder (a person) and expires (`expires_in_days`, default
//! [`DEFAULT_TOKEN_DAYS`], at most `token_max_days`). Each organisation's tokens are
//! listed in a `SlotLog` (`triage/tokens/<org>`), and every issue and revocation is
//! written to the organisation's token audit (`triage/token-audit/<org>`) with who did
//! it. Tokens issued before the listing existed are not listed.
//!
//! Programme admins (the bootstrap admin, and BZK admins holding the `programme`
//! scope) may issue tokens for every organisation, to set the support team up; any
//! other admin only for their own organisation, so no admin can give themselves
//! another organisation's cases. Only a programme admin grants the programme scope,
//! and only to a BZK admin.

use crate::context::Ctx;
use crate::core::work::Actor;
use serde::{Deserialize, Serialize};
use shared::auth::{issue_token, token_key, Principal, StaffRole, TokenRecord, TokenScope, DEFAULT_TOKEN_DAYS};
use shared::domain::Organisation;
use shared::id::TokenId;
use shared::kv::slots::SlotLog;
use shared::kv::{get_json, to_json, KeyValue};
use shared::outbound::Outbound;
use shared::problem::{Problem, ProblemKind};
use shared::text::BoundedText;
use shared::time::{Duration, Timestamp};

/// What an admin asks for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub organisation: Organisation,
    pub role: StaffRole,
    /// The person who holds it (a name or staff number): 1 to 100 characters.
    pub holder: BoundedText<100>,
    /// Days until it expires: 1 to `token_max_days`; default 90 (or `token_max_days`
    /// if that is less).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// `programme`: a programme admin (BZK admins only, granted by a programme admin).
    #[serde(default)]
    pub scope: Option<TokenScope>,
}

#[derive(Debug, Serialize, Deserialize)]
struct TokenIndex {
    hash: String,
}

fn index_key(id: &TokenId) -> String {
    format!("triage/token/{id}")
}

/// An organisation's tokens, in the order they were issued.
fn listing(organisation: Organisation) -> SlotLog {
    SlotLog::new(format!("triage/tokens/{organisation}"))
}

/// An organisation's token audit: every issue and revocation.
fn token_audit(organisation: Organisation) -> SlotLog {
    SlotLog::new(format!("triage/token-audit/{organisation}"))
}

/// How many of the latest token audit entries are shown, per organisation.
pub const TOKEN_AUDIT_SHOWN: u64 = 100;

/// One entry of the token audit: what happened to which token, who did it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenAuditEntry {
    pub at: Timestamp,
    /// `token_issued` or `token_revoked`.
    pub action: String,
    pub token_id: TokenId,
    pub token_holder: String,
    pub organisation: Organisation,
    pub role: StaffRole,
    pub scope: Option<TokenScope>,
    /// Who did it: their token, and the person holding it.
    pub actor: Actor,
    pub holder: String,
}

/// A created token: the record, and the secret to hand over once.
pub struct Created {
    pub record: TokenRecord,
    pub secret: String,
}

/// Creates a token (admins only).
pub fn create_token<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    admin: &Principal,
    new: NewToken,
) -> Result<Created, Problem> {
    admin.require_admin()?;
    if !admin.is_programme_admin() && new.organisation != admin.organisation {
        return Err(Problem::invalid_field("/organisation", "you may issue tokens for your own organisation only"));
    }
    if new.scope == Some(TokenScope::Programme) {
        if !admin.is_programme_admin() {
            return Err(Problem::invalid_field("/scope", "only a programme admin may grant the programme scope"));
        }
        if new.organisation != Organisation::Bzk || new.role != StaffRole::Admin {
            return Err(Problem::invalid_field("/scope", "the programme scope is for BZK admins only"));
        }
    }
    let max_days = ctx.config.token_max_days;
    let days = match new.expires_in_days {
        None => DEFAULT_TOKEN_DAYS.min(max_days),
        Some(d) if (1..=max_days).contains(&d) => d,
        Some(_) => {
            return Err(Problem::invalid_field("/expires_in_days", format!("must be 1 to {max_days} (token_max_days)")))
        }
    };
    let now = ctx.clock.now();
    let issued = issue_token(ctx.random);
    let record = TokenRecord {
        id: TokenId::generate(ctx.random),
        organisation: new.organisation,
        role: new.role,
        holder: new.holder.into_inner(),
        created_at: now,
        expires_at: Some(now + Duration::days(days.into())),
        revoked_at: None,
        scope: new.scope,
        mac: None,
    }
    .signed(&ctx.config.record_mac, &token_key(&issued.hash));
    let list_slot = listing(record.organisation).reserve(ctx.store)?;
    let audit = token_audit_entry(ctx, admin, "token_issued", &record)?;
    let index = TokenIndex { hash: issued.hash.clone() };
    ctx.store.set_many(&[
        (token_key(&issued.hash), to_json(&record)),
        (index_key(&record.id), to_json(&index)),
        (listing(record.organisation).key(list_slot), to_json(&index)),
        audit,
    ])?;
    Ok(Created { record, secret: issued.secret })
}

/// The audit entry (key and value) of `action` on `record` by `admin`.
fn token_audit_entry<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    admin: &Principal,
    action: &str,
    record: &TokenRecord,
) -> Result<(String, Vec<u8>), Problem> {
    let log = token_audit(record.organisation);
    let slot = log.reserve(ctx.store)?;
    let entry = TokenAuditEntry {
        at: ctx.clock.now(),
        action: action.to_string(),
        token_id: record.id.clone(),
        token_holder: record.holder.clone(),
        organisation: record.organisation,
        role: record.role,
        scope: record.scope,
        actor: Actor::of(admin),
        holder: admin.holder.clone(),
    };
    Ok((log.key(slot), to_json(&entry)))
}

/// The organisations whose tokens `admin` manages: their own, or every one for a
/// programme admin.
fn managed(admin: &Principal) -> Vec<Organisation> {
    if admin.is_programme_admin() {
        Organisation::ALL.to_vec()
    } else {
        vec![admin.organisation]
    }
}

/// The tokens `admin` manages, oldest first (admins only).
pub fn list_tokens<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    admin: &Principal,
) -> Result<Vec<TokenRecord>, Problem> {
    admin.require_admin()?;
    let mut tokens = Vec::new();
    for organisation in managed(admin) {
        let log = listing(organisation);
        let last = log.last_slot(ctx.store)?;
        for (_, bytes) in log.read(ctx.store, 1, last)? {
            let Ok(index) = serde_json::from_slice::<TokenIndex>(&bytes) else { continue };
            if let Some(record) = get_json::<_, TokenRecord>(ctx.store, &token_key(&index.hash))? {
                tokens.push(record);
            }
        }
    }
    Ok(tokens)
}

/// The latest token audit entries of the organisations `admin` manages (admins only).
pub fn token_audit_trail<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    admin: &Principal,
) -> Result<Vec<TokenAuditEntry>, Problem> {
    admin.require_admin()?;
    let mut entries = Vec::new();
    for organisation in managed(admin) {
        let log = token_audit(organisation);
        let last = log.last_slot(ctx.store)?;
        let first = last.saturating_sub(TOKEN_AUDIT_SHOWN - 1).max(1);
        for (_, bytes) in log.read(ctx.store, first, last)? {
            if let Ok(entry) = serde_json::from_slice::<TokenAuditEntry>(&bytes) {
                entries.push(entry);
            }
        }
    }
    shared::order::sort_by_key(&mut entries, |e| e.at);
    Ok(entries)
}

/// Revokes a token (admins only; another organisation's token is 404).
pub fn revoke_token<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    admin: &Principal,
    id: &TokenId,
) -> Result<TokenRecord, Problem> {
    admin.require_admin()?;
    let index: TokenIndex = get_json(ctx.store, &index_key(id))?.ok_or_else(Problem::not_found)?;
    let mut record: TokenRecord = get_json(ctx.store, &token_key(&index.hash))?.ok_or_else(Problem::not_found)?;
    if !admin.is_programme_admin() && record.organisation != admin.organisation {
        return Err(Problem::not_found());
    }
    if record.scope == Some(TokenScope::Programme) && !admin.is_programme_admin() {
        return Err(Problem::new(
            ProblemKind::Forbidden,
            "only a programme admin may revoke a programme admin's token",
        ));
    }
    if record.revoked_at.is_none() {
        record.revoked_at = Some(ctx.clock.now());
        record = record.signed(&ctx.config.record_mac, &token_key(&index.hash));
        let audit = token_audit_entry(ctx, admin, "token_revoked", &record)?;
        ctx.store.set_many(&[(token_key(&index.hash), to_json(&record)), audit])?;
    }
    Ok(record)
}
