//! Triage's request bodies and query strings: what a request may say, checked before
//! the core sees it.

use crate::core::agenda::{AgendaCursor, AgendaQuery, AGENDA_HORIZON};
use crate::core::conversation::MessagesQuery;
use crate::core::listing::{Cursor, Query, Sort, DEFAULT_LIMIT, MAX_LIMIT};
use crate::core::stats::layout::Month;
use crate::core::stats::query::{StatsQuery, MAX_MONTHS};
use serde::Deserialize;
use shared::domain::{CaseStatus, CheckInOutcome, CheckInPurpose, Organisation, Priority, RegionCode};
use shared::id::MemberId;
use shared::problem::{Problem, ProblemKind};
use shared::text::{BoundedText, Paragraphs};
use shared::time::Timestamp;
use shared::web::{page_limit, yes_or_no, FromQuery, CURSOR};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandOverForm {
    pub organisation: Organisation,
    pub reason: Paragraphs<2000>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkReadForm {
    /// The number of the last message read.
    pub up_to: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignForm {
    pub confidant: BoundedText<100>,
    #[serde(default)]
    pub members: Members,
    #[serde(default)]
    pub reason: Option<Paragraphs<2000>>,
}

/// Network members on a case: at most 10, no repeats.
#[derive(Debug, Default)]
pub struct Members(Vec<MemberId>);

impl std::ops::Deref for Members {
    type Target = [MemberId];
    fn deref(&self) -> &[MemberId] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let members = Vec::<MemberId>::deserialize(d)?;
        let mut unique = members.clone();
        shared::order::sort_by(&mut unique, Ord::cmp);
        unique.dedup();
        if members.len() > 10 || unique.len() != members.len() {
            return Err(serde::de::Error::custom("at most 10 members, each once"));
        }
        Ok(Members(members))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityForm {
    pub priority: Priority,
    pub reason: Paragraphs<2000>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusForm {
    pub status: CaseStatus,
    pub reason: Paragraphs<2000>,
    /// Moving to aftercare without an open check-in: why no aftercare is wanted.
    #[serde(default)]
    pub no_aftercare_reason: Option<Paragraphs<2000>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckInForm {
    pub due_at: Timestamp,
    pub purpose: CheckInPurpose,
    #[serde(default)]
    pub note: Option<Paragraphs<2000>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletionForm {
    pub outcome: CheckInOutcome,
    pub note: Paragraphs<2000>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageForm {
    pub text: Paragraphs<5000>,
}

/// What a cursor we did not send is told.
const NOT_OUR_CURSOR: &str = "not a cursor we sent";

/// `GET /triage/cases`: filters, order and page (unknown parameters are refused).
impl FromQuery for Query {
    fn take(&mut self, name: &str, value: &str) -> Result<bool, String> {
        match name {
            "status" => self.status = Some(CaseStatus::parse(value)?),
            "priority" => self.priority = Some(Priority::parse(value)?),
            "region" => self.region = Some(RegionCode::parse(value)?),
            "overdue" => self.overdue = Some(yes_or_no(value)?),
            "unread" => self.unread = Some(yes_or_no(value)?),
            "sort" => self.sort = Sort::parse(value)?,
            "limit" => self.limit = page_limit(value, MAX_LIMIT)?,
            CURSOR => self.cursor = Some(Cursor::parse(value).ok_or(NOT_OUR_CURSOR)?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// `GET /triage/cases/{case_id}/messages`: `limit` and `cursor`.
impl FromQuery for MessagesQuery {
    fn take(&mut self, name: &str, value: &str) -> Result<bool, String> {
        match name {
            "limit" => self.limit = page_limit(value, MAX_LIMIT)?,
            CURSOR => {
                self.from = Cursor::parse(value).filter(|c| c.list == 0 && c.slot >= 1).ok_or(NOT_OUR_CURSOR)?.slot
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// `GET /triage/check-ins`: `due_before` (default: now), `limit` and `cursor`.
#[derive(Debug)]
pub struct AgendaForm {
    due_before: Option<Timestamp>,
    limit: u64,
    cursor: Option<AgendaCursor>,
}

impl Default for AgendaForm {
    fn default() -> AgendaForm {
        AgendaForm { due_before: None, limit: DEFAULT_LIMIT, cursor: None }
    }
}

impl FromQuery for AgendaForm {
    fn take(&mut self, name: &str, value: &str) -> Result<bool, String> {
        match name {
            "due_before" => self.due_before = Some(Timestamp::parse(value)?),
            "limit" => self.limit = page_limit(value, MAX_LIMIT)?,
            CURSOR => self.cursor = Some(AgendaCursor::parse(value).ok_or(NOT_OUR_CURSOR)?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

impl AgendaForm {
    /// The agenda query at `now`: what is due now by default, at most
    /// [`AGENDA_HORIZON`] ahead.
    pub fn at(self, now: Timestamp) -> Result<AgendaQuery, Problem> {
        let due_before = self.due_before.unwrap_or(now);
        if due_before > now + AGENDA_HORIZON {
            return Err(bad("due_before", "may be at most 92 days ahead"));
        }
        Ok(AgendaQuery { due_before, limit: self.limit, cursor: self.cursor })
    }
}

/// `GET /triage/stats`: `from`, `to` (months) and `organisation`.
#[derive(Debug, Default)]
pub struct StatsForm {
    from: Option<Month>,
    to: Option<Month>,
    organisation: Option<Organisation>,
}

impl FromQuery for StatsForm {
    fn take(&mut self, name: &str, value: &str) -> Result<bool, String> {
        match name {
            "from" => self.from = Some(Month::parse(value)?),
            "to" => self.to = Some(Month::parse(value)?),
            "organisation" => self.organisation = Some(Organisation::parse(value)?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

impl StatsForm {
    /// The period asked for, in the `current` month: by default the current month and
    /// the two before it (a quarter), at most [`MAX_MONTHS`].
    pub fn at(self, current: Month) -> Result<StatsQuery, Problem> {
        let to = self.to.unwrap_or(current);
        let from = self.from.unwrap_or_else(|| to.previous().previous());
        if from > to {
            return Err(bad("from", "must not be after to"));
        }
        if from.through(to).len() > MAX_MONTHS {
            return Err(bad("from", "the period may span at most 12 months"));
        }
        Ok(StatsQuery { from, to, organisation: self.organisation })
    }
}

fn bad(name: &str, detail: &str) -> Problem {
    Problem::new(ProblemKind::InvalidParameter, detail).at(name)
}
