//! The conversation with the reporter, from the confidant's side.
//!
//! Intake stores a reporter's follow-up (sealed, with a pending entry in
//! `idx/pending_messages`) and hands it here at once; the sweep takes in what that
//! handoff missed. Taking a message in is one compare-and-swap change of the case: the
//! unread count, a `case.reporter_message` event, and, when the follow-up reports danger
//! or a new incident, the new priority, a fresh first-contact deadline, a reset
//! acknowledgement and escalation, and a case in aftercare or closed back at work.

use crate::context::{case_cipher, Ctx};
use crate::core::audit::{audit_read, By};
use crate::core::commit::{commit, Base, Decision};
use crate::core::listing::{Cursor, DEFAULT_LIMIT};
use crate::core::outbox::read_case;
use crate::core::rules::{self, PerPriority};
use crate::core::triage::triage;
use crate::core::work::{Actor, CaseWork, Transition};
use crate::core::workflow::owned;
use serde::Serialize;
use shared::auth::Principal;
use shared::case::{message_field, messages_log, CaseMessage, CaseRecord, FollowUpFacts, MessageAuthor};
use shared::domain::{CaseStatus, SupportNeed};
use shared::events::EventType;
use shared::id::CaseId;
use shared::kv::versioned::Versioned;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::Timestamp;

/// A message as the confidant reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageView {
    /// The message's number in the conversation (1 = first); `up_to` of marking read.
    pub number: u64,
    pub author: MessageAuthor,
    pub at: Timestamp,
    pub text: String,
    /// What a reporter's follow-up reported besides its text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUpFacts>,
    /// A reporter message a confidant marked read; a confidant's own message is read.
    pub read: bool,
}

/// A page of the conversation, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationPage {
    pub case_id: CaseId,
    pub messages: Vec<MessageView>,
    pub unread_reporter_messages: u32,
    pub next_cursor: Option<String>,
}

/// A validated query of the conversation: page size and where to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessagesQuery {
    pub limit: u64,
    /// The first message number of the page.
    pub from: u64,
}

impl Default for MessagesQuery {
    /// The first page of [`DEFAULT_LIMIT`] messages.
    fn default() -> MessagesQuery {
        MessagesQuery { limit: DEFAULT_LIMIT, from: 1 }
    }
}

/// What a follow-up reporting danger or a new incident does to a case: the rules decide
/// the priority (never lower than now), first contact is due again within that
/// priority's time from the message, the acknowledgement and escalation start over, and
/// a case in aftercare goes back to work, a closed one is reopened. Returns the events
/// besides `case.reporter_message`.
pub fn act_on_follow_up(
    record: &mut CaseRecord,
    work: &mut CaseWork,
    follow_up: &FollowUpFacts,
    slot: u64,
    at: Timestamp,
    sla: &PerPriority,
) -> Vec<EventType> {
    let Some(assessment) = record.assessment.as_mut() else { return Vec::new() };
    let before = assessment.priority;
    let decision = rules::decide_follow_up(&record.facts, follow_up, slot, at, before);
    assessment.priority = decision.priority;
    assessment.reasons.extend(decision.reasons);
    let needs: Vec<SupportNeed> = SupportNeed::ALL
        .iter()
        .copied()
        .filter(|n| assessment.needs.contains(n) || decision.needs.contains(n))
        .collect();
    assessment.needs = needs;
    assessment.first_contact_due = at + sla.get(decision.priority).expect("configuration covers every priority");
    record.acknowledged_at = None;
    work.escalation_level = 0;
    work.last_escalated_at = None;

    let mut events = Vec::new();
    if decision.priority != before {
        events.push(EventType::CaseTriaged);
    }
    let back_to = match record.status {
        CaseStatus::Aftercare => Some(CaseStatus::InProgress),
        CaseStatus::Closed => Some(CaseStatus::Reopened),
        _ => None,
    };
    if let Some(to) = back_to {
        work.last_transition = Some(Transition { from: record.status, to, by: Actor::Reporter, at });
        record.status = to;
        if to == CaseStatus::Reopened {
            events.push(EventType::CaseReopened);
        }
    }
    events
}

