//! Triage's bookkeeping on a case, kept in the record's `work` slot: assignment,
//! suggestions, escalation, override, check-ins, the index slots the case holds and the ids of
//! the events its changes committed.

use crate::core::checkins::CheckIn;
use serde::{Deserialize, Serialize};
use shared::case::CaseRecord;
use shared::crypto::Sealed;
use shared::domain::{CaseStatus, Priority, SupportNeed};
use shared::id::{CheckInId, EventId, MemberId, TokenId};
use shared::time::Timestamp;

/// How many committed event ids a case remembers: far more than a case emits between
/// two sweeps, so an outbox entry is never mistaken for an orphan.
pub const REMEMBERED_EVENTS: usize = 64;

/// Triage's part of a case record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseWork {
    /// The index entries this case holds (see [`crate::core::index`]).
    #[serde(default)]
    pub slots: Vec<HeldSlot>,
    /// Ids of events whose case change committed: an outbox entry is sent only if its
    /// event id is here (the swap of the case is the commit point).
    #[serde(default)]
    pub events: Vec<EventId>,
    #[serde(default)]
    pub assignment: Option<Assignment>,
    /// Candidates the directory suggested at triage.
    #[serde(default)]
    pub suggestions: Vec<Suggestion>,
    /// The directory could not be asked; the sweep asks again.
    #[serde(default)]
    pub rematch: bool,
    /// 0 until the first escalation.
    #[serde(default)]
    pub escalation_level: u32,
    #[serde(default)]
    pub last_escalated_at: Option<Timestamp>,
    #[serde(default)]
    pub priority_override: Option<PriorityOverride>,
    /// The latest status change (every change is also in the audit trail).
    #[serde(default)]
    pub last_transition: Option<Transition>,
    /// The reporter's messages as triage has taken them in (unread count, read mark).
    #[serde(default)]
    pub conversation: Conversation,
    /// Planned contacts (aftercare, prevention): open ones and the latest completed
    /// (see [`crate::core::checkins`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_ins: Vec<CheckIn>,
    /// Set when the retention sweep has begun purging this closed case: from then on
    /// the case takes no change (see [`crate::core::retention`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purging: Option<Timestamp>,
    /// The latest entry of the case's audit record chain (see [`crate::core::audit`]): the
    /// swap that writes this record is what makes that entry valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<crate::core::audit::Link>,
    /// What the programme figures counted of this case (see [`crate::core::stats`]).
    #[serde(default, skip_serializing_if = "crate::core::stats::StatsMarks::is_empty")]
    pub stats: crate::core::stats::StatsMarks,
}

impl CaseWork {
    /// The check-in a change at `at` announced due or overdue (a change announces one).
    pub fn check_in_announced_at(&self, at: Timestamp) -> Option<&CheckIn> {
        self.check_ins.iter().find(|c| c.last_announced_at == Some(at))
    }
}

/// How many taken-in reporter messages a case remembers by slot: a message below all
/// of a full list is older than any that can still be pending, so it counts as taken in.
pub const REMEMBERED_MESSAGES: usize = 64;

/// Where the conversation with the reporter stands, as triage's listing and view need it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Slots of the reporter messages taken in (newest last, at most
    /// [`REMEMBERED_MESSAGES`]): taking a message in twice changes nothing.
    #[serde(default)]
    pub taken_in: Vec<u64>,
    /// Slots of reporter messages no confidant has marked read, oldest first.
    #[serde(default)]
    pub unread: Vec<u64>,
    #[serde(default)]
    pub last_reporter_message_at: Option<Timestamp>,
    /// A confidant has read every message up to this slot.
    #[serde(default)]
    pub read_up_to: u64,
}

impl Conversation {
    /// Whether the reporter message in `slot` was taken in already.
    pub fn has_taken_in(&self, slot: u64) -> bool {
        self.taken_in.contains(&slot)
            || (self.taken_in.len() >= REMEMBERED_MESSAGES && self.taken_in.iter().all(|s| *s > slot))
    }

