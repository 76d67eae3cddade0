//! One delivery attempt: take the lease, sign, send, then settle: log, reschedule.
//!
//! The lease is taken by compare-and-swap on the message document itself (it exists,
//! so CAS guards it on every backend, and `versioned::update` resolves Redis's
//! ambiguous answers), so two sweeps, or a sweep and the event request, never make the
//! same attempt twice. A sender that dies mid-attempt loses its lease when it expires
//! and the attempt is made again: delivery is at-least-once, and `webhook-id` lets a
//! receiver drop the repeat.

use crate::context::{Ctx, COMPONENT};
use crate::core::outbox::{self, attempts_log, Lease, Message, MessageStatus};
use crate::core::payload::{self, EndpointDisabledData, PingData, Webhook};
use crate::core::schedule::{self, Verdict};
use crate::core::signing::signature_header;
use crate::core::subscription::{self, DisabledReason, Subscription};
use crate::core::url_policy;
use serde::{Deserialize, Serialize};
use shared::id::{MessageId, SubscriptionId};
use shared::kv::versioned::{self, Change};
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::{Problem, ProblemKind};
use shared::time::{Duration, Timestamp};

/// How much of a receiver's answer the attempt log and a ping answer keep, in bytes of
/// UTF-8 text (see [`logged_body`]).
pub const LOGGED_BODY_BYTES: usize = 1024;

/// Attempts logged per message at most (ten per round; resends add rounds).
pub const MAX_LOGGED_ATTEMPTS: u64 = 100;

/// The `User-Agent` of our webhooks.
pub const USER_AGENT: &str = concat!("weerbaar-webhooks/", env!("CARGO_PKG_VERSION"));

shared::wire_enum!(
    /// What started an attempt.
    Trigger {
        /// In the request that brought the event.
        First => "first",
        /// From the sweep.
        Retry => "retry",
        /// An admin's resend or recovery.
        Resend => "resend",
    }
);

shared::wire_enum!(
    /// What an attempt meant for its message.
    Outcome {
        Delivered => "delivered",
        /// Failed; another attempt is scheduled.
        Retrying => "retrying",
        /// Failed for good (retries exhausted, or 410).
        Failed => "failed",
    }
);

/// A test send to `sub`, signed like any webhook, not stored and never retried: the
/// id it was sent with, and the receiver's answer. 409 if the URL is no longer allowed.
pub fn ping<S, O: Outbound>(ctx: &Ctx<'_, S, O>, sub: &Subscription) -> Result<(MessageId, Answer), Problem> {
    url_policy::check(&sub.url, &ctx.config.local_hosts)
        .map_err(|e| Problem::new(ProblemKind::Conflict, format!("the subscription URL {e}")))?;
    let now = ctx.clock.now();
    let webhook_id = MessageId::generate(ctx.random);
    let body = Webhook {
        event_type: payload::PING_TYPE.into(),
        timestamp: now,
        data: PingData { subscription_id: sub.id.clone() },
    }
    .body();
    let secrets = sub.signing_secrets(&ctx.config.keyring, now).map_err(Problem::internal)?;
    let answer = send_signed(
        ctx.outbound,
        &sub.url,
        &secrets,
        webhook_id.as_str(),
        now,
        &body,
        ctx.config.first_attempt_timeout,
    );
    Ok((webhook_id, answer))
}

/// One attempt, as logged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    pub attempt: u32,
    pub at: Timestamp,
    pub trigger: Trigger,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The first [`LOGGED_BODY_BYTES`] of the response body.
    pub response_body: String,
    pub outcome: Outcome,
}

/// What [`attempt`] did.
#[derive(Debug)]
pub enum Tried {
    /// Not due, already finished, or another sender holds the lease.
    Skipped,
    /// An attempt was made.
    Attempted(Attempt),
    /// The message cannot be delivered any more (its subscription is gone or disabled).
    Abandoned(String),
}

/// A receiver's answer, or the lack of one.
#[derive(Debug)]
pub struct Answer {
    pub status: Option<u16>,
    pub retry_after: Option<String>,
    pub body: String,
    pub error: Option<String>,
    pub latency_ms: u64,
}

