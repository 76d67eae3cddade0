//! Notification's HTTP surface: a route table matching `openapi.yaml`, and thin
//! handlers that authenticate, parse, call the core and shape the answer.

use crate::config::NotificationConfig;
use crate::context::{Ctx, COMPONENT};
use crate::delivery::{self, Tried, Trigger};
use crate::outbox::{self, MessageStatus};
use crate::payload::{PingData, Webhook, PING_TYPE};
use crate::recovery;
use crate::subscription::{self, NewSubscription, SubscriptionPatch};
use crate::sweep;
use serde::Deserialize;
use serde_json::json;
use shared::auth::{authenticate, verify_internal, Principal};
use shared::events::CaseEvent;
use shared::id::{MessageId, SubscriptionId};
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::problem::{Problem, ProblemKind};
use shared::time::Timestamp;
use shared::web::{self, PathParams, Request, Response, RouteTable};

/// Notification's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    InternalEvent,
    Sweep,
    /// `GET …/sweep/tick`: a platform scheduler that cannot send a header.
    SweepTick,
    ListSubscriptions,
    CreateSubscription,
    GetSubscription,
    UpdateSubscription,
    DeleteSubscription,
    RotateSecret,
    Ping,
    ListMessages,
    Recover,
    GetMessage,
    ListAttempts,
    Resend,
    Health,
}

/// Every route, exactly as in `openapi.yaml`.
pub const ROUTES: &RouteTable<Endpoint> = &[
    ("POST", "/notification/internal/events", Endpoint::InternalEvent),
    ("POST", "/notification/sweep", Endpoint::Sweep),
    ("GET", "/notification/sweep/tick", Endpoint::SweepTick),
    ("GET", "/notification/subscriptions", Endpoint::ListSubscriptions),
    ("POST", "/notification/subscriptions", Endpoint::CreateSubscription),
    ("GET", "/notification/subscriptions/{subscription_id}", Endpoint::GetSubscription),
    ("PATCH", "/notification/subscriptions/{subscription_id}", Endpoint::UpdateSubscription),
    ("DELETE", "/notification/subscriptions/{subscription_id}", Endpoint::DeleteSubscription),
    ("POST", "/notification/subscriptions/{subscription_id}/rotate-secret", Endpoint::RotateSecret),
    ("POST", "/notification/subscriptions/{subscription_id}/ping", Endpoint::Ping),
    ("GET", "/notification/subscriptions/{subscription_id}/messages", Endpoint::ListMessages),
    ("POST", "/notification/subscriptions/{subscription_id}/recover", Endpoint::Recover),
    ("GET", "/notification/messages/{message_id}", Endpoint::GetMessage),
    ("GET", "/notification/messages/{message_id}/attempts", Endpoint::ListAttempts),
    ("POST", "/notification/messages/{message_id}/resend", Endpoint::Resend),
    ("GET", "/notification/health", Endpoint::Health),
];

/// The component's version, reported by the health endpoint.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How long the event request may spend on first attempts in all: the caller (triage,
/// itself answering a reporter) waits 5 s for us, so we answer within 4 s; an attempt
/// that might not end within the budget is left to the sweep.
pub const FIRST_ATTEMPTS_BUDGET: std::time::Duration = std::time::Duration::from_secs(4);

pub use shared::web::Ports;

/// Serves one request.
pub fn handle<S: KeyValue, O: Outbound>(
    req: Request,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    ports: Ports<'_, O>,
) -> Response {
    web::serve(COMPONENT, &req, ports.random, |correlation_id| {
        let (endpoint, params) = web::route(ROUTES, req.method(), req.uri().path())?;
        if endpoint == Endpoint::Health {
            let now = ports.clock.now();
            let config = NotificationConfig::load(ports.variables);
            let interval = config.as_ref().map(|c| c.sweep_interval).map_err(Clone::clone);
            return Ok(shared::watchdog::health("notification", VERSION, interval, open_store, now, |store, _| {
                // The watchdog's alarm.
                let mut details = shared::watchdog::Details::new();
                if let Ok(config) = &config {
                    let ctx = Ctx {
                        store,
                        outbound: ports.outbound,
                        clock: ports.clock,
                        random: ports.random,
                        config,
                        correlation_id,
                    };
                    match crate::late_sweeps::report(&ctx) {
                        Ok(reported) => {
                            details.insert("late_sweeps_reported".into(), json!(reported));
                        }
                        Err(e) => shared::log::warn(COMPONENT, correlation_id, "sweep_late", &format!("{e}")),
                    }
                }
                details
            }));
        }
        let config = NotificationConfig::load(ports.variables)?;
        let store = open_store()?;
        let ctx = Ctx {
            store: &store,
            outbound: ports.outbound,
            clock: ports.clock,
            random: ports.random,
            config: &config,
            correlation_id,
        };
        match endpoint {
            Endpoint::InternalEvent => {
                verify_internal(req.headers(), &config.internal_secret)?;
                let event: CaseEvent = web::read_json(&req)?;
                // Receivers get the link as given: only the case's own path may go out.
                if event.data.api_link != shared::events::case_api_link(&event.data.case_reference) {
                    return Err(Problem::invalid_field("/data/api_link", "must be the case's path in the triage API"));
                }
                accept_event(&ctx, &event)
            }
            Endpoint::Sweep => {
                if verify_internal(req.headers(), &config.internal_secret).is_err() {
                    // Its report counts every organisation's webhooks: the programme's to run.
                    authenticate(&store, req.headers(), &config.admin_token, &config.record_mac, ports.clock.now())?
                        .require_programme_admin("run the sweep: it works on every organisation's webhooks")?;
                }
                let swept = sweep::sweep(&ctx)?;
                shared::watchdog::record_run(&store, "notification", config.sweep_interval, ctx.clock.now(), &swept)?;
                Ok(web::json(200, &swept))
            }
            Endpoint::SweepTick => {
                let (now, random) = (ctx.clock.now(), ctx.random);
                let ticked =
                    shared::watchdog::tick(&store, "notification", config.sweep_interval, now, random, || {
                        sweep::sweep(&ctx)
                    })?;
                Ok(web::json(200, &ticked))
            }
            _ => {
                let who =
                    authenticate(&store, req.headers(), &config.admin_token, &config.record_mac, ports.clock.now())?;
                who.require_admin()?;
                admin(&ctx, &who, endpoint, &params, &req)
            }
        }
    })
}

