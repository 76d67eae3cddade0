//! The directory's HTTP surface: a route table matching `openapi.yaml`, and thin
//! handlers that authenticate, parse, call the core and shape the answer.

use crate::config::DirectoryConfig;
use crate::contact_audit::{self, AuditLog, ContactRead, LogRead, Purpose};
use crate::load::{assign, release};
use crate::matching::{match_members, MatchForm, MatchRequest};
use crate::member::{MemberForm, MemberKind, MemberProfile};
use crate::record::{Availability, MemberRecord};
use crate::registry::{Directory, Filters, MAX_IMPORT, MAX_PAGE};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::auth::{authenticate, verify_internal, Principal};
use shared::clock::Clock;
use shared::config::Variables;
use shared::domain::{Expertise, RegionCode};
use shared::id::{CaseId, MemberId};
use shared::kv::versioned::Versioned;
use shared::kv::{KeyValue, StoreError};
use shared::problem::{FieldError, Problem, ProblemKind};
use shared::random::Random;
use shared::web::{self, Request, Response, RouteTable};

/// The directory's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Health,
    Import,
    Create,
    List,
    Read,
    Update,
    Deactivate,
    AdminMatch,
    InternalMatch,
    Assign,
    Release,
    ContactReads,
    LogReads,
}

/// Every route, exactly as in `openapi.yaml`. `import` comes before `{member_id}`.
pub const ROUTES: &RouteTable<Endpoint> = &[
    ("GET", "/directory/health", Endpoint::Health),
    ("POST", "/directory/members/import", Endpoint::Import),
    ("POST", "/directory/members", Endpoint::Create),
    ("GET", "/directory/members", Endpoint::List),
    ("GET", "/directory/members/{member_id}", Endpoint::Read),
    ("PUT", "/directory/members/{member_id}", Endpoint::Update),
    ("POST", "/directory/members/{member_id}/deactivate", Endpoint::Deactivate),
    ("POST", "/directory/match", Endpoint::AdminMatch),
    ("POST", "/directory/internal/match", Endpoint::InternalMatch),
    ("POST", "/directory/internal/members/{member_id}/assign", Endpoint::Assign),
    ("POST", "/directory/internal/members/{member_id}/release", Endpoint::Release),
    ("GET", "/directory/audit/contact-reads", Endpoint::ContactReads),
    ("GET", "/directory/audit/log-reads", Endpoint::LogReads),
];

/// The component's version, reported by the health endpoint.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a request is served with; the wasm entry passes the Spin adapters.
pub struct Ports<'a> {
    pub clock: &'a dyn Clock,
    pub random: &'a dyn Random,
    pub variables: &'a dyn Variables,
}

