//! Typed, prefixed identifiers: `case_…`, `mem_…`, `sub_…`, `msg_…`, `evt_…`, `tok_…`, `chk_…`.
//!
//! Each kind is its own Rust type, so a member id can never be passed where a case id
//! belongs, and a log line tells what an id is. The body is 128 random bits in
//! lower-case Crockford base32 (26 characters): unguessable and safe in URLs and keys.

use crate::random::Random;
use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const BODY_LEN: usize = 26;

/// Why a text is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdError {
    /// The prefix that was expected, e.g. `case_`.
    pub expected_prefix: &'static str,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "must be an identifier of the form {}<26 characters of 0-9 and a-z>", self.expected_prefix)
    }
}

impl std::error::Error for IdError {}

fn random_body(random: &dyn Random) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    let mut value = u128::from_le_bytes(bytes);
    let mut body = String::with_capacity(BODY_LEN);
    for _ in 0..BODY_LEN {
        body.push(ALPHABET[(value & 31) as usize] as char);
        value >>= 5;
    }
    body
}

fn is_valid_body(body: &str) -> bool {
    body.len() == BODY_LEN && body.bytes().all(|b| ALPHABET.contains(&b))
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random id.
            pub fn generate(random: &dyn Random) -> Self {
                $name(format!("{}{}", $prefix, random_body(random)))
            }

            /// Parses an id of exactly this kind.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                match text.strip_prefix($prefix) {
                    Some(body) if is_valid_body(body) => Ok($name(text.to_string())),
                    _ => Err(IdError { expected_prefix: $prefix }),
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $name::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $name::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

typed_id!(
    /// A case: one confidential report and everything done about it.
    CaseId, "case_"
);
typed_id!(
    /// A member of the support network (peer or expert).
    MemberId, "mem_"
);
typed_id!(
    /// A webhook subscription.
    SubscriptionId, "sub_"
);
typed_id!(
    /// A webhook message (one event for one subscription); stable across retries.
    MessageId, "msg_"
);
typed_id!(
    /// An event emitted by a component (deduplication key).
    EventId, "evt_"
);
typed_id!(
    /// A bearer token of a confidant or admin (the id, never the secret).
    TokenId, "tok_"
);
typed_id!(
    /// A planned contact on a case (aftercare or prevention work).
    CheckInId, "chk_"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn generated_ids_parse_back_and_carry_their_prefix() {
        let r = SeededRandom::new(7);
        let id = CaseId::generate(&r);
        assert!(id.as_str().starts_with("case_"));
        assert_eq!(id.as_str().len(), 5 + 26);
        assert_eq!(CaseId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn an_id_of_another_kind_is_refused() {
        let r = SeededRandom::new(7);
        let member = MemberId::generate(&r);
        assert!(CaseId::parse(member.as_str()).is_err());
        assert!(CaseId::parse("case_").is_err());
        assert!(CaseId::parse("case_ABCDEFGHJKMNPQRSTVWXYZ0123").is_err());
        assert!(CaseId::parse("case_../../etc/passwd").is_err());
    }

    #[test]
    fn ids_round_trip_through_json() {
        let r = SeededRandom::new(1);
        let id = SubscriptionId::generate(&r);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<SubscriptionId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<SubscriptionId>("\"sub_x\"").is_err());
    }
}
