//! What the reporter can do with a receipt code: see the status and the confidant's
//! messages, and add a message (which triage takes in: see `docs/triage.md`). Guessing
//! codes is throttled per client address.

use crate::context::{self, Ctx};
use crate::core::advice;
use crate::core::client::Client;
use crate::core::handoff;
use crate::core::limits::{Counting, Limit};
use shared::case::{
    case_key, message_field, messages_log, pending_messages_log, receipt_key, CaseMessage, CaseRecord, FollowUpFacts,
    MessageAuthor, PendingMessage, ReceiptEntry, RECEIPT_PURPOSE,
};
use shared::domain::CaseStatus;
use shared::id::CaseId;
use shared::kv::versioned::{self, Versioned};
use shared::kv::{get_json, to_json, KeyValue};
use shared::outbound::Outbound;
use shared::problem::{Problem, ProblemKind};
use shared::receipt::ReceiptCode;
use shared::text::Paragraphs;
use shared::time::Timestamp;

/// A follow-up message from the reporter: 1 to 5,000 characters, lines kept.
pub type MessageText = Paragraphs<5000>;

/// How many of the latest messages a status lookup shows.
pub const MESSAGES_SHOWN: u64 = 50;

/// A message as the reporter sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibleMessage {
    pub author: MessageAuthor,
    pub at: Timestamp,
    pub text: String,
}

/// What a status lookup shows the reporter: never a note, an outcome or who works on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub case_reference: CaseId,
    pub status: CaseStatus,
    pub received_at: Timestamp,
    pub next_contact_due: Option<Timestamp>,
    /// When a confidant plans to be in touch next (the earliest open check-in); never
    /// what for, nor any note or outcome.
    pub next_planned_contact: Option<Timestamp>,
    pub messages: Vec<VisibleMessage>,
}

fn lookup_limit<S, O>(ctx: &Ctx<'_, S, O>) -> Limit {
    Limit {
        purpose: "receipt",
        max: ctx.config.receipt_lookup_limit,
        window_seconds: ctx.config.receipt_lookup_window_seconds,
        counting: Counting::Failures,
    }
}

/// The case a receipt code opens. Only failed lookups are counted
/// (`core::limits`, [`Counting::Failures`]): the client's count is read first and a
/// client that has used up its failed attempts in the window is refused even with a
/// right code (429), so codes cannot be guessed; a right code writes nothing; a wrong
/// one is counted, and answered 404 only while within the limit (429 past it).
fn open_case<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    code: &ReceiptCode,
    client: &Client,
) -> Result<Versioned<CaseRecord>, Problem> {
    let window = lookup_limit(ctx).window(&ctx.config.hasher, client, ctx.now());
    if !window.open(ctx.store)? {
        return Err(Problem::too_many_requests(window.retry_after));
    }
    let hash = ctx.config.hasher.hex(RECEIPT_PURPOSE, code.canonical().as_bytes());
    let found = match get_json::<_, ReceiptEntry>(ctx.store, &receipt_key(&hash))? {
        Some(entry) => versioned::read::<_, CaseRecord>(ctx.store, &case_key(&entry.case_id))?,
        None => None,
    };
    match found {
        // A case being purged is gone for the reporter already.
        Some(case) if !case.data.is_purging() => Ok(case),
        _ if window.count_failure(ctx.store)? => Err(no_report()),
        _ => Err(Problem::too_many_requests(window.retry_after)),
    }
}

/// The answer when no (live) case has the receipt code.
fn no_report() -> Problem {
    Problem::new(ProblemKind::NotFound, "no report with this receipt code").at("/receipt_code")
}

