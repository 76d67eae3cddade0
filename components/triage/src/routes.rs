//! Triage's HTTP surface: a route table matching `openapi.yaml`, and thin handlers
//! that authenticate, parse, call the core, and shape the answer.

use crate::agenda::AgendaQuery;
use crate::checkins::{check_in_view, NewCheckIn};
use crate::config::TriageConfig;
use crate::context::Triage;
use crate::conversation::MessagesQuery;
use crate::listing::Query;
use crate::org_audit::Listing;
use crate::tokens::NewToken;
use crate::view::case_view;
use crate::work::work_of;
use serde::Deserialize;
use serde_json::json;
use shared::auth::{authenticate, verify_internal, Principal, INTERNAL_SECRET_HEADER};
use shared::case::{CaseRecord, MessageAuthor};
use shared::domain::{CaseStatus, CheckInOutcome, CheckInPurpose, Organisation, Priority};
use shared::id::{CaseId, CheckInId, MemberId, TokenId};
use shared::kv::versioned::Versioned;
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::Timestamp;
use shared::web::{self, PathParams, Request, Response, RouteTable};

/// Triage's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Health,
    Handover,
    Sweep,
    /// `GET …/sweep/tick`: a platform scheduler that cannot send a header.
    SweepTick,
    CreateToken,
    ListTokens,
    ReadTokenAudit,
    ReadOrganisationAudit,
    RevokeToken,
    ListCases,
    ReadCase,
    ReadAudit,
    VerifyAudit,
    Acknowledge,
    Assign,
    OverridePriority,
    ChangeStatus,
    MessageReporter,
    TakeInMessage,
    ReadMessages,
    MarkMessagesRead,
    HandOver,
    ScheduleCheckIn,
    CompleteCheckIn,
    ListCheckIns,
    Stats,
    StatsReport,
    /// `POST …/stats/rebuild`: the one-off count of cases from before counting began.
    StatsRebuild,
}

/// Every route, exactly as in `openapi.yaml`.
pub const ROUTES: &RouteTable<Endpoint> = &[
    ("GET", "/triage/health", Endpoint::Health),
    ("POST", "/triage/internal/cases", Endpoint::Handover),
    ("POST", "/triage/sweep", Endpoint::Sweep),
    ("GET", "/triage/sweep/tick", Endpoint::SweepTick),
    ("POST", "/triage/tokens", Endpoint::CreateToken),
    ("GET", "/triage/tokens", Endpoint::ListTokens),
    ("GET", "/triage/tokens/audit", Endpoint::ReadTokenAudit),
    ("GET", "/triage/audit", Endpoint::ReadOrganisationAudit),
    ("DELETE", "/triage/tokens/{token_id}", Endpoint::RevokeToken),
    ("GET", "/triage/cases", Endpoint::ListCases),
    ("GET", "/triage/cases/{case_id}", Endpoint::ReadCase),
    ("GET", "/triage/cases/{case_id}/audit", Endpoint::ReadAudit),
    ("GET", "/triage/cases/{case_id}/audit/verify", Endpoint::VerifyAudit),
    ("POST", "/triage/cases/{case_id}/acknowledge", Endpoint::Acknowledge),
    ("POST", "/triage/cases/{case_id}/assign", Endpoint::Assign),
    ("POST", "/triage/cases/{case_id}/priority", Endpoint::OverridePriority),
    ("POST", "/triage/cases/{case_id}/status", Endpoint::ChangeStatus),
    ("POST", "/triage/cases/{case_id}/messages", Endpoint::MessageReporter),
    ("POST", "/triage/internal/messages", Endpoint::TakeInMessage),
    ("GET", "/triage/cases/{case_id}/messages", Endpoint::ReadMessages),
    ("POST", "/triage/cases/{case_id}/messages/read", Endpoint::MarkMessagesRead),
    ("POST", "/triage/cases/{case_id}/handover", Endpoint::HandOver),
    ("POST", "/triage/cases/{case_id}/check-ins", Endpoint::ScheduleCheckIn),
    ("POST", "/triage/cases/{case_id}/check-ins/{check_in_id}/complete", Endpoint::CompleteCheckIn),
    ("GET", "/triage/check-ins", Endpoint::ListCheckIns),
    ("GET", "/triage/stats", Endpoint::Stats),
    ("GET", "/triage/stats/report", Endpoint::StatsReport),
    ("POST", "/triage/stats/rebuild", Endpoint::StatsRebuild),
];

