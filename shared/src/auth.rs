//! Who is calling: confidants and admins with bearer tokens, and components with the
//! shared internal secret.
//!
//! Tokens are random secrets given out once; the store keeps only their SHA-256 (a
//! token has 256 bits of entropy, so a plain hash cannot be reversed by guessing), at
//! `auth/token/<sha256>`. The bootstrap admin token comes from the secret variable
//! `admin_token` and is never stored.
//!
//! A token record carries a MAC ([`RecordMac`], secret variable `record_mac_key`) over
//! its fields and its store key: a record written into the store by anything that does
//! not hold that key (a component with store access only, a restored tampered backup)
//! is refused like an unknown token, so write access to the store cannot mint an
//! admin. Records from before the MAC existed are refused too: re-issue them.

use crate::crypto::{constant_time_eq, hex, sha256_hex, KeyedHasher};
use crate::domain::{wire_enum, Organisation};
use crate::id::TokenId;
use crate::kv::{get_json, KeyValue};
use crate::problem::{Problem, ProblemKind};
use crate::random::Random;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The header that carries the internal secret between components.
pub const INTERNAL_SECRET_HEADER: &str = "weerbaar-internal-secret";

/// The prefix of every bearer token we issue, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "wbt_";

wire_enum!(
    /// What a staff credential may do.
    StaffRole {
        /// Works the cases of their organisation.
        Confidant => "confidant",
        /// A confidant who also manages tokens, the directory and webhooks.
        Admin => "admin",
    }
);

wire_enum!(
    /// Extra powers a token carries beyond its role.
    TokenScope {
        /// A BZK admin who runs the programme across organisations: cross-organisation
        /// webhook subscriptions, operator events, granting this scope. Granted only by
        /// the bootstrap admin or another programme admin.
        Programme => "programme",
    }
);

/// A stored token (the secret itself is never stored).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token's public id.
    pub id: TokenId,
    /// Whose cases the holder sees.
    pub organisation: Organisation,
    /// What the holder may do.
    pub role: StaffRole,
    /// The person who holds it: a name or staff number, given by the admin who issued
    /// it (records from before were named `label`, often a desk).
    #[serde(alias = "label")]
    pub holder: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops working; `None` on records from before expiry existed, which
    /// expire [`DEFAULT_TOKEN_DAYS`] after they were created.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// When it was revoked; a revoked token authenticates no one.
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
    /// Extra powers; only ever set on a BZK admin's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<TokenScope>,
    /// The record's MAC (hex), set by [`TokenRecord::signed`]; a record without a valid
    /// one authenticates no one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// The MAC key of authorisation records, from the secret variable `record_mac_key`
/// (base64, at least 32 bytes). Only the components that read or write such records
/// hold it.
pub struct RecordMac(KeyedHasher);

impl fmt::Debug for RecordMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordMac(<secret>)")
    }
}

/// The HMAC purpose label of authorisation records.
const RECORD_MAC_PURPOSE: &str = "authorisation-record";

impl RecordMac {
    /// From the variable's base64 value.
    pub fn parse(text: &str) -> Result<Self, String> {
        KeyedHasher::parse(text).map(RecordMac)
    }

    /// The MAC of `value` stored at `key`: over the key and the value's JSON (a struct
    /// serialises its fields in declaration order, so the encoding is canonical), so a
    /// valid record moved to another key fails too.
    pub fn of<T: Serialize>(&self, key: &str, value: &T) -> String {
        let mut message = key.as_bytes().to_vec();
        message.push(0);
        message.extend(serde_json::to_vec(value).expect("record serialises"));
        hex(&self.0.mac(RECORD_MAC_PURPOSE, &message))
    }

    /// Whether `mac` is the MAC of `value` at `key` (in constant time).
    pub fn verify<T: Serialize>(&self, key: &str, value: &T, mac: &str) -> bool {
        constant_time_eq(self.of(key, value).as_bytes(), mac.as_bytes())
    }
}

impl TokenRecord {
    /// The record with its MAC for storing at `key`: every write of a token record.
    pub fn signed(mut self, mac: &RecordMac, key: &str) -> Self {
        self.mac = None;
        self.mac = Some(mac.of(key, &self));
        self
    }

    /// Whether the record carries a valid MAC for `key`.
    pub fn is_authentic(&self, mac: &RecordMac, key: &str) -> bool {
        let Some(given) = &self.mac else { return false };
        let unsigned = TokenRecord { mac: None, ..self.clone() };
        mac.verify(key, &unsigned, given)
    }
}

