//! Staff tokens: admins create and revoke them. The store keeps only the token's hash
//! (`auth/token/<sha256>`, read by every component's `authenticate`) and, to revoke by
//! id, `triage/token/<tok_id>` → the hash. The secret is shown once.
//!
//! Programme admins (the bootstrap admin, and BZK admins holding the `programme`
//! scope) may issue tokens for every organisation, to set the support team up; any
//! other admin only for their own organisation, so no admin can give themselves
//! another organisation's cases. Only a programme admin grants the programme scope,
//! and only to a BZK admin.

use crate::context::Triage;
use serde::{Deserialize, Serialize};
use shared::auth::{issue_token, token_key, Principal, StaffRole, TokenRecord, TokenScope};
use shared::domain::Organisation;
use shared::id::TokenId;
use shared::kv::{get_json, to_json, KeyValue};
use shared::outbound::Outbound;
use shared::problem::{Problem, ProblemKind};

/// What an admin asks for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub organisation: Organisation,
    pub role: StaffRole,
    pub label: Label,
    /// `programme`: a programme admin (BZK admins only, granted by a programme admin).
    #[serde(default)]
    pub scope: Option<TokenScope>,
}

/// Who holds a token, as the admin names them: 1 to 100 characters.
#[derive(Debug, Clone)]
pub struct Label(pub String);

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.chars().count() > 100 || trimmed.chars().any(char::is_control) {
            return Err(serde::de::Error::custom("must be 1 to 100 characters, no control characters"));
        }
        Ok(Label(trimmed.to_string()))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct TokenIndex {
    hash: String,
}

fn index_key(id: &TokenId) -> String {
    format!("triage/token/{id}")
}

/// A created token: the record, and the secret to hand over once.
pub struct Created {
    pub record: TokenRecord,
    pub secret: String,
}

impl<S: KeyValue, O: Outbound> Triage<'_, S, O> {
    /// Creates a token (admins only).
    pub fn create_token(&self, admin: &Principal, new: NewToken) -> Result<Created, Problem> {
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
        let issued = issue_token(self.random);
        let record = TokenRecord {
            id: TokenId::generate(self.random),
            organisation: new.organisation,
            role: new.role,
            label: new.label.0,
            created_at: self.clock.now(),
            revoked_at: None,
            scope: new.scope,
        };
        self.store.set_many(&[
            (token_key(&issued.hash), to_json(&record)),
            (index_key(&record.id), to_json(&TokenIndex { hash: issued.hash.clone() })),
        ])?;
        Ok(Created { record, secret: issued.secret })
    }

    /// Revokes a token (admins only; another organisation's token is 404).
    pub fn revoke_token(&self, admin: &Principal, id: &TokenId) -> Result<TokenRecord, Problem> {
        admin.require_admin()?;
        let index: TokenIndex = get_json(self.store, &index_key(id))?.ok_or_else(Problem::not_found)?;
        let mut record: TokenRecord = get_json(self.store, &token_key(&index.hash))?.ok_or_else(Problem::not_found)?;
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
            record.revoked_at = Some(self.clock.now());
            self.store.set(&token_key(&index.hash), &to_json(&record))?;
        }
        Ok(record)
    }
}