/// The component's version, reported by the health endpoint.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub use shared::web::Ports;

/// Serves one request.
pub fn handle<S: KeyValue, O: Outbound>(
    req: Request,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    ports: Ports<'_, O>,
) -> Response {
    web::serve("triage", &req, ports.random, |correlation_id| {
        let (endpoint, params) = web::route(ROUTES, req.method(), req.uri().path())?;
        if endpoint == Endpoint::Health {
            let config = TriageConfig::load(ports.variables);
            let kid = config.as_ref().ok().map(|c| c.keyring.current_kid().to_string());
            let interval = config.map(|c| c.sweep_interval);
            let now = ports.clock.now();
            return Ok(shared::watchdog::health("triage", VERSION, interval, open_store, now, |store, record| {
                crate::sweep::health_details(store, record, now, kid.as_deref())
            }));
        }
        let config = TriageConfig::load(ports.variables)?;
        let store = open_store()?;
        let triage = Triage {
            store: &store,
            outbound: ports.outbound,
            clock: ports.clock,
            random: ports.random,
            config: &config,
            correlation_id,
        };
        serve_endpoint(&triage, endpoint, &params, &req)
    })
}

fn serve_endpoint<S: KeyValue, O: Outbound>(
    triage: &Triage<'_, S, O>,
    endpoint: Endpoint,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let config = triage.config;
    match endpoint {
        Endpoint::Health => unreachable!("served before the configuration is read"),
        Endpoint::Handover => {
            verify_internal(req.headers(), &config.internal_secret)?;
            let form: HandoverForm = web::read_json_object(req)?;
            let doc = triage.triage(&form.case_id)?;
            let priority = doc.data.assessment.as_ref().map(|a| a.priority);
            Ok(web::json(200, &json!({"case_id": doc.data.id, "status": doc.data.status, "priority": priority})))
        }
        Endpoint::TakeInMessage => {
            verify_internal(req.headers(), &config.internal_secret)?;
            let form: TakeInForm = web::read_json_object(req)?;
            let taken_in = triage.take_in_message(&form.case_id, form.slot)?;
            Ok(web::json(200, &json!({"case_id": form.case_id, "slot": form.slot, "taken_in": taken_in})))
        }
        Endpoint::Sweep => {
            if req.headers().contains_key(INTERNAL_SECRET_HEADER) {
                verify_internal(req.headers(), &config.internal_secret)?;
            } else {
                // Its report counts every organisation's cases: the programme's to run.
                staff(triage, req)?.require_programme_admin("run the sweep: it works on every organisation's cases")?;
            }
            let report = triage.sweep()?;
            let now = triage.clock.now();
            shared::watchdog::record_run(triage.store, "triage", config.sweep_interval, now, &report.for_watchdog())?;
            Ok(web::json(200, &report))
        }
        Endpoint::SweepTick => {
            let (now, random) = (triage.clock.now(), triage.random);
            let ticked = shared::watchdog::tick(triage.store, "triage", config.sweep_interval, now, random, || {
                triage.sweep().map(|report| report.for_watchdog())
            })?;
            Ok(web::json(200, &ticked))
        }
        Endpoint::CreateToken => {
            let admin = staff(triage, req)?;
            admin.require_admin()?;
            let form: NewToken = web::read_json_object(req)?;
            let created = triage.create_token(&admin, form)?;
            let r = &created.record;
            Ok(web::no_store(web::json(
                201,
                &json!({"id": r.id, "token": created.secret, "organisation": r.organisation, "role": r.role,
                        "holder": r.holder, "scope": r.scope, "created_at": r.created_at, "expires_at": r.expires()}),
            )))
        }
        Endpoint::ListTokens => {
            let who = staff(triage, req)?;
            who.require_admin()?;
            triage.audit_list_read(&who, Listing::Tokens)?;
            let tokens = triage.list_tokens(&who)?;
            let views: Vec<_> = tokens.iter().map(crate::tokens::token_view).collect();
            Ok(web::no_store(web::json(200, &json!({ "tokens": views }))))
        }
        Endpoint::ReadTokenAudit => {
            let who = staff(triage, req)?;
            who.require_admin()?;
            triage.audit_list_read(&who, Listing::TokenAudit)?;
            let entries = triage.token_audit_trail(&who)?;
            Ok(web::no_store(web::json(200, &json!({ "entries": entries }))))
        }
        Endpoint::ReadOrganisationAudit => {
            let audit = triage.organisation_audit(&staff(triage, req)?)?;
            Ok(web::no_store(web::json(200, &audit)))
        }
        Endpoint::RevokeToken => {
            let admin = staff(triage, req)?;
            let id = TokenId::parse(params.get("token_id")).map_err(|_| Problem::not_found())?;
            let r = triage.revoke_token(&admin, &id)?;
            Ok(web::json(200, &crate::tokens::token_view(&r)))
        }
        Endpoint::ListCases => {
            let who = staff(triage, req)?;
            let query = Query::parse(&web::query_params(req)?)?;
            triage.audit_list_read(&who, Listing::Cases)?;
            Ok(web::no_store(web::json(200, &triage.list(who.organisation, &query)?)))
        }
        Endpoint::ListCheckIns => {
            let who = staff(triage, req)?;
            let query = AgendaQuery::parse(&web::query_params(req)?, triage.clock.now())?;
            triage.audit_list_read(&who, Listing::CheckIns)?;
            Ok(web::no_store(web::json(200, &triage.agenda(who.organisation, &query)?)))
        }
        Endpoint::StatsRebuild => {
            if req.headers().contains_key(INTERNAL_SECRET_HEADER) {
                verify_internal(req.headers(), &config.internal_secret)?;
            } else if !staff(triage, req)?.is_programme_admin() {
                return Err(Problem::new(shared::problem::ProblemKind::Forbidden, "programme admins only"));
            }
            Ok(web::json(200, &triage.rebuild_stats()?))
        }
        Endpoint::Stats | Endpoint::StatsReport => {
            crate::stats::serve(triage, &staff(triage, req)?, endpoint == Endpoint::StatsReport, req)
        }
        _ => serve_case(triage, endpoint, params, req),
    }
}

