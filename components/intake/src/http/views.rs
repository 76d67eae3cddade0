//! Intake's JSON answers, as typed views of what the core returns (`openapi.yaml`
//! holds the same shapes). The reporter pages render the same results as HTML
//! (`pages/views.rs`).

use crate::core::lookup::{AddedMessage, Status, VisibleMessage};
use crate::core::submit::Filed;
use serde::Serialize;
use shared::case::MessageAuthor;
use shared::domain::CaseStatus;
use shared::id::CaseId;
use shared::time::Timestamp;

/// The answer to a filed report (`201`): the receipt code is shown this once.
#[derive(Debug, Serialize)]
pub struct FiledView<'a> {
    pub case_reference: &'a CaseId,
    pub receipt_code: String,
    pub status: CaseStatus,
    pub emergency: bool,
    pub advice: &'a [&'static str],
}

impl<'a> FiledView<'a> {
    /// The view of `filed`.
    pub fn of(filed: &'a Filed) -> Self {
        FiledView {
            case_reference: &filed.case_id,
            receipt_code: filed.receipt.to_string(),
            status: filed.status,
            emergency: filed.emergency,
            advice: &filed.advice,
        }
    }
}

/// A message as the reporter sees it.
#[derive(Debug, Serialize)]
pub struct MessageView<'a> {
    pub author: MessageAuthor,
    pub at: Timestamp,
    pub text: &'a str,
}

impl<'a> MessageView<'a> {
    /// The view of `message`.
    pub fn of(message: &'a VisibleMessage) -> Self {
        MessageView { author: message.author, at: message.at, text: &message.text }
    }
}

/// The answer to a status lookup.
#[derive(Debug, Serialize)]
pub struct StatusView<'a> {
    pub case_reference: &'a CaseId,
    pub status: CaseStatus,
    pub received_at: Timestamp,
    pub next_contact_due: Option<Timestamp>,
    pub next_planned_contact: Option<Timestamp>,
    pub messages: Vec<MessageView<'a>>,
}

impl<'a> StatusView<'a> {
    /// The view of `status`.
    pub fn of(status: &'a Status) -> Self {
        StatusView {
            case_reference: &status.case_reference,
            status: status.status,
            received_at: status.received_at,
            next_contact_due: status.next_contact_due,
            next_planned_contact: status.next_planned_contact,
            messages: status.messages.iter().map(MessageView::of).collect(),
        }
    }
}

/// The answer to a follow-up message (`201`).
#[derive(Debug, Serialize)]
pub struct AddedMessageView<'a> {
    pub case_reference: &'a CaseId,
    pub message: MessageView<'a>,
    /// True when the message reports danger now: the advice starts with 112.
    pub emergency: bool,
    pub advice: &'a [&'static str],
}

impl<'a> AddedMessageView<'a> {
    /// The view of `added`.
    pub fn of(added: &'a AddedMessage) -> Self {
        AddedMessageView {
            case_reference: &added.case_reference,
            message: MessageView::of(&added.message),
            emergency: added.emergency,
            advice: &added.advice,
        }
    }
}
