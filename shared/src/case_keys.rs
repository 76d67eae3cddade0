//! Each case's own data key: crypto-shredding and cheap rotation of the case keyring.
//!
//! Intake makes a random [`DataKey`] when it files a case and stores it wrapped by the
//! case keyring (`case_keys`), bound to the case id, at `case/<id>/key` (a
//! [`Versioned`] [`WrappedKey`]), in the same `set_many` as the case. Every sealed
//! field of the case (reporter details, messages, audit and check-in notes, override
//! reasons) is sealed with the data key, never with the keyring itself. So:
//! - purging the case deletes `case/<id>/key`, and every copy of the case taken before
//!   (a backup, a stolen dump) stays sealed for good, even to the full keyring;
//! - rotating the keyring re-wraps 32 bytes per case ([`rewrap`]), found through the
//!   slot log `idx/case_keys` (one [`WrappedKeyEntry`] per case, written with it):
//!   nothing is re-encrypted and the store is never listed. The list has no counter of
//!   its own: a case's entry takes the slot number the case holds in
//!   `idx/pending_triage` (unique, reserved when the case is filed), so filing costs no
//!   extra store operation, and [`key_slots_reserved`] is that list's counter.
//!
//! Cases filed before data keys existed have no `case/<id>/key`: their fields stay
//! sealed with the keyring directly and open with it (the legacy path), and new fields
//! of such a case are sealed the same way. They keep needing the key that sealed them
//! until they are purged.

use crate::case::pending_triage_log;
use crate::crypto::{CryptoError, DataKey, FieldSealer, Keyring, Sealed, DATA_KEY_KID};
use crate::id::CaseId;
use crate::kv::slots::SlotLog;
use crate::kv::versioned::{self, Change, UpdateError, Versioned};
use crate::kv::{to_json, KeyValue, StoreError};
use crate::random::Random;
use serde::{Deserialize, Serialize};

/// Where a case's wrapped data key lives.
pub fn data_key_key(id: &CaseId) -> String {
    format!("case/{id}/key")
}

/// The list of every case with a data key, for the re-wrap sweep. Its slots are the
/// cases' slots in [`pending_triage_log`]; see [`key_slots_reserved`].
pub fn wrapped_keys_log() -> SlotLog {
    SlotLog::new("idx/case_keys")
}

/// The highest slot of [`wrapped_keys_log`] a case may have taken so far.
pub fn key_slots_reserved<S: KeyValue>(store: &S) -> Result<u64, StoreError> {
    pending_triage_log().last_slot(store)
}

/// A case's data key as stored: wrapped by the case keyring, with the case's slot in
/// [`wrapped_keys_log`] (so the purge removes that entry too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    pub wrapped: Sealed,
    pub slot: u64,
}

/// An entry of [`wrapped_keys_log`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKeyEntry {
    pub case_id: CaseId,
}

/// Seals and opens the fields of one case: with its data key, or, for a case filed
/// before data keys existed, with the keyring itself.
#[derive(Debug)]
pub struct CaseCipher<'a> {
    keyring: &'a Keyring,
    data_key: Option<DataKey>,
}

impl<'a> CaseCipher<'a> {
    /// The cipher of a new case `id`, with the entries to write in the same `set_many`
    /// as the case: the wrapped key and its entry in [`wrapped_keys_log`], at `slot`,
    /// the case's slot in [`pending_triage_log`].
    pub fn create(keyring: &'a Keyring, id: &CaseId, slot: u64, random: &dyn Random) -> (Self, Vec<(String, Vec<u8>)>) {
        let log = wrapped_keys_log();
        let data_key = DataKey::generate(random);
        let stored = WrappedKey { wrapped: data_key.wrap(keyring, id.as_str(), random), slot };
        let entries = vec![
            (data_key_key(id), Versioned::first(stored, random).encode()),
            (log.key(slot), to_json(&WrappedKeyEntry { case_id: id.clone() })),
        ];
        (CaseCipher { keyring, data_key: Some(data_key) }, entries)
    }

    /// The cipher of case `id`: its unwrapped data key, or the keyring for a case
    /// without one (filed before data keys existed, or purged: then whatever was sealed
    /// with its data key no longer opens). One store read.
    pub fn load<S: KeyValue>(store: &S, keyring: &'a Keyring, id: &CaseId) -> Result<Self, anyhow::Error> {
        let stored = versioned::read::<_, WrappedKey>(store, &data_key_key(id))?;
        let data_key = match stored {
            Some(doc) => Some(
                DataKey::unwrap(keyring, &doc.data.wrapped, id.as_str())
                    .map_err(|e| anyhow::anyhow!("data key of a case: {e}"))?,
            ),
            None => None,
        };
        Ok(CaseCipher { keyring, data_key })
    }

    /// Seals `plaintext` for field `field` of case `record_id`.
    pub fn seal(&self, plaintext: &[u8], record_id: &str, field: &str, random: &dyn Random) -> Sealed {
        match &self.data_key {
            Some(key) => key.seal(plaintext, record_id, field, random),
            None => self.keyring.seal(plaintext, record_id, field, random),
        }
    }

