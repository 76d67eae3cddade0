//! Confidential fields at rest, keyed hashes and token hashing.
//!
//! Fields are sealed with XChaCha20-Poly1305 (192-bit random nonces, so random nonces
//! never collide in practice). Each ciphertext carries the id of its key, so the keyring
//! can be rotated: the first key seals, every key opens. The record id and field name
//! are bound as associated data, so a ciphertext moved to another case, or another
//! field, fails to open.

use crate::random::Random;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// A sealed (encrypted and authenticated) value, as stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// Id of the key that sealed it.
    pub kid: String,
    /// base64 nonce (24 bytes).
    pub nonce: String,
    /// base64 ciphertext with tag.
    pub ct: String,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed(kid={})", self.kid)
    }
}

/// Why sealing or opening failed. Deliberately vague: it goes to the operator's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// The keyring has no key with this id (rotated out too early?).
    UnknownKey(String),
    /// Wrong key, wrong record, or tampered data.
    Unauthentic,
    /// The plaintext is not the expected document.
    Undecodable,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::UnknownKey(kid) => write!(f, "no key with id {kid:?} in the keyring"),
            CryptoError::Unauthentic => f.write_str("ciphertext failed authentication"),
            CryptoError::Undecodable => f.write_str("decrypted value is not the expected document"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// A keyring, from a secret variable (`case_keys`, `directory_keys`, `webhook_keys`):
/// `kid:base64(32 bytes)[,kid:base64(32 bytes)...]`; the first key seals.
pub struct Keyring {
    keys: Vec<(String, XChaCha20Poly1305)>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(kid, _)| kid.as_str()).collect();
        write!(f, "Keyring({ids:?})")
    }
}

impl Keyring {
    /// Parses the variable's value. The error names the problem, never key material.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = Vec::new();
        for (i, entry) in text.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            let (kid, material) = entry
                .split_once(':')
                .ok_or_else(|| format!("entry {} must be <key id>:<base64 of 32 bytes>", i + 1))?;
            if kid.is_empty() || !kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(format!("entry {}: the key id must be letters, digits, - or _", i + 1));
            }
            let bytes = B64.decode(material).map_err(|_| format!("entry {} ({kid}): key is not base64", i + 1))?;
            if bytes.len() != 32 {
                return Err(format!("entry {} ({kid}): key must be 32 bytes, is {}", i + 1, bytes.len()));
            }
            if keys.iter().any(|(k, _)| k == kid) {
                return Err(format!("key id {kid} appears twice"));
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes).expect("32-byte key");
            keys.push((kid.to_string(), cipher));
        }
        if keys.is_empty() {
            return Err("no keys: expected <key id>:<base64 of 32 bytes>".into());
        }
        Ok(Keyring { keys })
    }

    /// The id of the key that seals.
    pub fn current_kid(&self) -> &str {
        &self.keys[0].0
    }

    /// Seals `plaintext` for the field `field` of record `record_id`.
    pub fn seal(&self, plaintext: &[u8], record_id: &str, field: &str, random: &dyn Random) -> Sealed {
        let (kid, cipher) = &self.keys[0];
        seal_with(cipher, kid, plaintext, record_id, field, random)
    }

    /// Whether the keyring holds a key with this id.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|(k, _)| k == kid)
    }

    /// Opens what [`Keyring::seal`] sealed for the same record and field.
    pub fn open(&self, sealed: &Sealed, record_id: &str, field: &str) -> Result<Vec<u8>, CryptoError> {
        let cipher = self
            .keys
            .iter()
            .find(|(kid, _)| *kid == sealed.kid)
            .map(|(_, c)| c)
            .ok_or_else(|| CryptoError::UnknownKey(sealed.kid.clone()))?;
        open_with(cipher, sealed, record_id, field)
    }
}

/// Seals and opens fields bound to a record and a field name, and documents as JSON.
pub trait FieldSealer {
    /// Seals `plaintext` for the field `field` of record `record_id`.
    fn seal(&self, plaintext: &[u8], record_id: &str, field: &str, random: &dyn Random) -> Sealed;

    /// Opens what `seal` sealed for the same record and field.
    fn open(&self, sealed: &Sealed, record_id: &str, field: &str) -> Result<Vec<u8>, CryptoError>;

    /// Seals a document as JSON.
    fn seal_json<T: Serialize>(&self, value: &T, record_id: &str, field: &str, random: &dyn Random) -> Sealed {
        self.seal(&serde_json::to_vec(value).expect("document serialises"), record_id, field, random)
    }

    /// Opens a document sealed with [`FieldSealer::seal_json`].
    fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        sealed: &Sealed,
        record_id: &str,
        field: &str,
    ) -> Result<T, CryptoError> {
        let bytes = self.open(sealed, record_id, field)?;
        serde_json::from_slice(&bytes).map_err(|_| CryptoError::Undecodable)
    }
}

impl FieldSealer for Keyring {
    fn seal(&self, plaintext: &[u8], record_id: &str, field: &str, random: &dyn Random) -> Sealed {
        Keyring::seal(self, plaintext, record_id, field, random)
    }