/// The endpoints of one case: the caller's organisation's cases only (404 otherwise).
fn serve_case<S: KeyValue, O: Outbound>(
    triage: &Triage<'_, S, O>,
    endpoint: Endpoint,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = staff(triage, req)?;
    // A malformed id names no case: 404 like any other case the caller cannot see.
    let id = CaseId::parse(params.get("case_id")).map_err(|_| Problem::not_found())?;
    let doc = match endpoint {
        Endpoint::ReadCase => {
            let doc = triage.read_for(&who, &id)?;
            let view = case_view(&doc, &triage.case_cipher(&doc.data.id)?)?;
            return Ok(web::no_store(web::json_with_etag(200, &view, doc.version)));
        }
        Endpoint::ReadAudit => {
            crate::workflow::owned(triage.read_case(&id)?, &who)?;
            triage.audit_read(&id, &who, "audit_read")?;
            return Ok(web::no_store(web::json(200, &triage.audit_trail(&id)?)));
        }
        Endpoint::VerifyAudit => {
            crate::workflow::owned(triage.read_case(&id)?, &who)?;
            // Admins only, and another organisation's case is 404 whoever asks.
            who.require_admin()?;
            triage.audit_read(&id, &who, "audit_verified")?;
            return Ok(web::no_store(web::json(200, &triage.verify_audit(&id)?)));
        }
        Endpoint::ReadMessages => {
            let query = MessagesQuery::parse(&web::query_params(req)?)?;
            return Ok(web::no_store(web::json(200, &triage.conversation(&who, &id, query)?)));
        }
        Endpoint::MarkMessagesRead => {
            let version = owned_if_match(triage, &who, &id, req)?;
            let form: MarkReadForm = web::read_json_object(req)?;
            triage.mark_read(&who, &id, version, form.up_to)?
        }
        Endpoint::HandOver => {
            // Ownership (or BZK admin) before the version: 404 whatever the headers say.
            crate::transfer::handed_over_by(triage.read_case(&id)?, &who)?;
            let version = web::if_match(req)?;
            let form: HandOverForm = web::read_json_object(req)?;
            triage.hand_over(&who, &id, version, form.organisation, &form.reason.0)?
        }
        Endpoint::MessageReporter => {
            let form: MessageForm = web::read_json_object(req)?;
            let (at, _) = triage.message_reporter(&who, &id, &form.text.0)?;
            let message = json!({"author": MessageAuthor::Confidant, "at": at, "text": form.text.0});
            return Ok(web::no_store(web::json(201, &json!({"case_id": id, "message": message}))));
        }
        Endpoint::Acknowledge => {
            let version = owned_if_match(triage, &who, &id, req)?;
            triage.acknowledge(&who, &id, version)?
        }
        Endpoint::Assign => {
            let version = owned_if_match(triage, &who, &id, req)?;
            let form: AssignForm = web::read_json_object(req)?;
            let reason = form.reason.as_ref().map(|r| r.0.as_str());
            triage.assign(&who, &id, version, &form.confidant.0, &form.members, reason)?
        }
        Endpoint::OverridePriority => {
            let version = owned_if_match(triage, &who, &id, req)?;
            let form: PriorityForm = web::read_json_object(req)?;
            triage.override_priority(&who, &id, version, form.priority, &form.reason.0)?
        }
        Endpoint::ChangeStatus => {
            let version = owned_if_match(triage, &who, &id, req)?;
            let form: StatusForm = web::read_json_object(req)?;
            let no_aftercare = form.no_aftercare_reason.as_ref().map(|r| r.0.as_str());
            triage.change_status(&who, &id, version, form.status, &form.reason.0, no_aftercare)?
        }
        Endpoint::ScheduleCheckIn => {
            let version = owned_if_match(triage, &who, &id, req)?;
            let form: CheckInForm = web::read_json_object(req)?;
            let new = NewCheckIn { due_at: form.due_at, purpose: form.purpose, note: form.note.map(|n| n.0) };
            let (doc, check_in_id) = triage.schedule_check_in(&who, &id, version, &new)?;
            return check_in_response(201, triage, &doc, &check_in_id);
        }
        Endpoint::CompleteCheckIn => {
            let version = owned_if_match(triage, &who, &id, req)?;
            // A malformed id names no check-in: 404, after ownership and version.
            let check_in_id = CheckInId::parse(params.get("check_in_id")).map_err(|_| Problem::not_found())?;
            let form: CompletionForm = web::read_json_object(req)?;
            let doc = triage.complete_check_in(&who, &id, version, &check_in_id, form.outcome, &form.note.0)?;
            return check_in_response(200, triage, &doc, &check_in_id);
        }
        _ => unreachable!("not a case endpoint"),
    };
    Ok(state_response(&doc))
}

