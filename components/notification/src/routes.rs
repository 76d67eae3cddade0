//! Notification's routes: every endpoint of `openapi.yaml`, and one dispatch that sends
//! each to its handler in [`crate::http::endpoints`].

use crate::config::NotificationConfig;
use crate::context::{Ctx, COMPONENT};
use crate::http::{endpoints, health};
use shared::config::{ConfigError, Variables};
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::service::Service;
use shared::web::{PathParams, Ports, Request, Response, RouteTable};

/// Notification's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /notification/internal/events`: triage hands over a case event.
    InternalEvent,
    /// `POST /notification/internal/events/batch`: triage hands over a change's events.
    InternalEventBatch,
    /// `POST /notification/sweep`: the scheduler (or a programme admin) runs due retries and purges.
    Sweep,
    /// `GET …/sweep/tick`: a platform scheduler that cannot send a header.
    SweepTick,
    /// `GET /notification/subscriptions`: an admin lists the subscriptions they may see.
    ListSubscriptions,
    /// `POST /notification/subscriptions`: an admin subscribes an endpoint.
    CreateSubscription,
    /// `GET /notification/subscriptions/{subscription_id}`.
    GetSubscription,
    /// `PATCH /notification/subscriptions/{subscription_id}` (with `If-Match`).
    UpdateSubscription,
    /// `DELETE /notification/subscriptions/{subscription_id}`.
    DeleteSubscription,
    /// `POST …/{subscription_id}/rotate-secret`: a new signing secret, the old one valid a while.
    RotateSecret,
    /// `POST …/{subscription_id}/ping`: a signed test send, not stored.
    Ping,
    /// `GET …/{subscription_id}/messages`: the subscription's messages, newest first.
    ListMessages,
    /// `POST …/{subscription_id}/recover`: requeue the failed messages of a window.
    Recover,
    /// `GET /notification/messages/{message_id}`.
    GetMessage,
    /// `GET /notification/messages/{message_id}/attempts`: the attempt log.
    ListAttempts,
    /// `POST /notification/messages/{message_id}/resend`: send once more, now.
    Resend,
    /// `GET /notification/health`, which also raises the watchdog's alarm.
    Health,
}

/// Every route, exactly as in `openapi.yaml`.
pub const ROUTES: &RouteTable<Endpoint> = &[
    ("POST", "/notification/internal/events", Endpoint::InternalEvent),
    ("POST", "/notification/internal/events/batch", Endpoint::InternalEventBatch),
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

/// Notification as a [`Service`].
pub struct Notification;

impl Service for Notification {
    const NAME: &'static str = COMPONENT;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    type Endpoint = Endpoint;
    type Config = NotificationConfig;
    const ROUTES: &'static RouteTable<Endpoint> = ROUTES;
    const HEALTH: Endpoint = Endpoint::Health;

    fn config(variables: &dyn Variables) -> Result<NotificationConfig, ConfigError> {
        NotificationConfig::load(variables)
    }

    /// The health answer, which also raises the watchdog's alarm for late sweeps (it
    /// sends webhooks: hence the ports and the correlation id).
    fn health<S: KeyValue, O: Outbound>(
        config: Result<&NotificationConfig, &ConfigError>,
        open_store: impl FnOnce() -> Result<S, StoreError>,
        ports: &Ports<'_, O>,
        correlation_id: &str,
    ) -> Response {
        health::answer(config, open_store, ports, correlation_id)
    }

    fn dispatch<S: KeyValue, O: Outbound>(
        ctx: &Ctx<'_, S, O>,
        endpoint: Endpoint,
        params: &PathParams,
        req: &Request,
    ) -> Result<Response, Problem> {
        match endpoint {
            Endpoint::InternalEvent => endpoints::internal_event(ctx, params, req),
            Endpoint::InternalEventBatch => endpoints::internal_event_batch(ctx, params, req),
            Endpoint::Sweep => endpoints::sweep(ctx, params, req),
            Endpoint::SweepTick => endpoints::sweep_tick(ctx, params, req),
            Endpoint::ListSubscriptions => endpoints::list_subscriptions(ctx, params, req),
            Endpoint::CreateSubscription => endpoints::create_subscription(ctx, params, req),
            Endpoint::GetSubscription => endpoints::get_subscription(ctx, params, req),
            Endpoint::UpdateSubscription => endpoints::update_subscription(ctx, params, req),
            Endpoint::DeleteSubscription => endpoints::delete_subscription(ctx, params, req),
            Endpoint::RotateSecret => endpoints::rotate_secret(ctx, params, req),
            Endpoint::Ping => endpoints::ping(ctx, params, req),
            Endpoint::ListMessages => endpoints::list_messages(ctx, params, req),
            Endpoint::Recover => endpoints::recover(ctx, params, req),
            Endpoint::GetMessage => endpoints::get_message(ctx, params, req),
            Endpoint::ListAttempts => endpoints::list_attempts(ctx, params, req),
            Endpoint::Resend => endpoints::resend(ctx, params, req),
            Endpoint::Health => unreachable!("answered by Service::health before dispatch"),
        }
    }
}

/// Serves one request (the Spin entry point and the native tests call this).
pub fn handle<S: KeyValue, O: Outbound>(
    req: Request,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    ports: Ports<'_, O>,
) -> Response {
    shared::service::handle::<Notification, S, O>(req, open_store, ports)
}
