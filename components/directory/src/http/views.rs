//! What the directory answers, as typed bodies (match and load answers are the call
//! contracts of [`shared::calls`]).

use crate::core::contact_audit::Page;
use crate::core::member::{Contact, LeaveUntil, MemberKind, Profile};
use crate::core::record::{Availability, Load, MemberRecord};
use serde::Serialize;
use shared::domain::{Expertise, Language, Organisation, Role};
use shared::id::MemberId;
use shared::time::Timestamp;

/// A member as admins see it; `contact` only where asked for (a single member, not lists).
#[derive(Debug, Serialize)]
pub struct MemberView<'a> {
    pub id: &'a MemberId,
    pub name: &'a str,
    pub kind: MemberKind,
    pub regions: Vec<String>,
    pub languages: &'a [Language],
    pub capacity: u32,
    pub open_cases: usize,
    pub availability: Availability,
    pub on_leave_until: Option<LeaveUntil>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deactivated_at: Option<Timestamp>,
    #[serde(flatten)]
    pub profile: ProfileView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<&'a Contact>,
}

/// The fields of a peer, or of an expert.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ProfileView<'a> {
    Peer { role: Role, organisation: Organisation, municipality: &'a str },
    Expert { expertise: &'a [Expertise], specialties: &'a [String] },
}

impl<'a> MemberView<'a> {
    /// `member` with its `load` at `now`, with `contact` if given.
    pub fn of(member: &'a MemberRecord, load: &Load, now: Timestamp, contact: Option<&'a Contact>) -> Self {
        MemberView {
            id: &member.id,
            name: &member.name,
            kind: member.kind(),
            regions: member.coverage.to_wire(),
            languages: &member.languages,
            capacity: member.capacity,
            open_cases: load.open_cases.len(),
            availability: member.availability(now),
            on_leave_until: member.on_leave_until,
            created_at: member.created_at,
            updated_at: member.updated_at,
            deactivated_at: member.deactivated_at,
            profile: match &member.profile {
                Profile::Peer { role, organisation, municipality } => {
                    ProfileView::Peer { role: *role, organisation: *organisation, municipality: municipality.as_str() }
                }
                Profile::Expert { expertise, specialties } => ProfileView::Expert { expertise, specialties },
            },
            contact,
        }
    }
}

/// A page of the member listing.
#[derive(Debug, Serialize)]
pub struct MemberPage<'a> {
    pub members: Vec<MemberView<'a>>,
    /// Pass as `cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// What an import answers.
#[derive(Debug, Serialize)]
pub struct Imported {
    pub imported: usize,
    pub member_ids: Vec<MemberId>,
}

/// A page of an audit log.
#[derive(Debug, Serialize)]
pub struct EntryPage<T> {
    pub entries: Vec<T>,
    /// Pass as `cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

impl<T> From<Page<T>> for EntryPage<T> {
    fn from(page: Page<T>) -> Self {
        EntryPage { entries: page.entries, next_cursor: page.next_cursor.map(|c| c.to_string()) }
    }
}