/// The `If-Match` version of an update, checked only after ownership: another
/// organisation's case is 404 whatever the headers say.
fn owned_if_match<S: KeyValue, O: Outbound>(
    triage: &Triage<'_, S, O>,
    who: &Principal,
    id: &CaseId,
    req: &Request,
) -> Result<u64, Problem> {
    crate::workflow::owned(triage.read_case(id)?, who)?;
    web::if_match(req)
}

fn staff<S: KeyValue, O: Outbound>(triage: &Triage<'_, S, O>, req: &Request) -> Result<Principal, Problem> {
    authenticate(triage.store, req.headers(), &triage.config.admin_token, &triage.config.record_mac, triage.clock.now())
}

/// What an update answers: the case's new state and its ETag.
fn state_response(doc: &Versioned<CaseRecord>) -> Response {
    let record = &doc.data;
    let work = work_of(record);
    let a = record.assessment.as_ref();
    let body = json!({
        "case_id": record.id,
        "version": doc.version,
        "status": record.status,
        "priority": a.map(|a| a.priority),
        "first_contact_due": a.map(|a| a.first_contact_due),
        "acknowledged_at": record.acknowledged_at,
        "escalation_level": work.escalation_level,
        "assignment": work.assignment,
        "unread_reporter_messages": work.conversation.unread_count(),
    });
    web::no_store(web::json_with_etag(200, &body, doc.version))
}

