//! What clients send the directory: the import body and the query strings. Member and
//! match bodies are parsed by the core's own types ([`MemberForm`],
//! [`shared::calls::MatchRequest`]), the case of an assignment by
//! [`shared::calls::MemberCase`].

use crate::core::contact_audit::{self, Purpose, ReadReason};
use crate::core::member::{MemberForm, MemberKind, MemberProfile};
use crate::core::record::Availability;
use crate::core::registry::{Filters, MAX_IMPORT, MAX_PAGE};
use serde_json::Value;
use shared::domain::{Expertise, RegionCode};
use shared::id::{CaseId, MemberId};
use shared::problem::{FieldError, Problem};
use shared::web::{self, page_limit, FromQuery, Request, CURSOR};

/// Members on a page when the query does not say.
pub const DEFAULT_PAGE: u64 = 50;

/// Query of a page: `cursor` (a `next_cursor` we sent) and `limit` (1 to `MAX`).
#[derive(Debug, Default)]
pub struct PageQuery<const MAX: u64> {
    pub cursor: u64,
    pub limit: Option<u64>,
}

impl<const MAX: u64> PageQuery<MAX> {
    /// Items on this page.
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_PAGE) as usize
    }
}

impl<const MAX: u64> FromQuery for PageQuery<MAX> {
    fn take(&mut self, name: &str, value: &str) -> Result<bool, String> {
        match name {
            CURSOR => self.cursor = value.parse().map_err(|_| "must be a next_cursor we sent".to_string())?,
            "limit" => self.limit = Some(page_limit(value, MAX)?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Query of an audit log page.
pub type AuditPageQuery = PageQuery<{ contact_audit::MAX_PAGE as u64 }>;

/// Query of the member listing: `kind`, `expertise`, `region` (a code or `national`),
/// `availability`, and the page.
#[derive(Debug, Default)]
pub struct MemberQuery {
    pub filters: Filters,
    pub page: PageQuery<{ MAX_PAGE as u64 }>,
}

impl FromQuery for MemberQuery {
    fn take(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let filters = &mut self.filters;
        match name {
            "kind" => filters.kind = Some(MemberKind::parse(value)?),
            "expertise" => filters.expertise = Some(Expertise::parse(value)?),
            "region" if value == "national" => filters.region = Some(None),
            "region" => filters.region = Some(Some(RegionCode::parse(value).map_err(|e| format!("{e}, or national"))?)),
            "availability" => filters.availability = Some(Availability::parse(value)?),
            _ => return self.page.take(name, value),
        }
        Ok(true)
    }
}

/// Query of a member read: why the contact details are read, `reason` (one of
/// [`ReadReason`]) and `case_id` (required with `case_contact`). The reason is a closed
/// set, never free text: it travels in a URL and is stored in clear.
#[derive(Debug, Default)]
pub struct PurposeQuery {
    pub reason: Option<ReadReason>,
    pub case_id: Option<CaseId>,
}

impl PurposeQuery {
    /// The purpose, or 400 naming the parameter that is missing.
    pub fn purpose(self) -> Result<Purpose, Problem> {
        Purpose::new(self.reason, self.case_id)
    }
}

impl FromQuery for PurposeQuery {
    fn take(&mut self, name: &str, value: &str) -> Result<bool, String> {
        match name {
            "reason" => self.reason = Some(ReadReason::parse(value.trim())?),
            "case_id" => self.case_id = Some(CaseId::parse(value).map_err(|_| "must be a case id (case_…)")?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Parses an import: every bad record is listed with its pointer (`/3/regions/0`).
pub fn import_records(req: &Request) -> Result<Vec<(Option<MemberId>, MemberProfile)>, Problem> {
    let values: Vec<Value> = web::read_json(req)?;
    if values.is_empty() || values.len() > MAX_IMPORT {
        return Err(Problem::invalid_field("", format!("must be an array of 1 to {MAX_IMPORT} members")));
    }
    let mut errors: Vec<FieldError> = Vec::new();
    let mut records = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let bytes = serde_json::to_vec(value).expect("a parsed value serialises");
        match web::parse_json::<MemberForm>(&bytes) {
            Err(p) => {
                errors.push(FieldError { field: format!("/{i}{}", p.field.unwrap_or_default()), detail: p.detail })
            }
            Ok(form) => match MemberProfile::parse(&form, &format!("/{i}")) {
                Ok(profile) => records.push((form.id, profile)),
                Err(faults) => errors.extend(faults),
            },
        }
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        let bad = errors
            .iter()
            .map(|e| e.field.split('/').nth(1).unwrap_or(""))
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let mut problem = Problem::invalid_fields(errors);
        problem.detail = format!("{bad} of {} record(s) are invalid; nothing was imported", values.len());
        Err(problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::web::parse_query;

    fn purpose(q: &[(&str, &str)]) -> Result<Purpose, Problem> {
        let pairs: Vec<(String, String)> = q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse_query::<PurposeQuery>(&pairs)?.purpose()
    }

    #[test]
    fn a_read_without_a_reason_is_refused_naming_the_field() {
        let p = purpose(&[]).unwrap_err();
        assert_eq!((p.kind.status(), p.field.as_deref()), (400, Some("reason")));
        let p = purpose(&[("reason", "  ")]).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("reason"));
        // Free text is refused: it could name a reporter, in a URL and in the clear.
        let p = purpose(&[("reason", "call Jan de Vries back")]).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("reason"));
        let p = purpose(&[("reason", "case_contact")]).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("case_id"), "a case contact names its case");
    }

    #[test]
    fn a_case_id_is_parsed_and_unknown_parameters_refused() {
        let case = format!("case_{:026}", 1);
        let ok = purpose(&[("reason", "case_contact"), ("case_id", &case)]).unwrap();
        assert_eq!((ok.reason, ok.case_id.unwrap().to_string()), (ReadReason::CaseContact, case));
        assert_eq!(
            purpose(&[("reason", "member_request"), ("case_id", "nope")]).unwrap_err().field.as_deref(),
            Some("case_id")
        );
        assert!(purpose(&[("reason", "network_maintenance"), ("why", "y")]).is_err());
    }
}
