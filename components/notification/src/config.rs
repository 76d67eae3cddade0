//! The notification component's configuration, read from Spin variables per request.

use crate::core::url_policy::LocalHosts;
use shared::auth::RecordMac;
use shared::config::{days_or, number, parsed, secret, ConfigError, Variables};
use shared::crypto::Keyring;
use std::time::Duration;

/// Everything notification needs from its variables.
#[derive(Debug)]
pub struct NotificationConfig {
    /// Seals subscription signing secrets at rest (`webhook_keys`).
    pub keyring: Keyring,
    /// The MAC key of token records (`record_mac_key`).
    pub record_mac: RecordMac,
    pub internal_secret: String,
    pub admin_token: String,
    /// `webhook_allowed_http_hosts`: hosts that may use http and private addresses
    /// (for local receivers and tests). Default: none.
    pub local_hosts: LocalHosts,
    /// `webhook_first_attempt_timeout_ms`: how long the event request waits for each
    /// receiver (the caller is waiting too).
    pub first_attempt_timeout: Duration,
    /// `webhook_timeout_seconds`: timeout of retries from the sweep.
    pub retry_timeout: Duration,
    /// `webhook_sweep_batch`: most attempts one sweep makes.
    pub sweep_batch: u32,
    /// `notification_retention_days` (default 30): finished messages and their event
    /// data are purged this long after they finished. Never longer than the case
    /// retention (`case_retention_days`), so no webhook outlives its case.
    pub retention: shared::time::Duration,
    /// How often the sweep is meant to run (`sweep_interval_seconds`): the watchdog
    /// reports it late after three intervals without a run.
    pub sweep_interval: shared::time::Duration,
}

/// Days finished messages are kept when `notification_retention_days` is not set.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// The default interval of the sweep, as `deploy/sweeper` runs it.
pub const NOTIFICATION_SWEEP_SECONDS: i64 = 60;

impl NotificationConfig {
    /// Reads and checks every variable; the error names the first one at fault.
    pub fn load(vars: &dyn Variables) -> Result<Self, ConfigError> {
        let first_ms: u64 = number(vars, "webhook_first_attempt_timeout_ms")?;
        let retry_s: u64 = number(vars, "webhook_timeout_seconds")?;
        let batch: u32 = number(vars, "webhook_sweep_batch")?;
        for (name, ok) in [
            ("webhook_first_attempt_timeout_ms", (100..=4_000).contains(&first_ms)),
            ("webhook_timeout_seconds", (1..=60).contains(&retry_s)),
            ("webhook_sweep_batch", (1..=500).contains(&batch)),
        ] {
            if !ok {
                return Err(ConfigError { variable: name.into(), reason: "is out of range".into() });
            }
        }
        let retention_days = days_or(vars, "notification_retention_days", DEFAULT_RETENTION_DAYS)?;
        if retention_days > days_or(vars, "case_retention_days", 365)? {
            return Err(ConfigError {
                variable: "notification_retention_days".into(),
                reason: "must not exceed case_retention_days".into(),
            });
        }
        Ok(NotificationConfig {
            sweep_interval: shared::watchdog::interval(vars, NOTIFICATION_SWEEP_SECONDS),
            keyring: parsed(vars, "webhook_keys", Keyring::parse)?,
            record_mac: parsed(vars, "record_mac_key", RecordMac::parse)?,
            internal_secret: secret(vars, "internal_secret")?,
            admin_token: shared::config::bootstrap_admin_token(vars)?,
            local_hosts: LocalHosts::parse(&vars.get("webhook_allowed_http_hosts").unwrap_or_default()),
            first_attempt_timeout: Duration::from_millis(first_ms),
            retry_timeout: Duration::from_secs(retry_s),
            sweep_batch: batch,
            retention: shared::time::Duration::days(retention_days.into()),
        })
    }
}

impl shared::service::InternalCallers for NotificationConfig {
    fn internal_secret(&self) -> &str {
        &self.internal_secret
    }
}

impl shared::service::StaffCallers for NotificationConfig {
    fn admin_token(&self) -> &str {
        &self.admin_token
    }
    fn record_mac(&self) -> &shared::auth::RecordMac {
        &self.record_mac
    }
}