/// What a check-in change answers: the case's new version and the check-in.
fn check_in_response<S: KeyValue, O: Outbound>(
    status: u16,
    triage: &Triage<'_, S, O>,
    doc: &Versioned<CaseRecord>,
    check_in_id: &CheckInId,
) -> Result<Response, Problem> {
    let work = work_of(&doc.data);
    let check_in = work
        .check_ins
        .iter()
        .find(|c| &c.id == check_in_id)
        .ok_or_else(|| Problem::internal(anyhow::anyhow!("a committed check-in is missing from its case")))?;
    let view = check_in_view(&doc.data.id, check_in, &triage.case_cipher(&doc.data.id)?)?;
    let body = json!({"case_id": doc.data.id, "version": doc.version, "status": doc.data.status, "check_in": view});
    Ok(web::no_store(web::json_with_etag(status, &body, doc.version)))
}

/// Free text of bounded length (1 to `N` characters after trimming).
#[derive(Debug, Clone)]
pub struct Text<const N: usize>(pub String);

impl<'de, const N: usize> Deserialize<'de> for Text<N> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.chars().count() > N {
            return Err(serde::de::Error::custom(format!("must be 1 to {N} characters")));
        }
        if let Some(why) = shared::text::refusal(trimmed, true) {
            return Err(serde::de::Error::custom(why));
        }
        Ok(Text(trimmed.to_string()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HandoverForm {
    case_id: CaseId,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TakeInForm {
    case_id: CaseId,
    slot: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HandOverForm {
    organisation: Organisation,
    reason: Text<2000>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkReadForm {
    /// The number of the last message read.
    up_to: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignForm {
    confidant: Text<100>,
    #[serde(default)]
    members: Members,
    #[serde(default)]
    reason: Option<Text<2000>>,
}

/// Network members on a case: at most 10, no repeats.
#[derive(Debug, Default)]
struct Members(Vec<MemberId>);

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
        unique.sort();
        unique.dedup();
        if members.len() > 10 || unique.len() != members.len() {
            return Err(serde::de::Error::custom("at most 10 members, each once"));
        }
        Ok(Members(members))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriorityForm {
    priority: Priority,
    reason: Text<2000>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusForm {
    status: CaseStatus,
    reason: Text<2000>,
    /// Moving to aftercare without an open check-in: why no aftercare is wanted.
    #[serde(default)]
    no_aftercare_reason: Option<Text<2000>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckInForm {
    due_at: Timestamp,
    purpose: CheckInPurpose,
    #[serde(default)]
    note: Option<Text<2000>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompletionForm {
    outcome: CheckInOutcome,
    note: Text<2000>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageForm {
    text: Text<5000>,
}
