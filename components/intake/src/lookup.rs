//! What the reporter can do with a receipt code: see the status and the confidant's
//! messages, and add a message (which triage takes in: see `docs/triage.md`). Guessing codes is throttled per client address.

use crate::advice;
use crate::client::Client;
use crate::intake::Intake;
use crate::limits::{Counting, Limit};
use crate::report::MessageText;
use shared::case::{
    case_key, message_field, messages_log, pending_messages_log, receipt_key, CaseMessage, CaseRecord, FollowUpFacts,
    MessageAuthor, PendingMessage, ReceiptEntry, RECEIPT_PURPOSE,
};
use shared::case_keys::CaseCipher;
use shared::domain::CaseStatus;
use shared::id::CaseId;
use shared::kv::versioned::{self, Versioned};
use shared::kv::{get_json, to_json, KeyValue};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::receipt::ReceiptCode;
use shared::time::Timestamp;

/// How many of the latest messages a status lookup shows.
pub const MESSAGES_SHOWN: u64 = 50;

/// A message as the reporter sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VisibleMessage {
    pub author: MessageAuthor,
    pub at: Timestamp,
    pub text: String,
}

/// What a status lookup shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaseStatusView {
    pub case_reference: CaseId,
    pub status: CaseStatus,
    pub received_at: Timestamp,
    pub next_contact_due: Option<Timestamp>,
    /// When a confidant plans to be in touch next (the earliest open check-in); never
    /// what for, nor any note or outcome.
    pub next_planned_contact: Option<Timestamp>,
    pub messages: Vec<VisibleMessage>,
}

impl<S: KeyValue, O: Outbound> Intake<'_, S, O> {
    fn lookup_limit(&self) -> Limit {
        Limit {
            purpose: "receipt",
            max: self.config.receipt_lookup_limit,
            window_seconds: self.config.receipt_lookup_window_seconds,
            counting: Counting::Failures,
        }
    }

    /// The case a receipt code opens. Every attempt is counted before the lookup and a
    /// right code is given back, so parallel guesses cannot pass the limit. Once a
    /// client has used up its failed attempts in the window even a right code is
    /// refused (429), so codes cannot be guessed.
    fn open_case(&self, code: &ReceiptCode, client: &Client) -> Result<Versioned<CaseRecord>, Problem> {
        let window = self.lookup_limit().window(&self.config.hasher, client, self.clock.now());
        if !window.take(self.store)? {
            return Err(Problem::too_many_requests(window.retry_after));
        }
        let hash = self.config.hasher.hex(RECEIPT_PURPOSE, code.canonical().as_bytes());
        let found = match get_json::<_, ReceiptEntry>(self.store, &receipt_key(&hash))? {
            Some(entry) => versioned::read::<_, CaseRecord>(self.store, &case_key(&entry.case_id))?,
            None => None,
        };
        match found {
            Some(case) => {
                window.give_back(self.store)?;
                Ok(case)
            }
            None => Err(Problem::new(shared::problem::ProblemKind::NotFound, "no report with this receipt code")
                .at("/receipt_code")),
        }
    }

    /// The status of the case behind `code`, with the latest messages.
    pub fn status(&self, code: &ReceiptCode, client: &Client) -> Result<CaseStatusView, Problem> {
        let case = self.open_case(code, client)?.data;
        let log = messages_log(&case.id);
        // A read: it must not create the counter of a case nobody wrote a message to.
        let last = log.last_slot_if_written(self.store)?;
        let first = last.saturating_sub(MESSAGES_SHOWN - 1).max(1);
        let mut messages = Vec::new();
        let cipher = CaseCipher::load(self.store, &self.config.keyring, &case.id).map_err(Problem::internal)?;
        for (slot, bytes) in log.read(self.store, first, last)? {
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
        Ok(CaseStatusView {
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
    pub fn add_message(
        &self,
        code: &ReceiptCode,
        text: MessageText,
        follow_up: Option<FollowUpFacts>,
        client: &Client,
    ) -> Result<AddedMessage, Problem> {
        let case = self.open_case(code, client)?.data;
        let cipher = CaseCipher::load(self.store, &self.config.keyring, &case.id).map_err(Problem::internal)?;
        let now = self.clock.now();
        let log = messages_log(&case.id);
        let slot = log.reserve(self.store)?;
        let pending = pending_messages_log();
        let pending_slot = pending.reserve(self.store)?;
        let text = text.into_inner();
        let sealed = cipher.seal(text.as_bytes(), case.id.as_str(), &message_field(slot), self.random);
        let advice = advice::for_follow_up(follow_up.as_ref(), case.facts.language);
        let emergency = follow_up.as_ref().is_some_and(FollowUpFacts::urgent);
        let message = CaseMessage { author: MessageAuthor::Reporter, at: now, text: sealed, follow_up };
        let entry = PendingMessage { case_id: case.id.clone(), slot, since: now };
        self.store.set_many(&[(log.key(slot), to_json(&message)), (pending.key(pending_slot), to_json(&entry))])?;

        let triage = self.triage();
        match triage.take_in_message(&case.id, slot) {
            // Triage has it: the entry is done (left behind, the sweep finds it taken in).
            Ok(()) => {
                let _ = self.store.delete(&pending.key(pending_slot));
            }
            Err(failure) => triage.deferred(&format!("message {slot} of {}", case.id), &failure),
        }
        Ok(AddedMessage {
            case_reference: case.id,
            message: VisibleMessage { author: MessageAuthor::Reporter, at: now, text },
            emergency,
            advice,
        })
    }
}

/// The answer to a follow-up message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AddedMessage {
    pub case_reference: CaseId,
    pub message: VisibleMessage,
    /// True when the message reports danger now: the advice starts with 112.
    pub emergency: bool,
    pub advice: Vec<&'static str>,
}