    fn open(&self, sealed: &Sealed, record_id: &str, field: &str) -> Result<Vec<u8>, CryptoError> {
        Keyring::open(self, sealed, record_id, field)
    }
}

fn associated_data(record_id: &str, field: &str) -> String {
    format!("weerbaar/v1/{record_id}/{field}")
}

fn seal_with(
    cipher: &XChaCha20Poly1305,
    kid: &str,
    plaintext: &[u8],
    record_id: &str,
    field: &str,
    random: &dyn Random,
) -> Sealed {
    let mut nonce = [0u8; 24];
    random.fill(&mut nonce);
    let aad = associated_data(record_id, field);
    let ct = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: aad.as_bytes() })
        .expect("encryption of an in-memory buffer cannot fail");
    Sealed { kid: kid.to_string(), nonce: B64.encode(nonce), ct: B64.encode(ct) }
}

fn open_with(
    cipher: &XChaCha20Poly1305,
    sealed: &Sealed,
    record_id: &str,
    field: &str,
) -> Result<Vec<u8>, CryptoError> {
    let nonce = B64.decode(&sealed.nonce).map_err(|_| CryptoError::Unauthentic)?;
    if nonce.len() != 24 {
        return Err(CryptoError::Unauthentic);
    }
    let ct = B64.decode(&sealed.ct).map_err(|_| CryptoError::Unauthentic)?;
    let aad = associated_data(record_id, field);
    cipher
        .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ct, aad: aad.as_bytes() })
        .map_err(|_| CryptoError::Unauthentic)
}

/// The key id of values sealed with a record's own [`DataKey`]. A keyring refuses it
/// as a key id (`@` is not allowed there), so the two can never be confused.
pub const DATA_KEY_KID: &str = "@data";

/// The sealed-field name under which a keyring wraps a record's data key.
pub const DATA_KEY_FIELD: &str = "data-key";

/// A random key of one record (a case), stored only wrapped by a keyring: destroying
/// the wrapped key makes everything sealed with it unreadable for good, copies and
/// backups included, and rotating the keyring re-wraps 32 bytes per record instead of
/// re-encrypting the record.
pub struct DataKey {
    cipher: XChaCha20Poly1305,
    bytes: [u8; 32],
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<secret>)")
    }
}

impl DataKey {
    /// A fresh random key.
    pub fn generate(random: &dyn Random) -> Self {
        let mut bytes = [0u8; 32];
        random.fill(&mut bytes);
        DataKey { cipher: XChaCha20Poly1305::new_from_slice(&bytes).expect("32-byte key"), bytes }
    }

    /// The key sealed by the keyring's current key for record `record_id`.
    pub fn wrap(&self, keyring: &Keyring, record_id: &str, random: &dyn Random) -> Sealed {
        keyring.seal(&self.bytes, record_id, DATA_KEY_FIELD, random)
    }

    /// Opens what [`DataKey::wrap`] wrapped for the same record.
    pub fn unwrap(keyring: &Keyring, wrapped: &Sealed, record_id: &str) -> Result<Self, CryptoError> {
        let bytes: [u8; 32] =
            keyring.open(wrapped, record_id, DATA_KEY_FIELD)?.try_into().map_err(|_| CryptoError::Undecodable)?;
        Ok(DataKey { cipher: XChaCha20Poly1305::new_from_slice(&bytes).expect("32-byte key"), bytes })
    }

    /// Seals `plaintext` for the field `field` of record `record_id`, under [`DATA_KEY_KID`].
    pub fn seal(&self, plaintext: &[u8], record_id: &str, field: &str, random: &dyn Random) -> Sealed {
        seal_with(&self.cipher, DATA_KEY_KID, plaintext, record_id, field, random)
    }

    /// Opens what [`DataKey::seal`] sealed for the same record and field.
    pub fn open(&self, sealed: &Sealed, record_id: &str, field: &str) -> Result<Vec<u8>, CryptoError> {
        if sealed.kid != DATA_KEY_KID {
            return Err(CryptoError::UnknownKey(sealed.kid.clone()));
        }
        open_with(&self.cipher, sealed, record_id, field)
    }
}

/// Keyed hashing (HMAC-SHA-256), for values that must be found again but never
/// stored in clear: receipt codes, idempotency keys, client addresses.
pub struct KeyedHasher {
    key: Vec<u8>,
}

impl fmt::Debug for KeyedHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyedHasher(<secret>)")
    }
}

impl KeyedHasher {
    /// From the base64 secret variable; at least 32 bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let key = B64.decode(text.trim()).map_err(|_| "must be base64".to_string())?;
        if key.len() < 32 {
            return Err(format!("must be at least 32 bytes, is {}", key.len()));
        }
        Ok(KeyedHasher { key })
    }

    /// The raw MAC of `value` under a purpose label, so one key serves several uses
    /// without one use's hashes matching another's.
    pub fn mac(&self, purpose: &str, value: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    /// The MAC as lower-case hex, for use in keys.
    pub fn hex(&self, purpose: &str, value: &[u8]) -> String {
        hex(&self.mac(purpose, value))
    }
}

