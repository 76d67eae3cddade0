//! One handler per endpoint: authenticate, parse, call the core, answer.
//!
//! Triage sends events with the internal secret; the sweep takes the internal secret or
//! a programme admin's token (its report counts every organisation's webhooks); the
//! tick takes nothing (a platform scheduler cannot send a header, and it only runs a
//! sweep that is due). Everything else is for admins, who reach only what their
//! organisation owns (see [`crate::core::subscription`]).

use crate::context::{Ctx, COMPONENT};
use crate::core::delivery;
use crate::core::first_attempts;
use crate::core::outbox::{self, Message};
use crate::core::recovery;
use crate::core::secrets;
use crate::core::subscription::{self, NewSubscription, SubscriptionPatch};
use crate::core::sweep;
use crate::http::forms::{MessageQuery, RecoverForm};
use crate::http::views::{
    AcceptedBatch, AcceptedEvent, AttemptLog, FirstAttemptView, MessagePage, MessageView, PingResult, Recovered,
    Resent, RotatedSecret, SubscriptionList, SubscriptionView,
};
use shared::auth::Principal;
use shared::events::{CaseEvent, CaseEventBatch};
use shared::id::{MessageId, SubscriptionId};
use shared::kv::versioned::Versioned;
use shared::kv::KeyValue;
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::web::{self, read_query, PathParams, Request, Response};

/// `POST /notification/internal/events`: durable first, then the first attempts.
pub fn internal_event<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    ctx.verify_internal(req)?;
    let event: CaseEvent = web::read_json(req)?;
    check_link(&event, "/data/api_link")?;
    let lease = delivery::new_lease(ctx, ctx.config.first_attempt_timeout);
    let accepted = outbox::accept_event(ctx, &event, &lease)?;
    let started = std::time::Instant::now();
    Ok(web::json(202, &answer(ctx, &event, accepted, &lease.owner, started)))
}

/// `POST /notification/internal/events/batch`: the events of one change, in order.
/// Every event is accepted (deduplicated, durable) before any is sent, then their first
/// attempts are made in the batch's order, within one time budget.
pub fn internal_event_batch<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    ctx.verify_internal(req)?;
    let batch: CaseEventBatch = web::read_json(req)?;
    if batch.events.is_empty() || batch.events.len() > CaseEventBatch::MAX_EVENTS {
        return Err(Problem::invalid_field("/events", format!("must hold 1 to {} events", CaseEventBatch::MAX_EVENTS)));
    }
    for (n, event) in batch.events.iter().enumerate() {
        check_link(event, &format!("/events/{n}/data/api_link"))?;
    }
    let lease = delivery::new_lease(ctx, ctx.config.first_attempt_timeout);
    // Should a later event fail to be written, the earlier ones are durable (the caller's
    // retry finds them duplicates) and their messages, leased to this request, are sent
    // by the sweep once the lease ends.
    let mut accepted = Vec::with_capacity(batch.events.len());
    for event in &batch.events {
        accepted.push(outbox::accept_event(ctx, event, &lease)?);
    }
    let started = std::time::Instant::now();
    let events = batch
        .events
        .iter()
        .zip(accepted)
        .map(|(event, accepted)| answer(ctx, event, accepted, &lease.owner, started))
        .collect();
    Ok(web::json(202, &AcceptedBatch { events }))
}

/// Receivers get the link as given: only the case's own path may go out.
fn check_link(event: &CaseEvent, field: &str) -> Result<(), Problem> {
    if event.data.api_link != shared::events::case_api_link(&event.data.case_reference) {
        return Err(Problem::invalid_field(field, "must be the case's path in the triage API"));
    }
    Ok(())
}

/// The first attempts of an accepted event, and what the caller is told of them.
fn answer<'e, S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    event: &'e CaseEvent,
    accepted: outbox::Accepted,
    owner: &str,
    started: std::time::Instant,
) -> AcceptedEvent<'e> {
    let duplicate = accepted.duplicate;
    let messages = first_attempts::first_attempts(ctx, accepted, owner, started)
        .into_iter()
        .map(|(id, first_attempt)| FirstAttemptView { id, first_attempt })
        .collect();
    AcceptedEvent { event_id: &event.id, duplicate, messages }
}

/// `POST /notification/sweep`: due retries and purges, and the watchdog's record.
pub fn sweep<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    if ctx.verify_internal(req).is_err() {
        // Its report counts every organisation's webhooks: the programme's to run.
        ctx.staff(req)?.require_programme_admin("run the sweep: it works on every organisation's webhooks")?;
    }
    let swept = sweep::sweep(ctx)?;
    shared::watchdog::record_run(ctx.store, COMPONENT, ctx.config.sweep_interval, ctx.now(), &swept)?;
    Ok(web::json(200, &swept))
}

/// `GET /notification/sweep/tick`: a sweep, if one is due.
pub fn sweep_tick<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _: &PathParams,
    _: &Request,
) -> Result<Response, Problem> {
    let ticked =
        shared::watchdog::tick(ctx.store, COMPONENT, ctx.config.sweep_interval, ctx.now(), ctx.random, || {
            sweep::sweep(ctx)
        })?;
    Ok(web::json(200, &ticked))
}

/// `GET /notification/subscriptions`: those `who` may see.
pub fn list_subscriptions<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin(ctx, req)?;
    let all = subscription::load_all(ctx.store)?;
    let now = ctx.now();
    let subscriptions =
        all.iter().filter(|d| d.data.visible_to(&who)).map(|d| SubscriptionView::of(&d.data, now)).collect();
    Ok(web::json(200, &SubscriptionList { subscriptions }))
}

