//! Triage's outbox: every event is stored before it is sent, so a notification outage
//! loses nothing.
//!
//! A change's events share one entry (`triage/outbox/s/<slot>`: one slot, one key
//! written and one deleted however many events the change emits), written in the
//! `set_many` that prepares the change, and the case's compare-and-swap lists the event ids
//! ([`CaseWork::events`](crate::core::work::CaseWork)): that swap is the commit point, since
//! Spin's CAS guards one key only. An entry is sent only once its ids are on the case;
//! an entry whose events were all accepted is deleted (that is "marked sent"); one with
//! an event left unsent stays whole, and its events go again (notification accepts an
//! event id once); an entry whose change never
//! committed is dropped after [`ORPHAN_GRACE`]. A change of more than one event goes in
//! one request (`POST /notification/internal/events/batch`), in order. The notification component
//! deduplicates by event id, so two sweeps sending the same entry deliver it once.

use crate::context::Ctx;
use crate::core::deferred;
use crate::core::peers::send_events;
use crate::core::work::{work_of, CaseWork};
use serde::{Deserialize, Serialize};
use shared::case::{case_key, CaseRecord};
use shared::domain::CaseStatus;
use shared::events::{case_api_link, CaseEvent, CaseEventData, EventType};
use shared::id::EventId;
use shared::kv::slots::SlotLog;
use shared::kv::versioned::{self, Versioned};
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::time::{Duration, Timestamp};

/// The outbox list.
pub fn outbox_log() -> SlotLog {
    SlotLog::new("triage/outbox")
}

/// What the sweep's resend did.
#[derive(Debug, Default)]
pub struct Resent {
    pub sent: u32,
    pub unsent: u32,
    pub dropped: u32,
    /// Slots whose entry waits for a later sweep.
    pub waiting: Vec<u64>,
}

/// How long an entry may wait for its case change to commit before it is dropped:
/// far longer than a compare-and-swap can take.
pub const ORPHAN_GRACE: Duration = Duration::minutes(5);

/// The events of one committed change waiting to be sent, in the order they go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The first event (an entry of an earlier release holds only this one).
    pub event: CaseEvent,
    /// The change's further events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<CaseEvent>,
    pub written_at: Timestamp,
}

impl OutboxEntry {
    /// The entry of a change emitting `events` (at least one).
    pub fn new(mut events: Vec<CaseEvent>, written_at: Timestamp) -> Option<OutboxEntry> {
        if events.is_empty() {
            return None;
        }
        let event = events.remove(0);
        Some(OutboxEntry { event, more: events, written_at })
    }

    /// Every event of the entry, in order.
    pub fn events(&self) -> impl Iterator<Item = &CaseEvent> {
        std::iter::once(&self.event).chain(&self.more)
    }
}

/// An event about `record` as it is after the change (only non-identifying data).
pub fn event(kind: EventType, record: &CaseRecord, work: &CaseWork, id: EventId, now: Timestamp) -> CaseEvent {
    let assessment = record.assessment.as_ref();
    // A check-in event is about the check-in its change announced (one per change).
    let check_in = match kind {
        EventType::CaseCheckInDue | EventType::CaseCheckInOverdue => work.check_in_announced_at(now),
        _ => None,
    };
    CaseEvent {
        id,
        event_type: kind,
        timestamp: now,
        data: CaseEventData {
            case_reference: record.id.clone(),
            priority: assessment.map(|a| a.priority),
            organisation: assessment.map(|a| a.organisation),
            region: record.facts.region,
            status: record.status,
            first_contact_due: record.next_contact_due(),
            escalation_level: match kind {
                EventType::CaseEscalated => Some(work.escalation_level),
                EventType::CaseCheckInOverdue => check_in.map(|c| c.overdue_level),
                _ => None,
            },
            api_link: case_api_link(&record.id),
            unread_reporter_messages: (kind == EventType::CaseReporterMessage)
                .then(|| work.conversation.unread_count()),
            check_in_id: check_in.map(|c| c.id.clone()),
            check_in_due_at: check_in.map(|c| c.due_at),
        },
    }
}

/// The event kind of a status change, if it has one.
pub fn status_event(to: CaseStatus) -> Option<EventType> {
    match to {
        CaseStatus::Assigned => Some(EventType::CaseAssigned),
        CaseStatus::Closed => Some(EventType::CaseClosed),
        CaseStatus::Reopened => Some(EventType::CaseReopened),
        _ => None,
    }
}

/// Sends a committed change's events now, in order, in one request. Returns the key of their outbox
/// entry when every one was accepted (the caller deletes it, with whatever else it
/// removes after the change); otherwise the entry stays whole for the sweep. Never
/// fails the request: the change is already stored.
pub fn send_committed<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    slot: u64,
    events: &[CaseEvent],
) -> Option<String> {
    match send_events(ctx, events) {
        Ok(()) => Some(outbox_log().key(slot)),
        Err(failure) => {
            let ids: Vec<String> = events.iter().map(|e| format!("{} {}", e.id, e.event_type)).collect();
            deferred(ctx, "event-deferred", &format!("{} left for the sweep: {failure}", ids.join(", ")));
            None
        }
    }
}

/// The sweep's part: sends every committed entry of `entries` (outbox slots with
/// what they hold), drops orphans. Returns what it did and the slots still waiting
/// (unsent, or not yet committed within the grace time).
pub fn resend<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    entries: Vec<(u64, Vec<u8>)>,
) -> Result<Resent, StoreError> {
    let log = outbox_log();
    let now = ctx.clock.now();
    let mut decoded = Vec::new();
    let mut broken = Vec::new();
    for (slot, bytes) in entries {
        match serde_json::from_slice::<OutboxEntry>(&bytes) {
            Ok(entry) => decoded.push((slot, entry)),
            Err(_) => broken.push(log.key(slot)),
        }
    }
    let cases =
        crate::core::index::read_cases(ctx.store, decoded.iter().map(|(_, e)| e.event.data.case_reference.clone()))?;
    let mut resent = Resent::default();
    let mut done = broken;
    for (slot, entry) in decoded {
        // A change's events commit together: the first one's id on the case says so.
        let committed = cases
            .get(&entry.event.data.case_reference)
            .is_some_and(|doc| work_of(&doc.data).events.contains(&entry.event.id));
        if !committed {
            if entry.written_at + ORPHAN_GRACE <= now {
                done.push(log.key(slot));
                resent.dropped += entry.events().count() as u32;
            } else {
                resent.waiting.push(slot);
            }
            continue;
        }
        let events: Vec<CaseEvent> = entry.events().cloned().collect();
        if send_events(ctx, &events).is_ok() {
            resent.sent += events.len() as u32;
            done.push(log.key(slot));
        } else {
            resent.unsent += events.len() as u32;
            resent.waiting.push(slot);
        }
    }
    if !done.is_empty() {
        ctx.store.delete_many(&done)?;
    }
    Ok(resent)
}

/// Reads a case document (for helpers that need the version).
pub fn read_case<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    id: &shared::id::CaseId,
) -> Result<Option<Versioned<CaseRecord>>, StoreError> {
    versioned::read(ctx.store, &case_key(id))
}