/// Signs and sends one webhook. Never follows redirects (the host does not either).
pub fn send_signed<O: Outbound>(
    outbound: &O,
    url: &str,
    secrets: &[crate::core::signing::SigningSecret],
    msg_id: &str,
    timestamp: Timestamp,
    body: &str,
    timeout: std::time::Duration,
) -> Answer {
    let ts = timestamp.unix_seconds();
    let request = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, USER_AGENT)
        // A known length rather than chunked: some receivers and proxies refuse chunked.
        .header(http::header::CONTENT_LENGTH, body.len().to_string())
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature_header(secrets, msg_id, ts, body.as_bytes()))
        .body(body.as_bytes().to_vec());
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            return Answer {
                status: None,
                retry_after: None,
                body: String::new(),
                error: Some(e.to_string()),
                latency_ms: 0,
            }
        }
    };
    let started = std::time::Instant::now();
    let result = outbound.send(request, timeout);
    let latency_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(response) => {
            let kept = logged_body(response.body());
            Answer {
                status: Some(response.status().as_u16()),
                retry_after: response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(String::from),
                body: kept,
                error: None,
                latency_ms,
            }
        }
        Err(e) => {
            Answer { status: None, retry_after: None, body: String::new(), error: Some(clip(&e.0, 300)), latency_ms }
        }
    }
}

/// What the ping answer and the attempt log keep of a receiver's answer: at most
/// [`LOGGED_BODY_BYTES`] bytes of text. Invalid UTF-8 becomes U+FFFD (three bytes for
/// one), so the decoded text is cut again at a character boundary: the documented
/// figure holds for the text stored and shown, whatever the receiver sent.
pub fn logged_body(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(LOGGED_BODY_BYTES)];
    let mut text = String::from_utf8_lossy(head).into_owned();
    if text.len() > LOGGED_BODY_BYTES {
        let mut end = LOGGED_BODY_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn lease_length(timeout: std::time::Duration) -> Duration {
    // Long enough for the send and the bookkeeping after it.
    Duration::seconds(timeout.as_secs() as i64 * 2 + 30)
}

/// What must be left of a lease to start a send under it: the send, and the time to
/// record it, end before the lease does.
fn lease_margin(timeout: std::time::Duration) -> Duration {
    Duration::seconds(timeout.as_secs() as i64 + 15)
}

/// A fresh lease for a sender that sends with `timeout`: its owner id and its end.
pub fn new_lease<S, O>(ctx: &Ctx<'_, S, O>, timeout: std::time::Duration) -> Lease {
    Lease { owner: format!("{:016x}", ctx.random.next_u64()), until: ctx.clock.now() + lease_length(timeout) }
}

/// Makes the next attempt of message `id` if it is due and nobody else is at it: takes
/// the lease by compare-and-swap, sends, and settles the outcome.
pub fn attempt<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    id: &MessageId,
    trigger: Trigger,
    timeout: std::time::Duration,
) -> Result<Tried, Problem> {
    let now = ctx.clock.now();
    let lease = new_lease(ctx, timeout);
    let taken = versioned::update(ctx.store, &outbox::message_key(id), ctx.random, |m: &mut Message, _| {
        if !m.is_due(now) {
            return Ok::<_, Problem>(Change::Keep(None));
        }
        m.lease = Some(lease.clone());
        Ok(Change::Write(Some(m.clone())))
    });
    let message = match taken {
        Ok((_, Some(message))) => message,
        Ok((_, None)) | Err(versioned::UpdateError::NotFound) | Err(versioned::UpdateError::Contended) => {
            return Ok(Tried::Skipped)
        }
        Err(e) => return Err(Problem::from(e)),
    };
    match send_leased(ctx, &message, &lease.owner, trigger, timeout)? {
        Sending::Sent(sent) => Ok(Tried::Attempted(settle(ctx, sent)?)),
        Sending::Abandoned(reason) => Ok(Tried::Abandoned(reason)),
        Sending::NotNow => Ok(Tried::Skipped),
    }
}

