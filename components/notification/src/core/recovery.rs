//! Getting messages out again: resend one, or recover every failed message of a
//! subscription in a time window (after an outage, once the endpoint works again).

use crate::context::Ctx;
use crate::core::delivery::{self, Attempt, Tried, Trigger};
use crate::core::outbox::{self, attempts_log, Message, MessageRef, MessageStatus};
use crate::core::subscription;
use shared::id::{MessageId, SubscriptionId};
use shared::kv::to_json;
use shared::kv::versioned::{self, Change, Versioned};
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::Timestamp;

/// Most messages one recovery looks at.
pub const MAX_RECOVER_SCAN: usize = 2000;

/// Puts a message back in the outbox, due now, with a fresh retry schedule.
fn requeue<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, id: &MessageId) -> Result<Versioned<Message>, Problem> {
    // The new entry first: should the update fail, an entry whose slot the message
    // does not name is skipped by the sweep.
    let slot = outbox::outbox().reserve(ctx.store)?;
    ctx.store.set(&outbox::outbox().key(slot), &to_json(id))?;
    let now = ctx.clock.now();
    let (doc, ()) = versioned::update(ctx.store, &outbox::message_key(id), ctx.random, |m: &mut Message, _| {
        m.status = MessageStatus::Pending;
        m.round_attempts = 0;
        m.next_attempt_at = Some(now);
        m.finished_at = None;
        if m.outbox_slot != slot && !m.spent_outbox_slots.contains(&m.outbox_slot) {
            m.spent_outbox_slots.push(m.outbox_slot);
        }
        m.outbox_slot = slot;
        Ok::<_, Problem>(Change::Write(()))
    })
    .map_err(Problem::from)?;
    Ok(doc)
}

/// Resends one message now (whatever its status), and returns it with the attempt.
pub fn resend<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    id: &MessageId,
) -> Result<(Versioned<Message>, Option<Attempt>), Problem> {
    outbox::load(ctx.store, id)?.ok_or_else(Problem::not_found)?;
    requeue(ctx, id)?;
    let attempt = match delivery::attempt(ctx, id, Trigger::Resend, ctx.config.first_attempt_timeout)? {
        Tried::Attempted(a) => Some(a),
        Tried::Skipped | Tried::Abandoned(_) => None,
    };
    let doc = outbox::load(ctx.store, id)?.ok_or_else(Problem::not_found)?;
    Ok((doc, attempt))
}

/// Requeues the failed messages of a subscription created in `[since, until]`;
/// the sweep delivers them. Returns how many.
pub fn recover<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    sub: &SubscriptionId,
    since: Timestamp,
    until: Timestamp,
) -> Result<u32, Problem> {
    subscription::load(ctx.store, sub)?.ok_or_else(Problem::not_found)?;
    let log = subscription::messages_log(sub);
    let mut to = log.last_slot(ctx.store)?;
    let mut recovered = 0;
    let mut scanned = 0;
    while to > 0 && scanned < MAX_RECOVER_SCAN {
        let from = to.saturating_sub(99).max(1);
        let refs: Vec<MessageRef> =
            log.read(ctx.store, from, to)?.into_iter().filter_map(|(_, v)| serde_json::from_slice(&v).ok()).collect();
        scanned += refs.len();
        let in_window: Vec<MessageId> =
            refs.iter().filter(|r| r.created_at >= since && r.created_at <= until).map(|r| r.id.clone()).collect();
        for doc in outbox::load_many(ctx.store, &in_window)? {
            if doc.data.status == MessageStatus::Failed {
                requeue(ctx, &doc.data.id)?;
                recovered += 1;
            }
        }
        // The log is in creation order: once a page starts before the window, stop.
        if refs.first().is_some_and(|r| r.created_at < since) {
            break;
        }
        to = from - 1;
    }
    Ok(recovered)
}

/// A page of a subscription's messages, newest first, optionally of one status: those
/// in slots before `cursor` (the `next_cursor` of the page before), and the cursor of
/// the next page if more may follow.
pub fn list<S: KeyValue>(
    store: &S,
    sub: &SubscriptionId,
    status: Option<MessageStatus>,
    cursor: Option<u64>,
    limit: usize,
) -> Result<(Vec<Message>, Option<u64>), Problem> {
    subscription::load(store, sub)?.ok_or_else(Problem::not_found)?;
    let log = subscription::messages_log(sub);
    let last = log.last_slot(store)?;
    let mut to = cursor.map(|c| c.saturating_sub(1)).unwrap_or(last).min(last);
    let mut found = Vec::new();
    while to > 0 {
        let from = to.saturating_sub(99).max(1);
        let mut refs: Vec<(u64, MessageRef)> = log
            .read(store, from, to)?
            .into_iter()
            .filter_map(|(slot, v)| serde_json::from_slice(&v).ok().map(|r| (slot, r)))
            .collect();
        refs.reverse();
        let ids: Vec<MessageId> = refs.iter().map(|(_, r)| r.id.clone()).collect();
        let docs = outbox::load_many(store, &ids)?;
        for (slot, r) in refs {
            let Some(doc) = docs.iter().find(|d| d.data.id == r.id) else { continue };
            // An entry the message does not name was left by a listing whose record
            // failed (the message was listed again): shown once, where the message says.
            if doc.data.sub_slot > 0 && doc.data.sub_slot != slot {
                continue;
            }
            if status.is_none_or(|s| s == doc.data.status) && !found.iter().any(|(_, m): &(u64, Message)| m.id == r.id)
            {
                found.push((slot, doc.data.clone()));
                if found.len() == limit {
                    let next = (slot > 1).then_some(slot);
                    return Ok((found.into_iter().map(|(_, m)| m).collect(), next));
                }
            }
        }
        to = from - 1;
    }
    Ok((found.into_iter().map(|(_, m)| m).collect(), None))
}

/// A message's attempt log, oldest first: the first attempt from the message itself
/// (or from slot 1, for a message written before it was kept there), the later ones
/// from their slots (numbered by attempt).
pub fn attempts<S: KeyValue>(store: &S, id: &MessageId) -> Result<Vec<Attempt>, Problem> {
    let message = outbox::load(store, id)?.ok_or_else(Problem::not_found)?.data;
    let log = attempts_log(id);
    let last = log.last_slot(store)?.max(u64::from(message.attempts)).min(delivery::MAX_LOGGED_ATTEMPTS);
    let mut attempts: Vec<Attempt> = message.first_attempt.into_iter().collect();
    let from = attempts.len() as u64 + 1;
    attempts.extend(log.read(store, from, last)?.into_iter().filter_map(|(_, v)| serde_json::from_slice(&v).ok()));
    Ok(attempts)
}