fn accept_event<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, event: &CaseEvent) -> Result<Response, Problem> {
    let accepted = outbox::accept_event(ctx, event)?;
    // Durable now. The first attempts happen here so a P1 does not wait for a sweep.
    let started = std::time::Instant::now();
    let mut results = Vec::new();
    for id in &accepted.messages {
        let tried = if accepted.duplicate
            || started.elapsed() + ctx.config.first_attempt_timeout > FIRST_ATTEMPTS_BUDGET
        {
            None
        } else {
            match delivery::attempt(ctx, id, Trigger::First, ctx.config.first_attempt_timeout) {
                Ok(t) => Some(t),
                Err(problem) => {
                    // The message is safe in the outbox; the sweep will retry it.
                    shared::log::warn(COMPONENT, ctx.correlation_id, "first_attempt", &format!("{id}: {problem:?}"));
                    None
                }
            }
        };
        let outcome = match tried {
            Some(Tried::Attempted(a)) => json!(a.outcome),
            Some(Tried::Abandoned(_)) => json!("failed"),
            Some(Tried::Skipped) | None => json!("queued"),
        };
        results.push(json!({ "id": id, "first_attempt": outcome }));
    }
    Ok(web::json(202, &json!({ "event_id": event.id, "duplicate": accepted.duplicate, "messages": results })))
}

fn subscription_id(params: &PathParams) -> Result<SubscriptionId, Problem> {
    SubscriptionId::parse(params.get("subscription_id")).map_err(|_| Problem::not_found())
}

fn message_id(params: &PathParams) -> Result<MessageId, Problem> {
    MessageId::parse(params.get("message_id")).map_err(|_| Problem::not_found())
}

/// A message `who` may see: one of a subscription they may see. A message whose
/// subscription was deleted is the programme's.
fn visible_message<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &MessageId,
) -> Result<shared::kv::versioned::Versioned<outbox::Message>, Problem> {
    let doc = outbox::load(ctx.store, id)?.ok_or_else(Problem::not_found)?;
    let visible = match subscription::load(ctx.store, &doc.data.subscription)? {
        Some(sub) => sub.data.visible_to(who),
        None => who.is_programme_admin(),
    };
    if visible {
        Ok(doc)
    } else {
        Err(Problem::not_found())
    }
}

