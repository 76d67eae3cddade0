//! Proof of work: the way past a used-up submission limit, so a report is never
//! refused outright (as GlobaLeaks keeps its form open under spam: a flood pays for
//! every report, a person in trouble still gets through).
//!
//! A refused submission gets a random challenge and a difficulty in bits. The client
//! finds a nonce such that SHA-256 over the bytes of `<challenge><nonce>` (the
//! challenge's 32 lower-case hex characters immediately followed by the nonce's ASCII
//! characters, no separator) starts with that many zero bits, and sends the report
//! again with the header `Weerbaar-Proof-Of-Work: <challenge>:<nonce>`. A challenge is
//! stored for 10 minutes and redeemed at most once (a claim, `increment == 1`).

use crate::context::Ctx;
use serde::{Deserialize, Serialize};
use shared::crypto::{hex, sha256};
use shared::kv::expiry::{Expiring, ExpiryClass};
use shared::kv::{claim, get_json, to_json, KeyValue};
use shared::problem::{Problem, ProblemKind};
use shared::time::{Duration, Timestamp};

/// The request header that carries a solution.
pub const HEADER: &str = "weerbaar-proof-of-work";

/// How long a challenge can be redeemed.
pub const CHALLENGE_LIFETIME: Duration = Duration::minutes(10);

/// The difficulties `proof_of_work_bits` may take.
pub const DIFFICULTY_BITS: std::ops::RangeInclusive<u8> = 1..=32;

/// The expiry class of issued challenges.
pub fn expiring_challenges() -> ExpiryClass {
    ExpiryClass::new("proof_of_work")
}

/// A challenge as the client gets it (the `proof_of_work` member of the 429 problem).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Challenge {
    pub challenge: String,
    pub difficulty_bits: u8,
    pub expires_at: Timestamp,
    /// The header to send the solution in.
    pub header: &'static str,
}

/// What the store keeps of an issued challenge, at `pow/<challenge>`.
#[derive(Debug, Serialize, Deserialize)]
struct Issued {
    difficulty_bits: u8,
    expires_at: Timestamp,
}

/// A solution as sent, checked for shape at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    challenge: String,
    nonce: String,
}

impl Proof {
    /// Parses `<challenge>:<nonce>`: 32 lower-case hex characters, then 1 to 64 ASCII
    /// letters or digits.
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        let shape = || {
            Problem::new(
                ProblemKind::InvalidParameter,
                "must be <challenge>:<nonce>, the challenge as given and a nonce of 1 to 64 letters or digits",
            )
            .at(HEADER)
        };
        let (challenge, nonce) = raw.trim().split_once(':').ok_or_else(shape)?;
        let challenge_ok =
            challenge.len() == 32 && challenge.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let nonce_ok = (1..=64).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_alphanumeric());
        if !(challenge_ok && nonce_ok) {
            return Err(shape());
        }
        Ok(Proof { challenge: challenge.to_string(), nonce: nonce.to_string() })
    }

    /// Whether SHA-256(challenge ‖ nonce) starts with `bits` zero bits.
    pub fn solves(&self, bits: u8) -> bool {
        let digest = sha256(format!("{}{}", self.challenge, self.nonce).as_bytes());
        leading_zero_bits(&digest) >= u32::from(bits)
    }
}

/// The number of leading zero bits of a digest.
pub fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in digest {
        bits += byte.leading_zeros();
        if *byte != 0 {
            break;
        }
    }
    bits
}

/// Why a proof did not admit a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Never issued, or past its 10 minutes.
    UnknownOrExpired,
    /// The nonce does not solve the challenge.
    Wrong,
    /// The challenge was redeemed before.
    Used,
}

impl Rejected {
    /// For the problem's detail.
    pub fn reason(self) -> &'static str {
        match self {
            Rejected::UnknownOrExpired => "its challenge is unknown or has expired",
            Rejected::Wrong => "the nonce does not solve the challenge",
            Rejected::Used => "its challenge has been used already",
        }
    }
}

