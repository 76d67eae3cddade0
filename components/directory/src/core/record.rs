//! The stored member and what admins see of it.
//!
//! Key layout (all under `dir/`, so a log line's key kind says "directory"):
//! - `dir/member/<mem_id>`: the member, a `Versioned<MemberRecord>`; its version is the ETag.
//! - `dir/load/<mem_id>`: the member's open cases, a `Versioned<Load>` of its own, so
//!   assignments never make an admin's `If-Match` stale.
//! - `dir/idx/...`: index lists (see [`crate::core::index`]).
//! - `dir/cards/...`: the match cards of the index lists (see [`crate::core::cards`]).
//! - `dir/claim/<mem_id>`: claim counter for ids given in an import.

use crate::core::member::{Contact, Coverage, LeaveUntil, MemberKind, MemberProfile, Profile};
use serde::{Deserialize, Serialize};
use shared::crypto::{FieldSealer, Keyring, Sealed};
use shared::domain::Language;
use shared::id::{CaseId, MemberId};
use shared::random::Random;
use shared::time::Timestamp;

/// The AAD field name of the sealed contact details.
const CONTACT_FIELD: &str = "contact";

/// Key of a member's document.
pub fn member_key(id: &MemberId) -> String {
    format!("dir/member/{id}")
}

/// Key of a member's load document.
pub fn load_key(id: &MemberId) -> String {
    format!("dir/load/{id}")
}

/// Key claimed when an import brings its own id.
pub fn claim_key(id: &MemberId) -> String {
    format!("dir/claim/{id}")
}

/// A member as stored. Contact details are sealed with the member id as associated data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemberRecord {
    pub id: MemberId,
    pub name: String,
    pub profile: Profile,
    pub coverage: Coverage,
    pub languages: Vec<Language>,
    pub capacity: u32,
    #[serde(default)]
    pub on_leave_until: Option<LeaveUntil>,
    pub contact: Sealed,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub deactivated_at: Option<Timestamp>,
    /// The index slot keys that point at this member, so an update can remove the ones
    /// it no longer needs.
    #[serde(default)]
    pub index_slots: Vec<String>,
}

/// Open cases of one member. Bounded by the capacity, so the document stays small.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Load {
    pub open_cases: Vec<CaseId>,
    /// Per open case (by id), the assignment requests holding it with the hold they
    /// sent ([`crate::load`]): a request whose case change then fails releases only its
    /// own hold, so a concurrent request that assigned the same member to the same case
    /// and won keeps it. No entry: held for good (until released without a hold).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub holds: std::collections::BTreeMap<String, Vec<String>>,
}

shared::wire_enum!(
    /// Whether a member can be given work now.
    Availability {
        Available => "available",
        OnLeave => "on_leave",
        Deactivated => "deactivated",
    }
);

impl MemberRecord {
    /// A new record from a parsed profile, sealing the contact details.
    pub fn new(
        id: MemberId,
        profile: MemberProfile,
        now: Timestamp,
        keyring: &Keyring,
        random: &dyn Random,
    ) -> MemberRecord {
        let contact = keyring.seal_json(&profile.contact, id.as_str(), CONTACT_FIELD, random);
        MemberRecord {
            id,
            name: profile.name,
            profile: profile.profile,
            coverage: profile.coverage,
            languages: profile.languages,
            capacity: profile.capacity,
            on_leave_until: profile.on_leave_until,
            contact,
            created_at: now,
            updated_at: now,
            deactivated_at: None,
            index_slots: Vec::new(),
        }
    }

    /// This record with the fields of `profile` (id, history and index slots kept).
    pub fn replaced_by(&self, profile: MemberProfile, now: Timestamp, keyring: &Keyring, random: &dyn Random) -> Self {
        let mut next = MemberRecord::new(self.id.clone(), profile, now, keyring, random);
        next.created_at = self.created_at;
        next.index_slots = self.index_slots.clone();
        next
    }

    /// Peer or expert.
    pub fn kind(&self) -> MemberKind {
        self.profile.kind()
    }

    /// Whether the member can be given work at `now`.
    pub fn availability(&self, now: Timestamp) -> Availability {
        if self.deactivated_at.is_some() {
            Availability::Deactivated
        } else if self.on_leave_until.is_some_and(|l| l.covers(now)) {
            Availability::OnLeave
        } else {
            Availability::Available
        }
    }

    /// The contact details, opened.
    pub fn open_contact(&self, keyring: &Keyring) -> anyhow::Result<Contact> {
        keyring
            .open_json(&self.contact, self.id.as_str(), CONTACT_FIELD)
            .map_err(|e| anyhow::anyhow!("contact details of a member do not open: {e}"))
    }
}
