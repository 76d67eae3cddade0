//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256>`.
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the key is the
//! base64-decoding of the secret after `whsec_`. While a rotated secret is still
//! valid the header carries one signature per secret, space-separated, so receivers
//! can switch secrets without losing a message.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use shared::crypto::{base64_decode, base64_encode};
use shared::random::Random;
use std::fmt;

/// The prefix of a symmetric Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Random bytes in a new secret: the specification's minimum is 24; we use 32.
pub const SECRET_BYTES: usize = 32;

/// A signing secret in its `whsec_…` form. Its Debug never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(String);

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<secret>)")
    }
}

impl SigningSecret {
    /// A fresh secret of [`SECRET_BYTES`] random bytes.
    pub fn generate(random: &dyn Random) -> Self {
        let mut key = [0u8; SECRET_BYTES];
        random.fill(&mut key);
        SigningSecret(format!("{SECRET_PREFIX}{}", base64_encode(&key)))
    }

    /// Parses a `whsec_` secret whose key is at least 24 bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let body = text.strip_prefix(SECRET_PREFIX).ok_or("must start with whsec_")?;
        let key = base64_decode(body)?;
        if key.len() < 24 {
            return Err("the key must be at least 24 bytes".into());
        }
        Ok(SigningSecret(text.to_string()))
    }

    /// The secret as shown to the subscriber (once).
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Vec<u8> {
        base64_decode(&self.0[SECRET_PREFIX.len()..]).expect("checked when made")
    }

    /// `v1,<base64 signature>` of one message attempt.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key()).expect("HMAC takes any key length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", base64_encode(&mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header value: one signature per valid secret, newest first.
pub fn signature_header(secrets: &[SigningSecret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.sign(msg_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Whether any `v1` signature in `header` is valid for `secret`: what a receiver does.
/// Used by our tests and by the ping endpoint's documentation examples.
pub fn verify(secret: &SigningSecret, header: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> bool {
    let expected = secret.sign(msg_id, timestamp, body);
    header.split(' ').any(|candidate| shared::crypto::constant_time_eq(candidate.as_bytes(), expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::random::SeededRandom;

    // The published vector of the Standard Webhooks reference libraries.
    const VECTOR_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const VECTOR_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const VECTOR_TIMESTAMP: i64 = 1649367553;
    const VECTOR_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const VECTOR_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    #[test]
    fn signs_the_standard_webhooks_test_vector() {
        let secret = SigningSecret::parse(VECTOR_SECRET).unwrap();
        assert_eq!(secret.sign(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY), VECTOR_SIGNATURE);
        assert!(verify(&secret, VECTOR_SIGNATURE, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY));
        assert!(!verify(&secret, VECTOR_SIGNATURE, VECTOR_ID, VECTOR_TIMESTAMP + 1, VECTOR_BODY));
    }

    #[test]
    fn a_rotation_header_carries_both_signatures_and_either_verifies() {
        let r = SeededRandom::new(9);
        let new = SigningSecret::generate(&r);
        let old = SigningSecret::parse(VECTOR_SECRET).unwrap();
        let header = signature_header(&[new.clone(), old.clone()], VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY);
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.ends_with(VECTOR_SIGNATURE));
        assert!(verify(&new, &header, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY));
        assert!(verify(&old, &header, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY));
    }

    #[test]
    fn generated_secrets_are_whsec_with_at_least_24_bytes_and_never_debug_printed() {
        let s = SigningSecret::generate(&SeededRandom::new(1));
        assert!(s.expose().starts_with("whsec_"));
        assert!(SigningSecret::parse(s.expose()).is_ok());
        assert!(!format!("{s:?}").contains(&s.expose()[6..]));
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").is_err());
        assert!(SigningSecret::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_err());
    }
}
