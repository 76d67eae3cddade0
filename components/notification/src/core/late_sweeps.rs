//! The watchdog's alarm: every sweep of the app that is late (see `shared::watchdog`)
//! is reported to the operator subscriptions, at most once an hour per sweep, with a
//! warn log line. Notification's health answer runs this, so the probes that already
//! poll it keep watching the schedulers, the scheduler of notification's own sweep
//! included: the first attempt of each webhook happens right here.

use crate::context::{Ctx, COMPONENT};
use crate::core::delivery::{self, Trigger};
use crate::core::outbox;
use crate::core::payload::{SweepLateData, Webhook, SWEEP_LATE_TYPE};
use crate::core::subscription::{self, Subscription};
use shared::kv::{KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::watchdog;

/// Reports the late sweeps that are due for a report now; returns their names.
pub fn report<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>) -> Result<Vec<String>, StoreError> {
    let now = ctx.clock.now();
    let mut reported = Vec::new();
    // Read once, when the first late sweep is reported.
    let mut operators: Option<Vec<Subscription>> = None;
    for (_, status) in watchdog::all(ctx.store, now)? {
        if !status.late || !watchdog::alert_due(ctx.store, &status.sweep, now, ctx.random)? {
            continue;
        }
        let since = status.last_run_at.map_or("never".to_string(), |t| t.to_string());
        shared::log::warn(
            COMPONENT,
            ctx.correlation_id,
            "sweep_late",
            &format!(
                "the {} sweep is late: meant to run every {} s, last run {since}",
                status.sweep, status.interval_seconds
            ),
        );
        // A stopped sweep stops every organisation's escalations and retries, and the
        // page names no case: every operator subscription hears of it, the programme's
        // and each organisation's.
        if operators.is_none() {
            let all = subscription::load_all(ctx.store)?.into_iter().map(|d| d.data);
            operators = Some(all.filter(|s| s.enabled && s.operator_events).collect());
        }
        let operators = operators.as_deref().unwrap_or_default();
        if !operators.is_empty() {
            let body = Webhook {
                event_type: SWEEP_LATE_TYPE.to_string(),
                timestamp: now,
                data: SweepLateData {
                    sweep: status.sweep.clone(),
                    interval_seconds: status.interval_seconds,
                    last_run_at: status.last_run_at,
                },
            }
            .body();
            for id in outbox::enqueue(ctx, operators, SWEEP_LATE_TYPE, &body)? {
                // Stored now; a failed attempt is retried by the sweep, if it runs again.
                if let Err(problem) = delivery::attempt(ctx, &id, Trigger::First, ctx.config.first_attempt_timeout) {
                    shared::log::warn(COMPONENT, ctx.correlation_id, "first_attempt", &format!("{id}: {problem:?}"));
                }
            }
        }
        reported.push(status.sweep);
    }
    Ok(reported)
}