/// How long a token lives unless its issuer says otherwise (and how long a token
/// issued before expiry existed lives).
pub const DEFAULT_TOKEN_DAYS: u32 = 90;

/// What the bootstrap admin is named as in audit entries.
pub const BOOTSTRAP_HOLDER: &str = "bootstrap admin";

impl TokenRecord {
    /// When the token stops authenticating.
    pub fn expires(&self) -> Timestamp {
        self.expires_at.unwrap_or(self.created_at + crate::time::Duration::days(DEFAULT_TOKEN_DAYS.into()))
    }
}

/// The key of a token's record.
pub fn token_key(token_hash: &str) -> String {
    format!("auth/token/{token_hash}")
}

/// An authenticated staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token used; `None` for the bootstrap admin token.
    pub token: Option<TokenId>,
    /// The organisation whose cases this caller sees.
    pub organisation: Organisation,
    /// What the caller may do.
    pub role: StaffRole,
    /// A programme admin (see [`TokenScope::Programme`]); the bootstrap admin is one.
    pub programme: bool,
    /// The person holding the token ([`BOOTSTRAP_HOLDER`] for the bootstrap admin).
    pub holder: String,
}

impl Principal {
    /// A BZK admin with the programme scope: may act across organisations.
    pub fn is_programme_admin(&self) -> bool {
        self.programme && self.role == StaffRole::Admin && self.organisation == Organisation::Bzk
    }

    /// Requires the admin role.
    pub fn require_admin(&self) -> Result<(), Problem> {
        if self.role == StaffRole::Admin {
            Ok(())
        } else {
            Err(Problem::new(ProblemKind::Forbidden, "this requires an admin token"))
        }
    }

    /// Requires a programme admin, for what acts on every organisation's data at once
    /// (the sweeps, the network); `what` says what was refused.
    pub fn require_programme_admin(&self, what: &str) -> Result<(), Problem> {
        if self.is_programme_admin() {
            Ok(())
        } else {
            Err(Problem::new(ProblemKind::Forbidden, format!("only a programme admin may {what}")))
        }
    }

    /// The bootstrap admin, who acts for the ministry (BZK) that hosts the support team.
    pub fn bootstrap_admin() -> Self {
        Principal {
            token: None,
            organisation: Organisation::Bzk,
            role: StaffRole::Admin,
            programme: true,
            holder: BOOTSTRAP_HOLDER.to_string(),
        }
    }
}

/// A new token: the secret to show once, and the hash to store.
pub struct IssuedToken {
    /// Give this to the holder; it is not stored.
    pub secret: String,
    /// Store the record under [`token_key`] of this.
    pub hash: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IssuedToken(hash={})", self.hash)
    }
}

/// Makes a fresh bearer token (256 random bits).
pub fn issue_token(random: &dyn Random) -> IssuedToken {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", crate::crypto::hex(&bytes));
    let hash = sha256_hex(secret.as_bytes());
    IssuedToken { secret, hash }
}

/// The one answer to a token that does not authenticate, whatever the reason.
const REFUSED: &str = "unknown, expired or revoked token";

fn unauthorized(detail: &str) -> Problem {
    Problem::new(ProblemKind::Unauthorized, detail).at("authorization")
}

/// The one header `name` of a request; none when it is missing or repeated. Two
/// credentials are ambiguous (a proxy may read the last where we read the first), so
/// a request that sends two is treated as sending none. Note: spin-sdk 5.2 hands a
/// component one value per header name (the last one sent), so under Spin this guard
/// sees repeats only from callers that build a `HeaderMap` themselves (native tests).
fn single(headers: &http::HeaderMap, name: impl http::header::AsHeaderName) -> Option<&http::HeaderValue> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

/// The bearer token of a request, if it has exactly one.
pub fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = single(headers, http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates a staff request by its bearer token at `now`. An unknown, revoked,
/// expired or unauthentic (no valid MAC under `mac`) token gets one and the same
/// answer. `bootstrap_admin_token` empty: the bootstrap admin is switched off.
pub fn authenticate<S: KeyValue>(
    store: &S,
    headers: &http::HeaderMap,
    bootstrap_admin_token: &str,
    mac: &RecordMac,
    now: Timestamp,
) -> Result<Principal, Problem> {
    let token = bearer(headers).ok_or_else(|| unauthorized("send Authorization: Bearer <token>"))?;
    if !bootstrap_admin_token.is_empty() && constant_time_eq(token.as_bytes(), bootstrap_admin_token.as_bytes()) {
        return Ok(Principal::bootstrap_admin());
    }
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(unauthorized(REFUSED));
    }
    let key = token_key(&sha256_hex(token.as_bytes()));
    let record: Option<TokenRecord> = get_json(store, &key)?;
    match record {
        Some(r) if r.revoked_at.is_none() && now < r.expires() && r.is_authentic(mac, &key) => {
            let programme = r.scope == Some(TokenScope::Programme);
            Ok(Principal { token: Some(r.id), organisation: r.organisation, role: r.role, programme, holder: r.holder })
        }
        _ => Err(unauthorized(REFUSED)),
    }
}