/// A send made under a lease, not yet recorded: [`settle`] records it.
#[derive(Debug)]
pub struct Sent {
    pub message: MessageId,
    pub subscription: SubscriptionId,
    owner: String,
    trigger: Trigger,
    /// When the attempt started.
    at: Timestamp,
    /// The message's attempts in this round before this one.
    round_attempts: u32,
    answer: Answer,
    verdict: Verdict,
    /// The message is not in its subscription's list yet: when it was created.
    unlisted: Option<Timestamp>,
}

impl Sent {
    /// What the attempt will mean for the message once settled: known from the answer
    /// alone, before the outcome is written (nobody else writes it while the lease holds).
    pub fn outcome(&self) -> Outcome {
        match self.verdict {
            Verdict::Delivered => Outcome::Delivered,
            Verdict::Gone => Outcome::Failed,
            Verdict::Retry { .. } if self.round_attempts + 1 < schedule::MAX_ATTEMPTS => Outcome::Retrying,
            Verdict::Retry { .. } => Outcome::Failed,
        }
    }
}

/// What [`send_leased`] did.
#[derive(Debug)]
pub enum Sending {
    /// Sent (or refused by the URL policy): settle it.
    Sent(Sent),
    /// The subscription is gone or disabled: the message failed (already written).
    Abandoned(String),
    /// The lease would run out during the send: not sent, the sweep will.
    NotNow,
}

/// Signs and sends `message`, which `owner` holds the lease of (taken by
/// [`attempt`], or written with the message): no store write before the send.
pub fn send_leased<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    message: &Message,
    owner: &str,
    trigger: Trigger,
    timeout: std::time::Duration,
) -> Result<Sending, Problem> {
    let now = ctx.clock.now();
    let held = message.lease.as_ref().is_some_and(|l| l.owner == owner && now + lease_margin(timeout) <= l.until);
    if !held {
        // Another sender may take it once the lease ends: never send without holding it.
        return Ok(Sending::NotNow);
    }
    let id = &message.id;
    let sub = subscription::load(ctx.store, &message.subscription)?.map(|d| d.data);
    let sub = match sub {
        Some(s) if s.enabled => s,
        other => {
            let reason = if other.is_some() { "subscription disabled" } else { "subscription deleted" };
            // A disabled subscription's admins still read its messages; a deleted one has none.
            let listed = match (&other, message.unlisted) {
                (Some(_), true) => {
                    Some(outbox::list_message(ctx.store, &message.subscription, id, message.created_at)?)
                }
                _ => None,
            };
            abandon(ctx, id, owner, reason, listed)?;
            return Ok(Sending::Abandoned(reason.to_string()));
        }
    };
    let answer = match url_policy::check(&sub.url, &ctx.config.local_hosts) {
        Err(why) => Answer {
            status: None,
            retry_after: None,
            body: String::new(),
            error: Some(format!("URL refused: {why}")),
            latency_ms: 0,
        },
        Ok(_) => {
            let secrets = sub.signing_secrets(&ctx.config.keyring, now).map_err(Problem::internal)?;
            send_signed(ctx.outbound, &sub.url, &secrets, id.as_str(), ctx.clock.now(), &message.payload, timeout)
        }
    };
    let verdict = schedule::judge(answer.status, answer.retry_after.as_deref());
    Ok(Sending::Sent(Sent {
        message: id.clone(),
        subscription: sub.id,
        owner: owner.to_string(),
        trigger,
        at: now,
        round_attempts: message.round_attempts,
        answer,
        verdict,
        unlisted: message.unlisted.then_some(message.created_at),
    }))
}