    /// Opens a field sealed by `seal` (or, on a legacy case, by the keyring).
    pub fn open(&self, sealed: &Sealed, record_id: &str, field: &str) -> Result<Vec<u8>, CryptoError> {
        match (&self.data_key, sealed.kid == DATA_KEY_KID) {
            (Some(key), true) => key.open(sealed, record_id, field),
            (None, true) => Err(CryptoError::UnknownKey(format!("{DATA_KEY_KID} (the case's data key is gone)"))),
            (_, false) => self.keyring.open(sealed, record_id, field),
        }
    }
}

/// The JSON helpers of [`FieldSealer`] for a case's fields.
impl FieldSealer for CaseCipher<'_> {
    fn seal(&self, plaintext: &[u8], record_id: &str, field: &str, random: &dyn Random) -> Sealed {
        CaseCipher::seal(self, plaintext, record_id, field, random)
    }

    fn open(&self, sealed: &Sealed, record_id: &str, field: &str) -> Result<Vec<u8>, CryptoError> {
        CaseCipher::open(self, sealed, record_id, field)
    }
}

/// What [`rewrap`] found for one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrap {
    /// Already wrapped by the current key.
    Current,
    /// Was under an older key; now under the current one.
    Rewrapped,
    /// No data key (the case was purged).
    Gone,
}

/// Wraps case `id`'s data key under the keyring's current key if an older key wraps
/// it. A compare-and-swap on the wrapped key: a purge deleting it meanwhile wins (the
/// key is never written back), and two sweeps at once re-wrap it once.
pub fn rewrap<S: KeyValue>(
    store: &S,
    keyring: &Keyring,
    id: &CaseId,
    random: &dyn Random,
) -> Result<Rewrap, anyhow::Error> {
    // A plain read first: after the walk has passed once, nearly every key is current,
    // and a read is cheaper than opening a compare-and-swap.
    match versioned::read::<_, WrappedKey>(store, &data_key_key(id))? {
        None => return Ok(Rewrap::Gone),
        Some(doc) if doc.data.wrapped.kid == keyring.current_kid() => return Ok(Rewrap::Current),
        Some(_) => {}
    }
    let outcome = versioned::update(store, &data_key_key(id), random, |stored: &mut WrappedKey, _| {
        if stored.wrapped.kid == keyring.current_kid() {
            return Ok::<_, CryptoError>(Change::Keep(Rewrap::Current));
        }
        let key = DataKey::unwrap(keyring, &stored.wrapped, id.as_str())?;
        stored.wrapped = key.wrap(keyring, id.as_str(), random);
        Ok(Change::Write(Rewrap::Rewrapped))
    });
    match outcome {
        Ok((_, done)) => Ok(done),
        Err(UpdateError::NotFound) => Ok(Rewrap::Gone),
        Err(UpdateError::Rejected(e)) => Err(anyhow::anyhow!("data key of {id}: {e}")),
        Err(e @ (UpdateError::Store(_) | UpdateError::Contended)) => Err(anyhow::anyhow!("data key of {id}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::base64_encode;
    use crate::kv::memory::MemoryStore;
    use crate::random::SeededRandom;

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(spec).unwrap()
    }

    fn key(byte: u8) -> String {
        base64_encode(&[byte; 32])
    }

    #[test]
    fn a_case_sealed_with_its_data_key_opens_after_a_rewrap_and_never_after_a_purge() {
        let store = MemoryStore::new();
        let r = SeededRandom::new(8);
        let id = CaseId::generate(&r);
        let old = ring(&format!("k1:{}", key(1)));
        let (cipher, entries) = CaseCipher::create(&old, &id, 1, &r);
        store.set_many(&entries).unwrap();
        let sealed = cipher.seal(b"Jan Jansen", id.as_str(), "reporter", &r);
        assert_eq!(sealed.kid, DATA_KEY_KID);

        let rotated = ring(&format!("k2:{},k1:{}", key(2), key(1)));
        assert_eq!(rewrap(&store, &rotated, &id, &r).unwrap(), Rewrap::Rewrapped);
        assert_eq!(rewrap(&store, &rotated, &id, &r).unwrap(), Rewrap::Current);
        let only_new = ring(&format!("k2:{}", key(2)));
        let cipher = CaseCipher::load(&store, &only_new, &id).unwrap();
        assert_eq!(cipher.open(&sealed, id.as_str(), "reporter").unwrap(), b"Jan Jansen");

        store.delete(&data_key_key(&id)).unwrap();
        assert_eq!(rewrap(&store, &only_new, &id, &r).unwrap(), Rewrap::Gone, "a purged key is not written back");
        let cipher = CaseCipher::load(&store, &only_new, &id).unwrap();
        assert!(matches!(cipher.open(&sealed, id.as_str(), "reporter"), Err(CryptoError::UnknownKey(_))));
    }

    #[test]
    fn a_case_from_before_data_keys_opens_with_the_keyring() {
        let store = MemoryStore::new();
        let r = SeededRandom::new(9);
        let id = CaseId::generate(&r);
        let k = ring(&format!("k1:{}", key(1)));
        let legacy = k.seal(b"oud", id.as_str(), "reporter", &r);
        let cipher = CaseCipher::load(&store, &k, &id).unwrap();
        assert_eq!(cipher.open(&legacy, id.as_str(), "reporter").unwrap(), b"oud");
        assert_eq!(cipher.seal(b"nieuw", id.as_str(), "message/1", &r).kid, "k1");
    }
}
