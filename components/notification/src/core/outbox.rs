//! The outbox: every webhook is a durable message before anyone is told "accepted".
//!
//! Key layout:
//! - `ntf/evt/<evt_id>/claim`: a counter; the first increment wins the event (dedup);
//! - `ntf/evt/<evt_id>`: the [`EventRecord`] listing the event's messages;
//! - `ntf/msg/<msg_id>`: the [`Message`], a `Versioned` document changed only by CAS
//!   (the delivery lease lives in it);
//! - `ntf/msg/<msg_id>/attempts/s/<n>`: the attempt log from the second attempt (the
//!   first is kept in the message), by attempt number;
//! - `ntf/outbox/…`: a `SlotLog` of message ids the sweep walks; `ntf/outbox/head` the
//!   first slot that may still hold work; `ntf/outbox/purge-mark` where the retention
//!   walk goes on.
//!
//! An event's record, messages and index entries are written in one `set_many`: the
//! store holds all of them or none. Message ids are derived from (event, subscription),
//! so an event whose first write failed half-way can be written again with the same
//! ids instead of being lost behind its dedup claim.

use crate::context::Ctx;
use crate::core::delivery::Attempt;
use crate::core::payload;
use crate::core::subscription::{self, Subscription};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::events::CaseEvent;
use shared::id::{EventId, MessageId, SubscriptionId};
use shared::kv::slots::SlotLog;
use shared::kv::versioned::{self, Versioned};
use shared::kv::{claim, get_json, to_json, KeyValue, StoreError};
use shared::problem::Problem;
use shared::random::Random;
use shared::time::{Duration, Timestamp};

/// The key of a message.
pub fn message_key(id: &MessageId) -> String {
    format!("ntf/msg/{id}")
}

/// The attempt log of a message: attempt number `n` (from 2; the first is kept in the
/// [`Message`]) at slot `n`, written with a plain `set` under the number the outcome's
/// compare-and-swap gave it. Messages written before this kept a counter (`…/n`).
pub fn attempts_log(id: &MessageId) -> SlotLog {
    SlotLog::new(format!("ntf/msg/{id}/attempts"))
}

/// The sweep's work list.
pub fn outbox() -> SlotLog {
    SlotLog::new("ntf/outbox")
}

/// Where the sweep starts reading [`outbox`].
pub const OUTBOX_HEAD_KEY: &str = "ntf/outbox/head";

/// The key of an event record.
pub fn event_key(id: &EventId) -> String {
    format!("ntf/evt/{id}")
}

/// The dedup counter of an event.
pub fn event_claim_key(id: &EventId) -> String {
    format!("ntf/evt/{id}/claim")
}

shared::wire_enum!(
    /// Where a message is in its life.
    MessageStatus {
        /// Waiting for its next attempt.
        Pending => "pending",
        /// A receiver answered 2xx.
        Delivered => "delivered",
        /// Retries exhausted, the endpoint gone or the subscription removed.
        Failed => "failed",
    }
);

/// A sender's exclusive right to make the next attempt, until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub owner: String,
    pub until: Timestamp,
}

/// One event for one subscription, as stored at [`message_key`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub subscription: SubscriptionId,
    pub event_id: Option<EventId>,
    pub event_type: String,
    /// The exact body, signed anew (with a fresh timestamp) on every attempt.
    pub payload: String,
    pub created_at: Timestamp,
    pub status: MessageStatus,
    /// Attempts made in all.
    pub attempts: u32,
    /// Attempts since the schedule last started (a resend starts it again).
    pub round_attempts: u32,
    pub next_attempt_at: Option<Timestamp>,
    pub lease: Option<Lease>,
    pub last_attempt_at: Option<Timestamp>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub finished_at: Option<Timestamp>,
    /// The outbox slot the sweep finds this message by (the latest, after a resend).
    pub outbox_slot: u64,
    /// Outbox slots of earlier rounds (before resends): purged with the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spent_outbox_slots: Vec<u64>,
    /// The message's slot in its subscription's message list (0: written before this
    /// was recorded).
    #[serde(default)]
    pub sub_slot: u64,
    /// The first attempt's log entry, kept here instead of in the attempt log (one write
    /// fewer); later attempts are logged at `attempts/s/<attempt number>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_attempt: Option<Attempt>,
    /// Not yet in its subscription's message list: a message of an event is listed when
    /// its first attempt is recorded ([`crate::core::delivery::settle`]), after the send,
    /// not before it. Whoever records an attempt of an unlisted message lists it first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unlisted: bool,
}

/// A message that finished within this of its creation is purged in outbox order (the
/// retention walk of the outbox, [`crate::core::retention`]), with no retention entry
/// of its own; one that finished later gets one.
pub const PURGED_IN_OUTBOX_ORDER_WITHIN: Duration = Duration::minutes(10);