/// Records a send: the outcome on the message (one compare-and-swap, which also keeps
/// the first attempt's log entry), then in one `set_many` the later attempts' log entry
/// and, when the message finished, its retention entry; then the subscription's
/// failure clock.
///
/// A message not yet in its subscription's list (an event's message, on its first
/// attempt) is listed first: one increment and one `set`, after the send and, for the
/// event request's own attempts, after the answer. Should the instance die before the
/// outcome is written, the lease runs out, the sweep sends again and lists it then.
pub fn settle<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, sent: Sent) -> Result<Attempt, Problem> {
    let listed = match sent.unlisted {
        Some(created_at) => Some(outbox::list_message(ctx.store, &sent.subscription, &sent.message, created_at)?),
        None => None,
    };
    let (record, finished_at) = finish(ctx, &sent, listed)?;
    let mut writes = Vec::new();
    if record.attempt > 1 && u64::from(record.attempt) <= MAX_LOGGED_ATTEMPTS {
        writes.push((attempts_log(&sent.message).key(u64::from(record.attempt)), shared::kv::to_json(&record)));
    }
    if let Some(at) = finished_at {
        // Finished now, at `at` (the time the update recorded), long after it was
        // created: the walk of the outbox would purge it late, so it gets an entry.
        writes.push(crate::core::retention::message_entry(ctx, &sent.message, at)?);
    }
    if !writes.is_empty() {
        ctx.store.set_many(&writes)?;
    }
    record_health(ctx, &sent.subscription, sent.verdict, sent.at)?;
    Ok(record)
}

/// Writes the outcome of `sent` on its message: the attempt as logged, and when the
/// message finished if it finished and needs a retention entry of its own.
fn finish<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    sent: &Sent,
    listed: Option<u64>,
) -> Result<(Attempt, Option<Timestamp>), Problem> {
    let now = ctx.clock.now();
    let (answer, verdict, at) = (&sent.answer, sent.verdict, sent.at);
    let (_, record) =
        versioned::update(ctx.store, &outbox::message_key(&sent.message), ctx.random, |m: &mut Message, _| {
            if m.lease.as_ref().is_some_and(|l| l.owner == sent.owner) {
                m.lease = None;
            }
            record_listing(m, listed);
            m.attempts += 1;
            m.round_attempts += 1;
            m.last_attempt_at = Some(at);
            m.last_status = answer.status;
            m.last_error = answer
                .error
                .clone()
                .or_else(|| answer.status.map(|s| format!("HTTP {s}")).filter(|_| verdict != Verdict::Delivered));
            let outcome = match verdict {
                Verdict::Delivered => Outcome::Delivered,
                Verdict::Gone => Outcome::Failed,
                Verdict::Retry { retry_after } => {
                    match schedule::next_delay(m.round_attempts, retry_after, ctx.random) {
                        Some(delay) => {
                            m.next_attempt_at = Some(now + delay);
                            Outcome::Retrying
                        }
                        None => Outcome::Failed,
                    }
                }
            };
            match outcome {
                Outcome::Delivered => {
                    m.status = MessageStatus::Delivered;
                    m.next_attempt_at = None;
                    m.finished_at = Some(now);
                }
                Outcome::Failed => {
                    m.status = MessageStatus::Failed;
                    m.next_attempt_at = None;
                    m.finished_at = Some(now);
                    if verdict == Verdict::Gone {
                        m.last_error = Some("HTTP 410: the receiver is gone; subscription disabled".into());
                    }
                }
                Outcome::Retrying => {}
            }
            let record = Attempt {
                attempt: m.attempts,
                at,
                trigger: sent.trigger,
                status: answer.status,
                latency_ms: answer.latency_ms,
                error: m.last_error.clone(),
                response_body: answer.body.clone(),
                outcome,
            };
            if m.attempts == 1 {
                m.first_attempt = Some(record.clone());
            }
            let own_entry = outcome != Outcome::Retrying && !m.purged_in_outbox_order(now);
            Ok::<_, Problem>(Change::Write((record, own_entry)))
        })
        .map_err(Problem::from)?;
    let (record, own_entry) = record;
    Ok((record, own_entry.then_some(now)))
}

/// Records the list slot `listed` on a message that was not listed yet.
fn record_listing(m: &mut Message, listed: Option<u64>) {
    if let Some(slot) = listed.filter(|_| m.unlisted) {
        m.sub_slot = slot;
        m.unlisted = false;
    }
}