/// The status of the case behind `code`, with the latest messages.
pub fn status<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, code: &ReceiptCode, client: &Client) -> Result<Status, Problem> {
    let case = open_case(ctx, code, client)?.data;
    let log = messages_log(&case.id);
    // A read: it must not create the counter of a case nobody wrote a message to.
    let last = log.last_slot(ctx.store)?;
    let first = last.saturating_sub(MESSAGES_SHOWN - 1).max(1);
    let mut messages = Vec::new();
    let cipher = context::case_cipher(ctx, &case.id)?;
    for (slot, bytes) in log.read(ctx.store, first, last)? {
        let message: CaseMessage = serde_json::from_slice(&bytes)
            .map_err(|e| Problem::internal(anyhow::anyhow!("undecodable case message: {e}")))?;
        let text = cipher
            .open(&message.text, case.id.as_str(), &message_field(slot))
            .map_err(|e| Problem::internal(anyhow::anyhow!("case message: {e}")))?;
        messages.push(VisibleMessage {
            author: message.author,
            at: message.at,
            text: String::from_utf8_lossy(&text).into_owned(),
        });
    }
    Ok(Status {
        case_reference: case.id.clone(),
        status: case.status,
        received_at: case.received_at,
        next_contact_due: case.next_contact_due(),
        next_planned_contact: case.next_check_in.filter(|_| case.status.is_open()),
        messages,
    })
}

/// Adds the reporter's follow-up message to the case behind `code`, and hands it to
/// triage at once (a reporter's danger reaches a confidant within this request).
/// The message and its pending entry are written in one `set_many`: if triage
/// cannot be reached, its sweep takes the message in.
pub fn add_message<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    code: &ReceiptCode,
    text: MessageText,
    follow_up: Option<FollowUpFacts>,
    client: &Client,
) -> Result<AddedMessage, Problem> {
    let case = open_case(ctx, code, client)?.data;
    let cipher = context::case_cipher(ctx, &case.id)?;
    let now = ctx.now();
    let log = messages_log(&case.id);
    let slot = log.reserve(ctx.store)?;
    let pending = pending_messages_log();
    let pending_slot = pending.reserve(ctx.store)?;
    let text = text.into_inner();
    let sealed = cipher.seal(text.as_bytes(), case.id.as_str(), &message_field(slot), ctx.random);
    let advice = advice::for_follow_up(follow_up.as_ref(), case.facts.language);
    let emergency = follow_up.as_ref().is_some_and(FollowUpFacts::urgent);
    let message = CaseMessage { author: MessageAuthor::Reporter, at: now, text: sealed, follow_up };
    let entry = PendingMessage { case_id: case.id.clone(), slot, since: now };
    let written = [log.key(slot), pending.key(pending_slot)];
    ctx.store.set_many(&[(written[0].clone(), to_json(&message)), (written[1].clone(), to_json(&entry))])?;
    // A closed case may be purged by the retention sweep since we read it (an open
    // one cannot be within one request: it is kept at least a day after closing): a
    // message written after the purge read the message list would outlive the case.
    // Once the purge has begun, take ours out again; once it is done, the counter we
    // recreated too.
    let recheck = if case.status == CaseStatus::Closed {
        versioned::read::<_, CaseRecord>(ctx.store, &case_key(&case.id))?
    } else {
        None
    };
    match recheck {
        _ if case.status != CaseStatus::Closed => {}
        Some(now) if !now.data.is_purging() => {}
        still_there => {
            let mut leftovers = written.to_vec();
            if still_there.is_none() {
                leftovers.extend(log.all_keys(0));
            }
            ctx.store.delete_many(&leftovers)?;
            return Err(no_report());
        }
    }

    // After the answer: triage takes the message in, and then the entry is done (left
    // behind, the sweep finds it taken in, or takes it in itself).
    let (id, done) = (case.id.clone(), pending.key(pending_slot));
    ctx.after_response(move |ctx| {
        if handoff::take_in_message(ctx, &id, slot) {
            let _ = ctx.store.delete(&done);
        }
    });
    Ok(AddedMessage {
        case_reference: case.id,
        message: VisibleMessage { author: MessageAuthor::Reporter, at: now, text },
        emergency,
        advice,
    })
}

/// A follow-up message as added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedMessage {
    pub case_reference: CaseId,
    pub message: VisibleMessage,
    /// True when the message reports danger now: the advice starts with 112.
    pub emergency: bool,
    pub advice: Vec<&'static str>,
}
