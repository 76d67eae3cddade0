//! `GET /notification/health`: the watchdog's health answer, and its alarm.

use crate::config::NotificationConfig;
use crate::context::COMPONENT;
use crate::core::late_sweeps;
use crate::routes::Notification;
use shared::config::ConfigError;
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::service::{Context, Service};
use shared::watchdog::{self, Details};
use shared::web::{Ports, Response};

/// The health answer: configured, store up, how the sweep stands. Every late sweep of
/// the app is reported to the operator subscriptions too, and `late_sweeps_reported`
/// names them: the probes that poll this keep watching the schedulers.
pub fn answer<S: KeyValue, O: Outbound>(
    config: Result<&NotificationConfig, &ConfigError>,
    open_store: impl FnOnce() -> Result<S, StoreError>,
    ports: &Ports<'_, O>,
    correlation_id: &str,
) -> Response {
    let interval = config.map(|c| c.sweep_interval).map_err(Clone::clone);
    watchdog::health(COMPONENT, Notification::VERSION, interval, open_store, ports.clock.now(), |store, _| {
        let mut details = Details::new();
        if let Ok(config) = config {
            let ctx = Context::new(store, ports, config, correlation_id);
            match late_sweeps::report(&ctx) {
                Ok(reported) => {
                    details.insert("late_sweeps_reported".into(), reported.into());
                }
                Err(e) => shared::log::warn(COMPONENT, correlation_id, "sweep_late", &format!("{e}")),
            }
        }
        details
    })
}