fn abandon<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    id: &MessageId,
    owner: &str,
    reason: &str,
    listed: Option<u64>,
) -> Result<(), Problem> {
    let now = ctx.clock.now();
    let (_, own_entry) = versioned::update(ctx.store, &outbox::message_key(id), ctx.random, |m: &mut Message, _| {
        if m.lease.as_ref().is_some_and(|l| l.owner == owner) {
            m.lease = None;
        }
        record_listing(m, listed);
        m.status = MessageStatus::Failed;
        m.next_attempt_at = None;
        m.finished_at = Some(now);
        m.last_error = Some(reason.to_string());
        Ok::<_, Problem>(Change::Write(!m.purged_in_outbox_order(now)))
    })
    .map_err(Problem::from)?;
    if own_entry {
        ctx.store.set_many(&[crate::core::retention::message_entry(ctx, id, now)?])?;
    }
    Ok(())
}

/// Keeps the subscription's failure clock: cleared by a success, started by a failure;
/// 410, or five days of failures, disable it and tell the operator.
fn record_health<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    id: &SubscriptionId,
    verdict: Verdict,
    now: Timestamp,
) -> Result<(), Problem> {
    let key = subscription::subscription_key(id);
    let result = versioned::update(ctx.store, &key, ctx.random, |s: &mut Subscription, _| {
        let disable = |s: &mut Subscription, reason| {
            s.enabled = false;
            s.disabled_reason = Some(reason);
            s.updated_at = now;
            Ok::<_, Problem>(Change::Write(Some(reason)))
        };
        match verdict {
            Verdict::Delivered if s.failing_since.is_some() => {
                s.failing_since = None;
                Ok(Change::Write(None))
            }
            Verdict::Delivered => Ok(Change::Keep(None)),
            _ if !s.enabled => Ok(Change::Keep(None)),
            Verdict::Gone => disable(s, DisabledReason::Gone),
            Verdict::Retry { .. } => match s.failing_since {
                None => {
                    s.failing_since = Some(now);
                    Ok(Change::Write(None))
                }
                Some(since) if since.until(now) >= schedule::DISABLE_AFTER_FAILING => {
                    disable(s, DisabledReason::Failing)
                }
                Some(_) => Ok(Change::Keep(None)),
            },
        }
    });
    match result {
        Ok((doc, Some(reason))) => endpoint_disabled(ctx, &doc.data, reason),
        Ok(_) | Err(versioned::UpdateError::NotFound) => Ok(()),
        Err(e) => Err(Problem::from(e)),
    }
}

/// The operator event: a log line always, and a webhook to the programme's operator
/// subscriptions and to those of the disabled subscription's organisation.
fn endpoint_disabled<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    sub: &Subscription,
    reason: DisabledReason,
) -> Result<(), Problem> {
    let reason_text = match reason {
        DisabledReason::Gone => "receiver answered 410 Gone",
        DisabledReason::Failing => "endpoint failing for 5 days",
        DisabledReason::Admin => "disabled by an admin",
    };
    shared::log::warn(
        COMPONENT,
        ctx.correlation_id,
        "endpoint_disabled",
        &format!("subscription {} disabled: {reason_text}", sub.id),
    );
    let operators: Vec<Subscription> = subscription::load_all(ctx.store)?
        .into_iter()
        .map(|d| d.data)
        .filter(|s| s.hears_operator_event_of(sub))
        .collect();
    if operators.is_empty() {
        return Ok(());
    }
    let body = Webhook {
        event_type: payload::ENDPOINT_DISABLED_TYPE.to_string(),
        timestamp: ctx.clock.now(),
        data: EndpointDisabledData {
            subscription_id: sub.id.clone(),
            reason: reason_text.to_string(),
            failing_since: sub.failing_since,
        },
    }
    .body();
    outbox::enqueue(ctx, &operators, payload::ENDPOINT_DISABLED_TYPE, &body)?;
    Ok(())
}