/// Takes in the reporter's message in `slot` of case `id` (triaging the case first
/// if it is not yet). True if this call took it in; taking it in again changes
/// nothing. 404 when there is no such case or message.
pub fn take_in_message<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, id: &CaseId, slot: u64) -> Result<bool, Problem> {
    let doc = read_case(ctx, id)?.ok_or_else(Problem::not_found)?;
    if doc.data.assessment.is_none() {
        triage(ctx, id)?;
    }
    let bytes = ctx.store.get(&messages_log(id).key(slot))?.ok_or_else(Problem::not_found)?;
    let message: CaseMessage = serde_json::from_slice(&bytes)
        .map_err(|e| Problem::internal(anyhow::anyhow!("undecodable case message: {e}")))?;
    if message.author != MessageAuthor::Reporter {
        return Ok(false);
    }
    let follow_up = message.follow_up.filter(FollowUpFacts::reports_something);
    let done = commit(ctx, id, None, Base::Latest, &By::reporter(), |record, work, _| {
        if work.conversation.has_taken_in(slot) {
            return Ok(None);
        }
        work.conversation.take_in(slot, message.at);
        let mut events = vec![EventType::CaseReporterMessage];
        if let Some(follow_up) = &follow_up {
            events.extend(act_on_follow_up(record, work, follow_up, slot, message.at, &ctx.config.sla));
        }
        let (action, note) = match (&follow_up, &record.assessment) {
            (Some(_), Some(a)) => {
                let reasons: Vec<&str> = a.reasons.iter().map(String::as_str).filter(|r| names(r, slot)).collect();
                (format!("reporter_follow_up:{}", a.priority), Some(reasons.join("; ")))
            }
            _ => ("reporter_message".to_string(), None),
        };
        Ok(Some(Decision::new(format!("{action}:message:{slot}"), events).noted(note.as_deref())))
    })?;
    Ok(done.changed)
}

/// A page of the conversation of a case of the caller's organisation, decrypted,
/// oldest first; the read is audited.
pub fn conversation<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &CaseId,
    query: MessagesQuery,
) -> Result<ConversationPage, Problem> {
    let doc = owned(read_case(ctx, id)?, who)?;
    let conversation = crate::core::work::work_of(&doc.data).conversation;
    let log = messages_log(id);
    let last = log.last_slot(ctx.store)?;
    let to = (query.from + query.limit - 1).min(last);
    let mut messages = Vec::new();
    let cipher = case_cipher(ctx, id)?;
    for (slot, bytes) in log.read(ctx.store, query.from, to)? {
        let message: CaseMessage = serde_json::from_slice(&bytes)
            .map_err(|e| Problem::internal(anyhow::anyhow!("undecodable case message: {e}")))?;
        let text = cipher
            .open(&message.text, id.as_str(), &message_field(slot))
            .map_err(|e| Problem::internal(anyhow::anyhow!("case message: {e:?}")))?;
        let read = message.author == MessageAuthor::Confidant || !conversation.unread.contains(&slot);
        messages.push(MessageView {
            number: slot,
            author: message.author,
            at: message.at,
            text: String::from_utf8_lossy(&text).into_owned(),
            follow_up: message.follow_up,
            read,
        });
    }
    audit_read(ctx, &doc.data, who, &format!("messages_read:{}-{to}", query.from))?;
    Ok(ConversationPage {
        case_id: id.clone(),
        messages,
        unread_reporter_messages: conversation.unread_count(),
        next_cursor: (to < last).then(|| Cursor { list: 0, slot: to + 1 }.encode()),
    })
}

/// Marks the reporter's messages read up to message `up_to` (a new case version,
/// audited); nothing changes when they already were.
pub fn mark_read<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &CaseId,
    version: u64,
    up_to: u64,
) -> Result<Versioned<CaseRecord>, Problem> {
    // `exists`, not the log's counter: reading a counter may create it, and bad
    // input writes nothing.
    if up_to == 0 || !ctx.store.exists(&messages_log(id).key(up_to))? {
        return Err(Problem::invalid_field("/up_to", "must be the number of a message of this case"));
    }
    let done = commit(ctx, id, Some(who.organisation), Base::Exact(version), &By::staff(who), |_, work, _| {
        Ok(work.conversation.mark_read(up_to).then(|| Decision::new(format!("marked_read:{up_to}"), Vec::new())))
    })?;
    Ok(done.doc)
}

/// Whether an assessment reason was added by follow-up message `slot`.
fn names(reason: &str, slot: u64) -> bool {
    reason.starts_with(&format!("{}: message {slot}:", rules::FOLLOW_UP))
}