/// Checks that a request comes from one of our components.
pub fn verify_internal(headers: &http::HeaderMap, internal_secret: &str) -> Result<(), Problem> {
    let given = single(headers, INTERNAL_SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !internal_secret.is_empty() && constant_time_eq(given, internal_secret.as_bytes()) {
        Ok(())
    } else {
        Err(Problem::new(ProblemKind::Unauthorized, "this endpoint is for weerbaar's own components")
            .at(INTERNAL_SECRET_HEADER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::memory::MemoryStore;

    #[test]
    fn a_repeated_credential_header_is_no_credential() {
        let mut h = http::HeaderMap::new();
        h.append(http::header::AUTHORIZATION, "Bearer one".parse().unwrap());
        assert_eq!(bearer(&h), Some("one"));
        h.append(http::header::AUTHORIZATION, "Bearer two".parse().unwrap());
        assert_eq!(bearer(&h), None);
        let mut h = http::HeaderMap::new();
        h.append(INTERNAL_SECRET_HEADER, "s3cret".parse().unwrap());
        assert!(verify_internal(&h, "s3cret").is_ok());
        h.append(INTERNAL_SECRET_HEADER, "s3cret".parse().unwrap());
        assert_eq!(verify_internal(&h, "s3cret").unwrap_err().kind.status(), 401);
    }
    use crate::kv::to_json;
    use crate::random::SeededRandom;

    fn headers(auth: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    fn mac() -> RecordMac {
        RecordMac::parse(&crate::crypto::base64_encode(&[7u8; 32])).unwrap()
    }

    fn t0() -> Timestamp {
        Timestamp::from_unix_millis(0)
    }

    #[test]
    fn a_token_expires_and_then_gets_the_answer_of_an_unknown_one() {
        let store = MemoryStore::new();
        let r = SeededRandom::new(5);
        let issued = issue_token(&r);
        let record = TokenRecord {
            id: TokenId::generate(&r),
            organisation: Organisation::Ngb,
            role: StaffRole::Admin,
            holder: "A. Jansen".into(),
            created_at: t0(),
            expires_at: Some(Timestamp::from_unix_millis(1_000)),
            revoked_at: None,
            scope: None,
            mac: None,
        }
        .signed(&mac(), &token_key(&issued.hash));
        store.set(&token_key(&issued.hash), &to_json(&record)).unwrap();
        let auth = headers(&format!("Bearer {}", issued.secret));
        assert_eq!(
            authenticate(&store, &auth, "", &mac(), Timestamp::from_unix_millis(999)).unwrap().holder,
            "A. Jansen"
        );
        let expired = authenticate(&store, &auth, "", &mac(), Timestamp::from_unix_millis(1_000)).unwrap_err();
        let unknown = authenticate(&store, &headers("Bearer wbt_00"), "", &mac(), t0()).unwrap_err();
        assert_eq!((expired.kind, &expired.detail), (unknown.kind, &unknown.detail));
        // A record from before expiry existed lives DEFAULT_TOKEN_DAYS.
        let old = serde_json::json!({"id": record.id, "organisation": "ngb", "role": "admin", "label": "desk",
                                     "created_at": t0()});
        let old: TokenRecord = serde_json::from_value(old).unwrap();
        store.set(&token_key(&issued.hash), &to_json(&old.signed(&mac(), &token_key(&issued.hash)))).unwrap();
        let day = 24 * 3600 * 1000;
        assert!(authenticate(&store, &auth, "", &mac(), Timestamp::from_unix_millis(89 * day)).is_ok());
        assert!(authenticate(&store, &auth, "", &mac(), Timestamp::from_unix_millis(90 * day)).is_err());
    }

    #[test]
    fn a_stored_token_authenticates_its_holder_until_revoked() {
        let store = MemoryStore::new();
        let r = SeededRandom::new(4);
        let issued = issue_token(&r);
        let mut record = TokenRecord {
            id: TokenId::generate(&r),
            organisation: Organisation::Nvvr,
            role: StaffRole::Confidant,
            holder: "J. de Vries".into(),
            created_at: Timestamp::from_unix_millis(0),
            expires_at: Some(Timestamp::from_unix_millis(1_000)),
            revoked_at: None,
            scope: None,
            mac: None,
        }
        .signed(&mac(), &token_key(&issued.hash));
        store.set(&token_key(&issued.hash), &to_json(&record)).unwrap();
        let who = authenticate(&store, &headers(&format!("Bearer {}", issued.secret)), "bootstrap-token", &mac(), t0())
            .unwrap();
        assert_eq!(who.organisation, Organisation::Nvvr);
        assert_eq!(who.role, StaffRole::Confidant);
        assert!(who.require_admin().is_err());
        assert!(!who.is_programme_admin());
        assert!(!store.dump().keys().any(|k| k.contains(&issued.secret)));

        record.revoked_at = Some(Timestamp::from_unix_millis(1));
        let record = record.signed(&mac(), &token_key(&issued.hash));
        store.set(&token_key(&issued.hash), &to_json(&record)).unwrap();
        let err = authenticate(&store, &headers(&format!("Bearer {}", issued.secret)), "bootstrap-token", &mac(), t0())
            .unwrap_err();
        assert_eq!(err.kind, ProblemKind::Unauthorized);
    }

    #[test]
    fn a_token_record_written_without_the_mac_key_is_refused() {
        let store = MemoryStore::new();
        let r = SeededRandom::new(6);
        let issued = issue_token(&r);
        let key = token_key(&issued.hash);
        let record = TokenRecord {
            id: TokenId::generate(&r),
            organisation: Organisation::Bzk,
            role: StaffRole::Admin,
            holder: "indringer".into(),
            created_at: t0(),
            expires_at: Some(Timestamp::from_unix_millis(1_000)),
            revoked_at: None,
            scope: Some(TokenScope::Programme),
            mac: None,
        };
        let auth = headers(&format!("Bearer {}", issued.secret));
        let unknown = authenticate(&store, &headers("Bearer wbt_00"), "", &mac(), t0()).unwrap_err();
        let other_key = RecordMac::parse(&crate::crypto::base64_encode(&[8u8; 32])).unwrap();
        let signed = record.clone().signed(&mac(), &key);
        let mut widened = signed.clone();
        widened.organisation = Organisation::Ngb;
        let forgeries = [
            record.clone(),
            record.clone().signed(&other_key, &key),
            record.clone().signed(&mac(), &token_key("another")),
            widened,
        ];
        for forged in forgeries {
            store.set(&key, &to_json(&forged)).unwrap();
            let refused = authenticate(&store, &auth, "", &mac(), t0()).unwrap_err();
            assert_eq!((refused.kind, &refused.detail), (unknown.kind, &unknown.detail), "{forged:?}");
        }
        store.set(&key, &to_json(&signed)).unwrap();
        assert!(authenticate(&store, &auth, "", &mac(), t0()).unwrap().is_programme_admin());
    }

    #[test]
    fn the_bootstrap_token_is_an_admin_and_nothing_else_is() {
        let store = MemoryStore::new();
        let who = authenticate(&store, &headers("Bearer bootstrap-token"), "bootstrap-token", &mac(), t0()).unwrap();
        assert_eq!(who.role, StaffRole::Admin);
        assert!(who.is_programme_admin());
        assert!(authenticate(&store, &headers("Bearer wbt_0000"), "bootstrap-token", &mac(), t0()).is_err());
        assert!(authenticate(&store, &headers("Basic abc"), "bootstrap-token", &mac(), t0()).is_err());
        assert!(authenticate(&store, &http::HeaderMap::new(), "bootstrap-token", &mac(), t0()).is_err());
        assert!(authenticate(&store, &headers("Bearer "), "", &mac(), t0()).is_err());
    }

    #[test]
    fn internal_calls_need_the_exact_secret() {
        let mut h = http::HeaderMap::new();
        assert!(verify_internal(&h, "s3cret").is_err());
        h.insert(INTERNAL_SECRET_HEADER, "s3cre".parse().unwrap());
        assert!(verify_internal(&h, "s3cret").is_err());
        h.insert(INTERNAL_SECRET_HEADER, "s3cret".parse().unwrap());
        assert!(verify_internal(&h, "s3cret").is_ok());
        assert!(verify_internal(&h, "").is_err());
    }
}