/// `POST /notification/subscriptions`: the secret is in this answer only.
pub fn create_subscription<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    _: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin(ctx, req)?;
    let form: NewSubscription = web::read_json(req)?;
    let (doc, secret) = subscription::create(ctx, &who, form)?;
    let view = SubscriptionView { secret: Some(secret.expose()), ..SubscriptionView::of(&doc.data, ctx.now()) };
    Ok(web::no_store(web::json_with_etag(201, &view, doc.version)))
}

/// `GET /notification/subscriptions/{subscription_id}`.
pub fn get_subscription<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin(ctx, req)?;
    let doc = subscription::load_visible(ctx.store, &who, &subscription_id(params)?)?;
    Ok(web::json_with_etag(200, &SubscriptionView::of(&doc.data, ctx.now()), doc.version))
}

/// `PATCH /notification/subscriptions/{subscription_id}`, with `If-Match`.
pub fn update_subscription<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin(ctx, req)?;
    let id = subscription_id(params)?;
    // Ownership before the version: another organisation's is 404 whatever the headers say.
    subscription::load_visible(ctx.store, &who, &id)?;
    let version = web::if_match(req)?;
    let patch: SubscriptionPatch = web::read_json(req)?;
    let doc = subscription::update(ctx, &who, &id, version, patch)?;
    Ok(web::json_with_etag(200, &SubscriptionView::of(&doc.data, ctx.now()), doc.version))
}

/// `DELETE /notification/subscriptions/{subscription_id}`.
pub fn delete_subscription<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin(ctx, req)?;
    subscription::delete(ctx.store, &who, &subscription_id(params)?)?;
    Ok(http::Response::builder().status(204).body(Vec::new()).expect("valid response"))
}

/// `POST …/{subscription_id}/rotate-secret`: the new secret is in this answer only.
pub fn rotate_secret<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin(ctx, req)?;
    let (doc, secret, until) = secrets::rotate_secret(ctx, &who, &subscription_id(params)?)?;
    let body =
        RotatedSecret { subscription_id: &doc.data.id, secret: secret.expose(), previous_secret_valid_until: until };
    Ok(web::no_store(web::json_with_etag(200, &body, doc.version)))
}

/// `POST …/{subscription_id}/ping`: a signed test send, not stored, never retried.
pub fn ping<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin(ctx, req)?;
    let sub = subscription::load_visible(ctx.store, &who, &subscription_id(params)?)?.data;
    let (webhook_id, answer) = delivery::ping(ctx, &sub)?;
    Ok(web::json(200, &PingResult::of(&webhook_id, &answer)))
}

/// `GET …/{subscription_id}/messages`: newest first, a page at a time.
pub fn list_messages<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin(ctx, req)?;
    let id = subscription_id(params)?;
    subscription::load_visible(ctx.store, &who, &id)?;
    let query: MessageQuery = read_query(req)?;
    let (messages, next) = recovery::list(ctx.store, &id, query.status, query.cursor, query.limit())?;
    let page = MessagePage {
        messages: messages.iter().map(MessageView::of).collect(),
        next_cursor: next.map(|slot| slot.to_string()),
    };
    Ok(web::json(200, &page))
}

/// `POST …/{subscription_id}/recover`: the failed messages of a window, queued again.
pub fn recover<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin(ctx, req)?;
    let id = subscription_id(params)?;
    subscription::load_visible(ctx.store, &who, &id)?;
    let form: RecoverForm = web::read_json(req)?;
    let until = form.until.unwrap_or(ctx.now());
    if until < form.since {
        return Err(Problem::invalid_field("/until", "must not be before since"));
    }
    let recovered = recovery::recover(ctx, &id, form.since, until)?;
    Ok(web::json(202, &Recovered { recovered }))
}

/// `GET /notification/messages/{message_id}`.
pub fn get_message<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin(ctx, req)?;
    let doc = visible_message(ctx, &who, &message_id(params)?)?;
    Ok(web::json(200, &MessageView::of(&doc.data)))
}

/// `GET /notification/messages/{message_id}/attempts`.
pub fn list_attempts<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin(ctx, req)?;
    let id = message_id(params)?;
    visible_message(ctx, &who, &id)?;
    Ok(web::json(200, &AttemptLog { attempts: recovery::attempts(ctx.store, &id)? }))
}

/// `POST /notification/messages/{message_id}/resend`: one attempt now, whatever the status.
pub fn resend<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    params: &PathParams,
    req: &Request,
) -> Result<Response, Problem> {
    let who = admin(ctx, req)?;
    let id = message_id(params)?;
    visible_message(ctx, &who, &id)?;
    let (doc, attempt) = recovery::resend(ctx, &id)?;
    Ok(web::json(200, &Resent { message: MessageView::of(&doc.data), attempt }))
}

/// A message `who` may see: one of a subscription they may see. A message whose
/// subscription was deleted is the programme's.
fn visible_message<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    who: &Principal,
    id: &MessageId,
) -> Result<Versioned<Message>, Problem> {
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

fn subscription_id(params: &PathParams) -> Result<SubscriptionId, Problem> {
    SubscriptionId::parse(params.get("subscription_id")).map_err(|_| Problem::not_found())
}

fn message_id(params: &PathParams) -> Result<MessageId, Problem> {
    MessageId::parse(params.get("message_id")).map_err(|_| Problem::not_found())
}

/// An admin (of an organisation, or of the programme).
fn admin<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, req: &Request) -> Result<Principal, Problem> {
    let who = ctx.staff(req)?;
    who.require_admin()?;
    Ok(who)
}