    /// Takes in the reporter message in `slot`, sent at `at`: unread unless a
    /// confidant already marked a later message read.
    pub fn take_in(&mut self, slot: u64, at: Timestamp) {
        self.taken_in.push(slot);
        self.taken_in.sort_unstable();
        if self.taken_in.len() > REMEMBERED_MESSAGES {
            let excess = self.taken_in.len() - REMEMBERED_MESSAGES;
            self.taken_in.drain(..excess);
        }
        if slot > self.read_up_to {
            self.unread.push(slot);
            self.unread.sort_unstable();
        }
        self.last_reporter_message_at = Some(self.last_reporter_message_at.map_or(at, |last| last.max(at)));
    }

    /// Marks every message up to `slot` read; false if that changes nothing.
    pub fn mark_read(&mut self, slot: u64) -> bool {
        if slot <= self.read_up_to {
            return false;
        }
        self.read_up_to = slot;
        self.unread.retain(|s| *s > slot);
        true
    }

    /// How many reporter messages are unread.
    pub fn unread_count(&self) -> u32 {
        self.unread.len() as u32
    }
}

/// An index entry held by a case: which list, which slot, and the deadline it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldSlot {
    pub log: String,
    pub slot: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    /// The check-in an entry of a check-in list stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_in: Option<CheckInId>,
}

/// Who works the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The confidant, as named by the organisation (e.g. a desk or a first name).
    pub confidant: String,
    /// Peers and experts of the network who took the case on.
    pub members: Vec<MemberId>,
    pub by: Actor,
    pub at: Timestamp,
}

/// A directory candidate for one need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub need: SupportNeed,
    pub member_id: MemberId,
    pub name: String,
    pub kind: String,
    pub score: f64,
}

impl Eq for Suggestion {}

/// A confidant's override of the triaged priority; the reason is sealed (it is free text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityOverride {
    pub from: Priority,
    pub to: Priority,
    pub reason: Sealed,
    pub by: Actor,
    pub at: Timestamp,
}

/// A status change: who, when, and (sealed) why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: CaseStatus,
    pub to: CaseStatus,
    pub by: Actor,
    pub at: Timestamp,
}

/// Who did something: a staff token, the bootstrap admin, triage itself, or the
/// reporter (through a follow-up message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "token")]
pub enum Actor {
    Staff(TokenId),
    BootstrapAdmin,
    System,
    Reporter,
}

impl Actor {
    /// The actor of an authenticated principal.
    pub fn of(principal: &shared::auth::Principal) -> Actor {
        match &principal.token {
            Some(id) => Actor::Staff(id.clone()),
            None => Actor::BootstrapAdmin,
        }
    }
}

/// Reads triage's bookkeeping from a record (empty for a case not yet triaged), for
/// reading only: an undecodable `work` reads as empty. Changes use [`try_work_of`].
pub fn work_of(record: &CaseRecord) -> CaseWork {
    try_work_of(record).unwrap_or_default()
}

/// Reads triage's bookkeeping, refusing an undecodable one, so that a change never
/// writes back an emptied bookkeeping (lost index slots and event ids).
pub fn try_work_of(record: &CaseRecord) -> Result<CaseWork, serde_json::Error> {
    match &record.work {
        None => Ok(CaseWork::default()),
        Some(v) => serde_json::from_value(v.clone()),
    }
}

/// Writes triage's bookkeeping into a record.
pub fn set_work(record: &mut CaseRecord, work: &CaseWork) {
    record.work = Some(serde_json::to_value(work).expect("work serialises"));
}

/// Remembers committed event ids, dropping the oldest beyond [`REMEMBERED_EVENTS`].
pub fn remember_events(work: &mut CaseWork, ids: impl IntoIterator<Item = EventId>) {
    work.events.extend(ids);
    if work.events.len() > REMEMBERED_EVENTS {
        let excess = work.events.len() - REMEMBERED_EVENTS;
        work.events.drain(..excess);
    }
}