impl Message {
    /// Whether a message that finished at `finished_at` is purged by the walk of the
    /// outbox (no retention entry of its own): it finished soon after it was created.
    pub fn purged_in_outbox_order(&self, finished_at: Timestamp) -> bool {
        finished_at < self.created_at + PURGED_IN_OUTBOX_ORDER_WITHIN
    }

    /// Whether the sweep (or the first attempt) may try now.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.status == MessageStatus::Pending
            && self.next_attempt_at.is_some_and(|t| t <= now)
            && self.lease.as_ref().is_none_or(|l| l.until <= now)
    }
}

/// An event as remembered for deduplication.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: EventId,
    pub event_type: String,
    pub received_at: Timestamp,
    pub messages: Vec<MessageId>,
}

/// What accepting an event did.
#[derive(Debug)]
pub struct Accepted {
    /// The event had been accepted before; nothing new was written.
    pub duplicate: bool,
    pub messages: Vec<MessageId>,
    /// The messages this request created, as written: held by the lease it was given.
    pub leased: Vec<Message>,
}

/// Random bytes fixed by a seed: makes the message id of (event, subscription).
struct Derived([u8; 32]);

impl Random for Derived {
    fn fill(&self, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.0[i % 32];
        }
    }
}

fn message_id_for(event: &EventId, subscription: &SubscriptionId) -> MessageId {
    let seed = Sha256::digest(format!("weerbaar/webhook-message/{event}/{subscription}").as_bytes());
    MessageId::generate(&Derived(seed.into()))
}

/// A message ready to be written, with its index entries.
struct Draft {
    message: Message,
    sub_slot: u64,
}

/// A new message in outbox slot `outbox_slot`, due now; `lease`: created already held
/// by this request's sender, so its first attempt needs no compare-and-swap, and then
/// listed in its subscription's message list only when that attempt is recorded
/// (the list's slot is reserved after the send); otherwise listed now.
#[allow(clippy::too_many_arguments)]
fn draft<S: KeyValue>(
    store: &S,
    id: MessageId,
    sub: &Subscription,
    event_id: Option<EventId>,
    event_type: &str,
    payload: &str,
    now: Timestamp,
    outbox_slot: u64,
    lease: Option<Lease>,
) -> Result<Draft, StoreError> {
    let unlisted = lease.is_some();
    let sub_slot = if unlisted { 0 } else { subscription::messages_log(&sub.id).reserve(store)? };
    let message = Message {
        id,
        subscription: sub.id.clone(),
        event_id,
        event_type: event_type.to_string(),
        payload: payload.to_string(),
        created_at: now,
        status: MessageStatus::Pending,
        attempts: 0,
        round_attempts: 0,
        next_attempt_at: Some(now),
        lease,
        last_attempt_at: None,
        last_status: None,
        last_error: None,
        finished_at: None,
        outbox_slot,
        spent_outbox_slots: Vec::new(),
        sub_slot,
        first_attempt: None,
        unlisted,
    };
    Ok(Draft { message, sub_slot })
}

/// The first of `count` consecutive outbox slots, reserved with one increment (none
/// for no messages).
fn reserve_outbox<S: KeyValue>(store: &S, count: usize) -> Result<u64, StoreError> {
    if count == 0 {
        return Ok(0);
    }
    outbox().reserve_many(store, count as u64)
}

/// An entry of a subscription's message list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageRef {
    pub id: MessageId,
    pub created_at: Timestamp,
}

fn entries(drafts: &[Draft], random: &dyn Random) -> Vec<(String, Vec<u8>)> {
    let mut entries = Vec::with_capacity(drafts.len() * 3);
    for d in drafts {
        let m = &d.message;
        entries.push((message_key(&m.id), Versioned::first(m.clone(), random).encode()));
        entries.push((outbox().key(m.outbox_slot), to_json(&m.id)));
        if m.unlisted {
            continue;
        }
        entries.push((
            subscription::messages_log(&m.subscription).key(d.sub_slot),
            to_json(&MessageRef { id: m.id.clone(), created_at: m.created_at }),
        ));
    }
    entries
}