/// A redeemed challenge: the claim that used it up, released if the report it
/// admitted could not be filed (so the client's retry can use it again).
#[derive(Debug)]
pub struct Redeemed {
    claim_key: String,
}

fn challenge_key(challenge: &str) -> String {
    format!("pow/{challenge}")
}

/// Issues a fresh challenge at the configured difficulty, stored with its expiry.
pub fn issue_challenge<S: KeyValue, O>(ctx: &Ctx<'_, S, O>) -> Result<Challenge, Problem> {
    let mut bytes = [0u8; 16];
    ctx.random.fill(&mut bytes);
    let challenge = hex(&bytes);
    let key = challenge_key(&challenge);
    let issued = Issued { difficulty_bits: ctx.config.proof_of_work_bits, expires_at: ctx.now() + CHALLENGE_LIFETIME };
    let expiring = Expiring { keys: vec![key.clone(), format!("{key}/claim")], expires_at: issued.expires_at };
    let listed = expiring_challenges().schedule(ctx.store, &expiring)?;
    ctx.store.set_many(&[(key, to_json(&issued)), listed])?;
    Ok(Challenge {
        challenge,
        difficulty_bits: issued.difficulty_bits,
        expires_at: issued.expires_at,
        header: "Weerbaar-Proof-Of-Work",
    })
}

/// Redeems a proof: checked against the challenge as issued (its difficulty then,
/// its expiry), then claimed, so each challenge admits one report.
pub fn redeem<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, proof: &Proof) -> Result<Result<Redeemed, Rejected>, Problem> {
    let key = challenge_key(&proof.challenge);
    let issued = match get_json::<_, Issued>(ctx.store, &key)? {
        Some(issued) if issued.expires_at > ctx.now() => issued,
        _ => return Ok(Err(Rejected::UnknownOrExpired)),
    };
    if !proof.solves(issued.difficulty_bits) {
        return Ok(Err(Rejected::Wrong));
    }
    let claim_key = format!("{key}/claim");
    if !claim(ctx.store, &claim_key)? {
        return Ok(Err(Rejected::Used));
    }
    Ok(Ok(Redeemed { claim_key }))
}

/// Makes a redeemed challenge usable again, after the report it admitted failed.
pub fn release<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, redeemed: Redeemed) {
    // Best effort: if this fails too, the client solves a new challenge.
    let _ = ctx.store.delete(&redeemed.claim_key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_zero_bits_count_across_bytes() {
        assert_eq!(leading_zero_bits(&[0xff]), 0);
        assert_eq!(leading_zero_bits(&[0x00, 0x1f]), 11);
        assert_eq!(leading_zero_bits(&[0x00, 0x00, 0x80]), 16);
        assert_eq!(leading_zero_bits(&[0u8; 32]), 256);
    }

    #[test]
    fn a_proof_has_the_documented_shape() {
        let challenge = "0123456789abcdef0123456789abcdef";
        assert!(Proof::parse(&format!("{challenge}:12345")).is_ok());
        for bad in [
            "".to_string(),
            challenge.to_string(),
            format!("{challenge}:"),
            format!("{}:1", challenge.to_uppercase()),
            format!("{challenge}:1 2"),
            format!("{challenge}:{}", "1".repeat(65)),
            "abc:1".to_string(),
        ] {
            let p = Proof::parse(&bad).unwrap_err();
            assert_eq!((p.kind.status(), p.field.as_deref()), (400, Some(HEADER)), "{bad:?}");
        }
    }

    #[test]
    fn a_proof_solves_a_challenge_when_the_hash_of_challenge_then_nonce_has_the_zero_bits() {
        let challenge = "00112233445566778899aabbccddeeff";
        let nonce = (0u64..).find(|n| leading_zero_bits(&sha256(format!("{challenge}{n}").as_bytes())) >= 12).unwrap();
        let proof = Proof::parse(&format!("{challenge}:{nonce}")).unwrap();
        assert!(proof.solves(12));
        let digest = sha256(format!("{challenge}{nonce}").as_bytes());
        assert!(!proof.solves(leading_zero_bits(&digest) as u8 + 1));
    }
}