fn admin<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    endpoint: Endpoint,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let now = ctx.clock.now();
    match endpoint {
        Endpoint::ListSubscriptions => {
            let all = subscription::load_all(ctx.store)?;
            let views: Vec<_> =
                all.iter().filter(|d| d.data.visible_to(who)).map(|d| subscription::view(d, now)).collect();
            Ok(web::json(200, &json!({ "subscriptions": views })))
        }
        Endpoint::CreateSubscription => {
            let form: NewSubscription = web::read_json(req)?;
            let (doc, secret) = subscription::create(ctx, who, form)?;
            let mut body = subscription::view(&doc, now);
            body["secret"] = json!(secret.expose());
            Ok(web::no_store(web::json_with_etag(201, &body, doc.version)))
        }
        Endpoint::GetSubscription => {
            let doc = subscription::load_visible(ctx.store, who, &subscription_id(params)?)?;
            Ok(web::json_with_etag(200, &subscription::view(&doc, now), doc.version))
        }
        Endpoint::UpdateSubscription => {
            let id = subscription_id(params)?;
            // Ownership before the version: another organisation's is 404 whatever the headers say.
            subscription::load_visible(ctx.store, who, &id)?;
            let version = web::if_match(req)?;
            let patch: SubscriptionPatch = web::read_json(req)?;
            let doc = subscription::update(ctx, who, &id, version, patch)?;
            Ok(web::json_with_etag(200, &subscription::view(&doc, now), doc.version))
        }
        Endpoint::DeleteSubscription => {
            subscription::delete(ctx.store, who, &subscription_id(params)?)?;
            Ok(http::Response::builder().status(204).body(Vec::new()).expect("valid response"))
        }
        Endpoint::RotateSecret => {
            let (doc, secret, until) = subscription::rotate_secret(ctx, who, &subscription_id(params)?)?;
            let body = json!({ "subscription_id": doc.data.id, "secret": secret.expose(), "previous_secret_valid_until": until });
            Ok(web::no_store(web::json_with_etag(200, &body, doc.version)))
        }
        Endpoint::Ping => ping(ctx, who, &subscription_id(params)?),
        Endpoint::ListMessages => {
            let id = subscription_id(params)?;
            subscription::load_visible(ctx.store, who, &id)?;
            let query = MessageQuery::parse(req)?;
            let (messages, next) = recovery::list(ctx.store, &id, query.status, query.before, query.limit)?;
            let views: Vec<_> = messages.iter().map(outbox::view).collect();
            Ok(web::json(200, &json!({ "messages": views, "next_before": next })))
        }
        Endpoint::Recover => {
            subscription::load_visible(ctx.store, who, &subscription_id(params)?)?;
            let form: RecoverForm = web::read_json(req)?;
            let until = form.until.unwrap_or(now);
            if until < form.since {
                return Err(Problem::invalid_field("/until", "must not be before since"));
            }
            let recovered = recovery::recover(ctx, &subscription_id(params)?, form.since, until)?;
            Ok(web::json(202, &json!({ "recovered": recovered })))
        }
        Endpoint::GetMessage => {
            let doc = visible_message(ctx, who, &message_id(params)?)?;
            Ok(web::json(200, &outbox::view(&doc.data)))
        }
        Endpoint::ListAttempts => {
            visible_message(ctx, who, &message_id(params)?)?;
            let attempts = recovery::attempts(ctx.store, &message_id(params)?)?;
            Ok(web::json(200, &json!({ "attempts": attempts })))
        }
        Endpoint::Resend => {
            visible_message(ctx, who, &message_id(params)?)?;
            let (doc, attempt) = recovery::resend(ctx, &message_id(params)?)?;
            Ok(web::json(200, &json!({ "message": outbox::view(&doc.data), "attempt": attempt })))
        }
        Endpoint::InternalEvent | Endpoint::Sweep | Endpoint::SweepTick | Endpoint::Health => {
            unreachable!("served in handle")
        }
    }
}

/// A test send, signed like any webhook, not stored and never retried.
fn ping<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &SubscriptionId,
) -> Result<Response, Problem> {
    let sub = subscription::load_visible(ctx.store, who, id)?.data;
    crate::url_policy::check(&sub.url, &ctx.config.local_hosts)
        .map_err(|e| Problem::new(ProblemKind::Conflict, format!("the subscription URL {e}")))?;
    let now = ctx.clock.now();
    let webhook_id = MessageId::generate(ctx.random);
    let body =
        Webhook { event_type: PING_TYPE.into(), timestamp: now, data: PingData { subscription_id: id.clone() } }.body();
    let secrets = sub.signing_secrets(&ctx.config.keyring, now).map_err(Problem::internal)?;
    let answer = delivery::send_signed(
        ctx.outbound,
        &sub.url,
        &secrets,
        webhook_id.as_str(),
        now,
        &body,
        ctx.config.first_attempt_timeout,
    );
    let delivered = answer.status.is_some_and(|s| (200..300).contains(&s));
    Ok(web::json(
        200,
        &json!({
            "webhook_id": webhook_id,
            "delivered": delivered,
            "status": answer.status,
            "latency_ms": answer.latency_ms,
            "error": answer.error,
            "response_body": answer.body,
        }),
    ))
}

/// A recovery window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoverForm {
    since: Timestamp,
    #[serde(default)]
    until: Option<Timestamp>,
}

/// Query of the message list: `status`, `before` (a cursor), `limit` (1..=100).
struct MessageQuery {
    status: Option<MessageStatus>,
    before: Option<u64>,
    limit: usize,
}

impl MessageQuery {
    fn parse(req: &Request) -> Result<Self, Problem> {
        let mut q = MessageQuery { status: None, before: None, limit: 50 };
        for (name, value) in web::query_params(req)? {
            let bad = |detail: &str| Problem::new(ProblemKind::InvalidParameter, detail.to_string()).at(name.clone());
            match name.as_str() {
                "status" => {
                    q.status = Some(
                        serde_json::from_value(json!(value))
                            .map_err(|_| bad("must be pending, delivered or failed"))?,
                    )
                }
                "before" => q.before = Some(value.parse().map_err(|_| bad("must be a next_before we sent"))?),
                "limit" => {
                    q.limit =
                        value.parse().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| bad("must be 1 to 100"))?
                }
                _ => return Err(bad("unknown parameter")),
            }
        }
        Ok(q)
    }
}