/// SHA-256 of `value`.
pub fn sha256(value: &[u8]) -> [u8; 32] {
    Sha256::digest(value).into()
}

/// SHA-256 as lower-case hex (for high-entropy secrets such as bearer tokens).
pub fn sha256_hex(value: &[u8]) -> String {
    hex(&sha256(value))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equality in time independent of where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// base64 (standard alphabet, padded).
pub fn base64_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Decodes standard base64.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    B64.decode(text).map_err(|_| "not base64".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(spec).unwrap()
    }

    fn key(byte: u8) -> String {
        B64.encode([byte; 32])
    }

    #[test]
    fn sealed_values_open_for_the_same_record_and_field_only() {
        let r = SeededRandom::new(1);
        let k = ring(&format!("k1:{}", key(1)));
        let sealed = k.seal(b"Jan Jansen", "case_a", "reporter", &r);
        assert_eq!(k.open(&sealed, "case_a", "reporter").unwrap(), b"Jan Jansen");
        assert_eq!(k.open(&sealed, "case_b", "reporter"), Err(CryptoError::Unauthentic));
        assert_eq!(k.open(&sealed, "case_a", "message"), Err(CryptoError::Unauthentic));
        assert!(!sealed.ct.contains("Jan"));
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable_and_seals_with_the_new_key() {
        let r = SeededRandom::new(1);
        let old = ring(&format!("k1:{}", key(1)));
        let sealed_old = old.seal(b"old", "case_a", "f", &r);
        let rotated = ring(&format!("k2:{},k1:{}", key(2), key(1)));
        assert_eq!(rotated.open(&sealed_old, "case_a", "f").unwrap(), b"old");
        assert_eq!(rotated.seal(b"new", "case_a", "f", &r).kid, "k2");
        let only_new = ring(&format!("k2:{}", key(2)));
        assert_eq!(only_new.open(&sealed_old, "case_a", "f"), Err(CryptoError::UnknownKey("k1".into())));
    }

    #[test]
    fn a_data_key_opens_only_through_its_wrapping_and_survives_a_rewrap() {
        let r = SeededRandom::new(3);
        let old = ring(&format!("k1:{}", key(1)));
        let dk = DataKey::generate(&r);
        let wrapped = dk.wrap(&old, "case_a", &r);
        let sealed = dk.seal(b"Jan Jansen", "case_a", "reporter", &r);
        assert_eq!(sealed.kid, DATA_KEY_KID);
        assert_eq!(old.open(&sealed, "case_a", "reporter"), Err(CryptoError::UnknownKey(DATA_KEY_KID.into())));
        assert!(DataKey::unwrap(&old, &wrapped, "case_b").is_err(), "a wrapped key is bound to its record");
        let rotated = ring(&format!("k2:{},k1:{}", key(2), key(1)));
        let rewrapped = DataKey::unwrap(&rotated, &wrapped, "case_a").unwrap().wrap(&rotated, "case_a", &r);
        assert_eq!(rewrapped.kid, "k2");
        let only_new = ring(&format!("k2:{}", key(2)));
        let opened = DataKey::unwrap(&only_new, &rewrapped, "case_a").unwrap();
        assert_eq!(opened.open(&sealed, "case_a", "reporter").unwrap(), b"Jan Jansen");
        assert!(Keyring::parse(&format!("{DATA_KEY_KID}:{}", key(1))).is_err(), "no keyring kid looks like a data key");
    }

    #[test]
    fn tampering_is_detected() {
        let r = SeededRandom::new(1);
        let k = ring(&format!("k1:{}", key(1)));
        let mut sealed = k.seal(b"x", "case_a", "f", &r);
        let mut ct = B64.decode(&sealed.ct).unwrap();
        ct[0] ^= 1;
        sealed.ct = B64.encode(ct);
        assert_eq!(k.open(&sealed, "case_a", "f"), Err(CryptoError::Unauthentic));
    }

    #[test]
    fn bad_keyrings_are_refused_without_echoing_key_material() {
        assert!(Keyring::parse("").is_err());
        assert!(Keyring::parse("k1").is_err());
        let short = Keyring::parse(&format!("k1:{}", B64.encode([1u8; 16]))).unwrap_err();
        assert!(short.contains("32 bytes"));
        let dup = Keyring::parse(&format!("k1:{},k1:{}", key(1), key(2))).unwrap_err();
        assert!(dup.contains("twice"));
        let bad = Keyring::parse("k1:not*base64").unwrap_err();
        assert!(!bad.contains("not*base64"));
    }

    #[test]
    fn keyed_hashes_depend_on_key_and_purpose() {
        let a = KeyedHasher::parse(&key(1)).unwrap();
        let b = KeyedHasher::parse(&key(2)).unwrap();
        assert_eq!(a.hex("receipt", b"1"), a.hex("receipt", b"1"));
        assert_ne!(a.hex("receipt", b"1"), b.hex("receipt", b"1"));
        assert_ne!(a.hex("receipt", b"1"), a.hex("client", b"1"));
        assert!(KeyedHasher::parse(&B64.encode([1u8; 8])).is_err());
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
