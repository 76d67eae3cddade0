//! What notification answers, as typed bodies.

use crate::core::delivery::{Answer, Attempt};
use crate::core::first_attempts::FirstAttempt;
use crate::core::outbox::{Message, MessageStatus};
use crate::core::subscription::{DisabledReason, Owner, Subscription};
use serde::Serialize;
use shared::domain::{Organisation, Priority, RegionCode};
use shared::events::EventType;
use shared::id::{EventId, MessageId, SubscriptionId};
use shared::time::Timestamp;

/// What the event endpoint answers: the event's messages and their first attempts.
#[derive(Debug, Serialize)]
pub struct AcceptedEvent<'a> {
    pub event_id: &'a EventId,
    /// The event had been accepted before; nothing new was written or sent.
    pub duplicate: bool,
    pub messages: Vec<FirstAttemptView>,
}

/// What the batch endpoint answers: each event's answer, in the batch's order.
#[derive(Debug, Serialize)]
pub struct AcceptedBatch<'a> {
    pub events: Vec<AcceptedEvent<'a>>,
}

/// One message of an accepted event.
#[derive(Debug, Serialize)]
pub struct FirstAttemptView {
    pub id: MessageId,
    pub first_attempt: FirstAttempt,
}

/// A subscription as admins see it: everything but the secrets, except the new one in
/// the answer to a create.
#[derive(Debug, Serialize)]
pub struct SubscriptionView<'a> {
    pub id: &'a SubscriptionId,
    pub url: &'a str,
    pub event_types: &'a [EventType],
    pub organisations: &'a [Organisation],
    /// The organisation's wire word, or `programme`.
    pub owner: &'static str,
    pub regions: &'a [RegionCode],
    pub min_priority: Option<Priority>,
    pub description: &'a str,
    pub enabled: bool,
    pub disabled_reason: Option<DisabledReason>,
    pub operator_events: bool,
    pub failing_since: Option<Timestamp>,
    pub previous_secret_valid_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Only when just created: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<&'a str>,
}

impl<'a> SubscriptionView<'a> {
    /// `s` as seen at `now`, without a secret.
    pub fn of(s: &'a Subscription, now: Timestamp) -> Self {
        SubscriptionView {
            id: &s.id,
            url: &s.url,
            event_types: &s.event_types,
            organisations: &s.organisations,
            owner: match s.owner() {
                Owner::Organisation(o) => o.as_str(),
                Owner::Programme => "programme",
            },
            regions: &s.regions,
            min_priority: s.min_priority,
            description: &s.description,
            enabled: s.enabled,
            disabled_reason: s.disabled_reason,
            operator_events: s.operator_events,
            failing_since: s.failing_since,
            previous_secret_valid_until: s.previous_secret_valid_until(now),
            created_at: s.created_at,
            updated_at: s.updated_at,
            secret: None,
        }
    }
}

/// The subscriptions an admin may see.
#[derive(Debug, Serialize)]
pub struct SubscriptionList<'a> {
    pub subscriptions: Vec<SubscriptionView<'a>>,
}

/// What a secret rotation answers: the new secret, shown this once.
#[derive(Debug, Serialize)]
pub struct RotatedSecret<'a> {
    pub subscription_id: &'a SubscriptionId,
    pub secret: &'a str,
    pub previous_secret_valid_until: Timestamp,
}

/// What a test send answers.
#[derive(Debug, Serialize)]
pub struct PingResult<'a> {
    pub webhook_id: &'a MessageId,
    pub delivered: bool,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<&'a str>,
    pub response_body: &'a str,
}

impl<'a> PingResult<'a> {
    /// The answer to the send with `webhook_id`.
    pub fn of(webhook_id: &'a MessageId, answer: &'a Answer) -> Self {
        PingResult {
            webhook_id,
            delivered: answer.status.is_some_and(|s| (200..300).contains(&s)),
            status: answer.status,
            latency_ms: answer.latency_ms,
            error: answer.error.as_deref(),
            response_body: &answer.body,
        }
    }
}

/// A message as admins see it (the payload included: it holds no personal data).
#[derive(Debug, Serialize)]
pub struct MessageView<'a> {
    pub id: &'a MessageId,
    pub subscription_id: &'a SubscriptionId,
    pub event_id: Option<&'a EventId>,
    pub event_type: &'a str,
    pub status: MessageStatus,
    pub attempts: u32,
    pub created_at: Timestamp,
    /// Only while pending.
    pub next_attempt_at: Option<Timestamp>,
    pub last_attempt_at: Option<Timestamp>,
    pub last_status: Option<u16>,
    pub last_error: Option<&'a str>,
    pub finished_at: Option<Timestamp>,
    /// The webhook body as sent (stored as the exact signed text).
    pub payload: serde_json::Value,
}

impl<'a> MessageView<'a> {
    /// The view of `m`.
    pub fn of(m: &'a Message) -> Self {
        MessageView {
            id: &m.id,
            subscription_id: &m.subscription,
            event_id: m.event_id.as_ref(),
            event_type: &m.event_type,
            status: m.status,
            attempts: m.attempts,
            created_at: m.created_at,
            next_attempt_at: if m.status == MessageStatus::Pending { m.next_attempt_at } else { None },
            last_attempt_at: m.last_attempt_at,
            last_status: m.last_status,
            last_error: m.last_error.as_deref(),
            finished_at: m.finished_at,
            payload: serde_json::from_str(&m.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// A page of a subscription's messages, newest first.
#[derive(Debug, Serialize)]
pub struct MessagePage<'a> {
    pub messages: Vec<MessageView<'a>>,
    /// Pass as `cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// A message's attempt log.
#[derive(Debug, Serialize)]
pub struct AttemptLog {
    pub attempts: Vec<Attempt>,
}

/// What a resend answers: the message now, and the attempt made (if one was).
#[derive(Debug, Serialize)]
pub struct Resent<'a> {
    pub message: MessageView<'a>,
    pub attempt: Option<Attempt>,
}

/// What a recovery answers: how many failed messages are queued again.
#[derive(Debug, Serialize)]
pub struct Recovered {
    pub recovered: u32,
}