/// Serves one request.
pub fn handle<S: KeyValue>(
    req: Request,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    ports: Ports<'_>,
) -> Response {
    web::serve("directory", &req, ports.random, |correlation_id| {
        let (endpoint, params) = web::route(ROUTES, req.method(), req.uri().path())?;
        if endpoint == Endpoint::Health {
            let configured = crate::config::DirectoryConfig::load(ports.variables).map(drop);
            return Ok(web::health("directory", VERSION, configured, open_store));
        }
        let config = DirectoryConfig::load(ports.variables)?;
        let member_id = || MemberId::parse(params.get("member_id")).map_err(|_| Problem::not_found());
        let store = open_store()?;
        let who = match endpoint {
            Endpoint::InternalMatch | Endpoint::Assign | Endpoint::Release => {
                verify_internal(req.headers(), &config.internal_secret)?;
                None
            }
            _ => Some(authenticate(&store, req.headers(), &config.admin_token, &config.record_mac, ports.clock.now())?),
        };
        if let Some(who) = &who {
            allow(endpoint, who)?;
        }
        let directory = Directory {
            store: &store,
            clock: ports.clock,
            random: ports.random,
            keyring: &config.keyring,
            correlation_id,
        };
        let now = ports.clock.now();
        match endpoint {
            Endpoint::Create => {
                let form: MemberForm = web::read_json(&req)?;
                if form.id.is_some() {
                    return Err(Problem::invalid_field(
                        "/id",
                        "ids are given by the directory; only imports may bring one",
                    ));
                }
                let profile = MemberProfile::parse_one(&form)?;
                let doc = directory.create(profile)?;
                let mut response = member_response(201, &doc, now, None);
                let location = format!("/directory/members/{}", doc.data.id);
                response.headers_mut().insert(http::header::LOCATION, location.parse().expect("ascii id"));
                Ok(response)
            }
            Endpoint::Import => {
                let records = parse_import(&req)?;
                let ids = directory.import(records)?;
                Ok(web::json(201, &json!({ "imported": ids.len(), "member_ids": ids })))
            }
            Endpoint::List => {
                let (filters, cursor, limit) = list_query(&req)?;
                let page = directory.list(&filters, cursor, limit)?;
                let members: Vec<Value> = page.members.iter().map(|(m, l)| m.admin_view(l, now, None)).collect();
                let next = page.next_cursor.map(|c| c.to_string());
                Ok(web::no_store(web::json(200, &json!({ "members": members, "next_cursor": next }))))
            }
            Endpoint::Read => {
                let purpose = Purpose::parse(web::query_params(&req)?)?;
                let id = member_id()?;
                let stored = directory.read(&id)?;
                let who = who.as_ref().expect("staff endpoints are authenticated");
                // Alone and before the answer: no audit entry, no contact details.
                contact_audit::record(&store, &ContactRead::new(who, &id, &purpose, now, correlation_id))?;
                let contact = stored.member.data.open_contact(&config.keyring).map_err(Problem::internal)?;
                let view = stored.member.data.admin_view(&stored.load, now, Some(&contact));
                Ok(web::no_store(web::json_with_etag(200, &view, stored.member.version)))
            }
            Endpoint::Update => {
                let id = member_id()?;
                let expected = web::if_match(&req)?;
                let form: MemberForm = web::read_json(&req)?;
                if form.id.as_ref().is_some_and(|given| *given != id) {
                    return Err(Problem::invalid_field("/id", "does not match the member in the path"));
                }
                let profile = MemberProfile::parse_one(&form)?;
                let doc = directory.update(&id, expected, profile)?;
                let load = directory.read(&id)?.load;
                Ok(member_response(200, &doc, now, Some(&load)))
            }
            Endpoint::Deactivate => {
                let id = member_id()?;
                let doc = directory.deactivate(&id)?;
                let load = directory.read(&id)?.load;
                Ok(member_response(200, &doc, now, Some(&load)))
            }
            Endpoint::AdminMatch | Endpoint::InternalMatch => {
                let form: MatchForm = web::read_json(&req)?;
                let request = MatchRequest::parse(form)?;
                let matches = match_members(&store, &request, now)?;
                Ok(web::no_store(web::json(200, &json!({ "matches": matches }))))
            }
            Endpoint::Assign | Endpoint::Release => {
                let id = member_id()?;
                let form: CaseForm = web::read_json(&req)?;
                let view = if endpoint == Endpoint::Assign {
                    assign(&store, ports.random, &id, &form.case_id)?
                } else {
                    release(&store, ports.random, &id, &form.case_id)?
                };
                Ok(web::json(200, &view))
            }
            Endpoint::ContactReads | Endpoint::LogReads => {
                let (cursor, limit) = page_query(&req)?;
                let who = who.as_ref().expect("staff endpoints are authenticated");
                let log = if endpoint == Endpoint::ContactReads { AuditLog::ContactReads } else { AuditLog::LogReads };
                // Alone and before the answer: an audit read that is not recorded is not answered.
                contact_audit::record_log_read(&store, &LogRead::new(who, log, cursor, now, correlation_id))?;
                Ok(web::no_store(match log {
                    AuditLog::ContactReads => {
                        web::json(200, &contact_audit::page::<_, ContactRead>(&store, log, cursor, limit)?)
                    }
                    AuditLog::LogReads => {
                        web::json(200, &contact_audit::page::<_, LogRead>(&store, log, cursor, limit)?)
                    }
                }))
            }
            Endpoint::Health => unreachable!("served above"),
        }
    })
}

