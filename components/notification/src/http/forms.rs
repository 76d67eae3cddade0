//! What clients send notification besides subscriptions (whose bodies the core parses:
//! [`crate::core::subscription::NewSubscription`], `SubscriptionPatch`) and case events
//! ([`shared::events::CaseEvent`]).

use crate::core::outbox::MessageStatus;
use serde::Deserialize;
use shared::time::Timestamp;
use shared::web::{page_limit, FromQuery, CURSOR};

/// Most messages on one page.
pub const MAX_PAGE: u64 = 100;
/// Messages on a page when the query does not say.
pub const DEFAULT_PAGE: u64 = 50;

/// A recovery window: `until` defaults to now.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverForm {
    pub since: Timestamp,
    #[serde(default)]
    pub until: Option<Timestamp>,
}

/// Query of the message list: `status`, `cursor` (a `next_cursor` we sent), `limit`.
#[derive(Debug, Default)]
pub struct MessageQuery {
    pub status: Option<MessageStatus>,
    pub cursor: Option<u64>,
    pub limit: Option<u64>,
}

impl MessageQuery {
    /// Messages on this page.
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_PAGE) as usize
    }
}

impl FromQuery for MessageQuery {
    fn take(&mut self, name: &str, value: &str) -> Result<bool, String> {
        match name {
            "status" => self.status = Some(MessageStatus::parse(value)?),
            CURSOR => {
                let slot = value.parse().ok().filter(|s| *s > 0).ok_or("must be a next_cursor we sent")?;
                self.cursor = Some(slot);
            }
            "limit" => self.limit = Some(page_limit(value, MAX_PAGE)?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