/// Accepts a case event: deduplicates it and writes one message per interested
/// subscription, all at once. Returns only once everything is durable.
///
/// The messages this call creates are created leased to `lease` (see
/// [`Accepted::leased`]): the request's own first attempts need no compare-and-swap
/// before the send. An event nobody hears writes nothing (no claim, no record, no
/// retention entry): there is nothing to deliver, twice or once.
pub fn accept_event<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    event: &CaseEvent,
    lease: &Lease,
) -> Result<Accepted, Problem> {
    let store = ctx.store;
    // A repeat of an event already written is answered from its record: no write.
    if let Some(record) = get_json::<S, EventRecord>(store, &event_key(&event.id))? {
        return Ok(Accepted { duplicate: true, messages: record.messages, leased: Vec::new() });
    }
    let now = ctx.clock.now();
    let event_type = event.event_type.as_str();
    let wanted: Vec<(MessageId, Subscription)> = subscription::load_all(store)?
        .into_iter()
        .map(|d| d.data)
        .filter(|s| s.wants(event))
        .map(|s| (message_id_for(&event.id, &s.id), s))
        .collect();
    let messages: Vec<MessageId> = wanted.iter().map(|(id, _)| id.clone()).collect();
    let record = EventRecord { id: event.id.clone(), event_type: event_type.to_string(), received_at: now, messages };
    if wanted.is_empty() && !store.exists(&event_claim_key(&event.id))? {
        // Nobody hears it: nothing to deliver, so nothing to deduplicate or list, and
        // nothing written (a repeat is answered the same way, again without a write).
        // Only an event claimed before (by a try that meant to write messages) is
        // written below, so that its claim is purged with its record.
        return Ok(Accepted { duplicate: false, messages: record.messages, leased: Vec::new() });
    }
    let first = claim(store, &event_claim_key(&event.id))?;
    if !first {
        if let Some(record) = get_json::<S, EventRecord>(store, &event_key(&event.id))? {
            return Ok(Accepted { duplicate: true, messages: record.messages, leased: Vec::new() });
        }
        // Claimed before, but never written (that write failed) or being written
        // right now: write it (again) with the same message ids.
    }
    let body = payload::for_case_event(event).body();
    // A concurrent writer of the same event may have landed its messages (and even
    // delivered them): never reset one that exists.
    let existing: Vec<MessageId> =
        if first { Vec::new() } else { load_many(store, &record.messages)?.into_iter().map(|d| d.data.id).collect() };
    let new: Vec<(MessageId, Subscription)> = wanted.into_iter().filter(|(id, _)| !existing.contains(id)).collect();
    let first_slot = reserve_outbox(store, new.len())?;
    let mut drafts = Vec::new();
    for (n, (id, sub)) in new.into_iter().enumerate() {
        let slot = first_slot + n as u64;
        let held = Some(lease.clone());
        drafts.push(draft(store, id, &sub, Some(event.id.clone()), event_type, &body, now, slot, held)?);
    }
    let mut all = entries(&drafts, ctx.random);
    all.push((event_key(&event.id), to_json(&record)));
    if record.messages.is_empty() {
        // No message will ever finish and take the event with it.
        all.push(crate::core::retention::event_entry(ctx, &event.id, now)?);
    }
    store.set_many(&all)?;
    let leased = drafts.into_iter().map(|d| d.message).collect();
    Ok(Accepted { duplicate: false, messages: record.messages, leased })
}

/// Queues one message for each of `subscriptions` (operator events), with fresh ids.
pub fn enqueue<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    subscriptions: &[Subscription],
    event_type: &str,
    body: &str,
) -> Result<Vec<MessageId>, StoreError> {
    let now = ctx.clock.now();
    let first_slot = reserve_outbox(ctx.store, subscriptions.len())?;
    let mut drafts = Vec::new();
    for (n, sub) in subscriptions.iter().enumerate() {
        let (id, slot) = (MessageId::generate(ctx.random), first_slot + n as u64);
        drafts.push(draft(ctx.store, id, sub, None, event_type, body, now, slot, None)?);
    }
    ctx.store.set_many(&entries(&drafts, ctx.random))?;
    Ok(drafts.into_iter().map(|d| d.message.id).collect())
}

/// Lists message `id` in subscription `sub`'s message list (one increment, one `set`):
/// the slot, which the caller records on the message. Written before that record, so a
/// message is never finished without an entry; should the recording fail, the next
/// sender lists it again (the listing shows an entry only where the message says).
pub fn list_message<S: KeyValue>(
    store: &S,
    sub: &SubscriptionId,
    id: &MessageId,
    created_at: Timestamp,
) -> Result<u64, StoreError> {
    let log = subscription::messages_log(sub);
    let slot = log.reserve(store)?;
    store.set(&log.key(slot), &to_json(&MessageRef { id: id.clone(), created_at }))?;
    Ok(slot)
}

/// Reads a message.
pub fn load<S: KeyValue>(store: &S, id: &MessageId) -> Result<Option<Versioned<Message>>, StoreError> {
    versioned::read(store, &message_key(id))
}

/// Reads several messages in one call; missing ones are left out.
pub fn load_many<S: KeyValue>(store: &S, ids: &[MessageId]) -> Result<Vec<Versioned<Message>>, StoreError> {
    let keys: Vec<String> = ids.iter().map(message_key).collect();
    Ok(store
        .get_many(&keys)?
        .into_iter()
        .flatten()
        .filter_map(|v| serde_json::from_slice::<Versioned<Message>>(&v).ok())
        .collect())
}