/// Who may call what. The network is shared by every organisation, so it has one
/// owner, the programme: programme admins change it and read who read contact details;
/// any admin reads one member's contact details (audited); confidants and admins search
/// and match. A known-but-not-allowed action is 403: members are nobody's secret to
/// hide from staff, so there is no existence to conceal.
fn allow(endpoint: Endpoint, who: &Principal) -> Result<(), Problem> {
    match endpoint {
        Endpoint::Create
        | Endpoint::Import
        | Endpoint::Update
        | Endpoint::Deactivate
        | Endpoint::ContactReads
        | Endpoint::LogReads => who.require_programme_admin("do this in the network"),
        Endpoint::Read => who.require_admin(),
        _ => Ok(()),
    }
}

/// Body of assign and release.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseForm {
    case_id: CaseId,
}

fn member_response(
    status: u16,
    doc: &Versioned<MemberRecord>,
    now: shared::time::Timestamp,
    load: Option<&crate::record::Load>,
) -> Response {
    let empty = crate::record::Load::default();
    let view = doc.data.admin_view(load.unwrap_or(&empty), now, None);
    web::no_store(web::json_with_etag(status, &view, doc.version))
}

/// Parses an import: every bad record is listed with its pointer (`/3/regions/0`).
fn parse_import(req: &Request) -> Result<Vec<(Option<MemberId>, MemberProfile)>, Problem> {
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

fn list_query(req: &Request) -> Result<(Filters, u64, usize), Problem> {
    let mut filters = Filters::default();
    let (mut cursor, mut limit) = (0u64, 50usize);
    for (name, value) in web::query_params(req)? {
        let bad = |detail: String| Problem::new(ProblemKind::InvalidParameter, detail).at(name.clone());
        match name.as_str() {
            "kind" => {
                filters.kind = Some(match value.as_str() {
                    "peer" => MemberKind::Peer,
                    "expert" => MemberKind::Expert,
                    _ => return Err(bad("must be peer or expert".into())),
                })
            }
            "expertise" => filters.expertise = Some(Expertise::parse(&value).map_err(bad)?),
            "region" if value == "national" => filters.region = Some(None),
            "region" => {
                filters.region = Some(Some(RegionCode::parse(&value).map_err(|e| bad(format!("{e}, or national")))?))
            }
            "availability" => filters.availability = Some(Availability::parse(&value).map_err(bad)?),
            "cursor" => cursor = value.parse().map_err(|_| bad("must be a next_cursor we sent".into()))?,
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| bad(format!("must be 1 to {MAX_PAGE}")))?
            }
            _ => return Err(bad("unknown parameter; use kind, expertise, region, availability, cursor, limit".into())),
        }
    }
    Ok((filters, cursor, limit))
}

fn page_query(req: &Request) -> Result<(u64, usize), Problem> {
    let (mut cursor, mut limit) = (0u64, 50usize);
    for (name, value) in web::query_params(req)? {
        let bad = |detail: String| Problem::new(ProblemKind::InvalidParameter, detail).at(name.clone());
        match name.as_str() {
            "cursor" => cursor = value.parse().map_err(|_| bad("must be a next_cursor we sent".into()))?,
            "limit" => {
                let max = contact_audit::MAX_PAGE;
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| bad(format!("must be 1 to {max}")))?
            }
            _ => return Err(bad("unknown parameter; use cursor, limit".into())),
        }
    }
    Ok((cursor, limit))
}
