//! Triage's configuration, read from Spin variables once per request.

use crate::core::rules::{PerPriority, Routing};
use shared::auth::RecordMac;
use shared::config::{base_url, days_or, parsed, secret, ConfigError, Variables};
use shared::crypto::Keyring;
use shared::time::Duration;

/// Days a closed case is kept when `case_retention_days` is not set.
pub const DEFAULT_CASE_RETENTION_DAYS: u32 = 365;

/// The longest a token may live when `token_max_days` is not set.
pub const DEFAULT_TOKEN_MAX_DAYS: u32 = 365;

/// Everything triage needs from its variables.
#[derive(Debug)]
pub struct TriageConfig {
    /// The case keyring (`case_keys`): wraps each case's data key.
    pub keyring: Keyring,
    /// The MAC key of token records (`record_mac_key`).
    pub record_mac: RecordMac,
    pub internal_secret: String,
    pub admin_token: String,
    pub directory_url: String,
    pub notification_url: String,
    /// First-contact deadline per priority (`first_contact_sla_minutes`).
    pub sla: PerPriority,
    /// Which priorities escalate, and how often (`escalation_interval_minutes`).
    pub escalation: PerPriority,
    /// Role → organisation (`routing`).
    pub routing: Routing,
    /// How long a closed case is kept before the sweep purges it (`case_retention_days`).
    pub case_retention: Duration,
    /// How often the sweep is meant to run (`sweep_interval_seconds`): the watchdog
    /// reports it late after three intervals without a run.
    pub sweep_interval: shared::time::Duration,
    /// The longest a staff token may live, in days (`token_max_days`, default 365).
    pub token_max_days: u32,
    /// Published figures below this are withheld (`stats_min_cell`, default 5).
    pub stats_min_cell: u64,
}

/// The smallest published count when `stats_min_cell` is not set.
pub const DEFAULT_STATS_MIN_CELL: u32 = 5;

/// The default interval of the sweep, as `deploy/sweeper` runs it.
pub const TRIAGE_SWEEP_SECONDS: i64 = 60;

impl TriageConfig {
    /// Reads and checks every variable; the error names the first one at fault.
    pub fn load(vars: &dyn Variables) -> Result<Self, ConfigError> {
        let sla = parsed(vars, "first_contact_sla_minutes", PerPriority::parse_minutes)?;
        if !sla.covers_all() {
            return Err(ConfigError {
                variable: "first_contact_sla_minutes".into(),
                reason: "must give minutes for each of P1, P2, P3 and P4".into(),
            });
        }
        Ok(TriageConfig {
            sweep_interval: shared::watchdog::interval(vars, TRIAGE_SWEEP_SECONDS),
            keyring: parsed(vars, "case_keys", Keyring::parse)?,
            record_mac: parsed(vars, "record_mac_key", RecordMac::parse)?,
            internal_secret: secret(vars, "internal_secret")?,
            admin_token: shared::config::bootstrap_admin_token(vars)?,
            directory_url: base_url(vars, "directory_url")?,
            notification_url: base_url(vars, "notification_url")?,
            sla,
            escalation: parsed(vars, "escalation_interval_minutes", PerPriority::parse_minutes)?,
            routing: parsed(vars, "routing", Routing::parse)?,
            case_retention: Duration::days(days_or(vars, "case_retention_days", DEFAULT_CASE_RETENTION_DAYS)?.into()),
            token_max_days: days_or(vars, "token_max_days", DEFAULT_TOKEN_MAX_DAYS)?,
            stats_min_cell: min_cell(vars)?,
        })
    }
}

/// `stats_min_cell`: a whole number from 2 to 100 (1 would publish every count).
fn min_cell(vars: &dyn Variables) -> Result<u64, ConfigError> {
    match vars.get("stats_min_cell") {
        None => Ok(DEFAULT_STATS_MIN_CELL.into()),
        Some(raw) if raw.trim().is_empty() => Ok(DEFAULT_STATS_MIN_CELL.into()),
        Some(raw) => raw.trim().parse().ok().filter(|n| (2..=100).contains(n)).ok_or_else(|| ConfigError {
            variable: "stats_min_cell".into(),
            reason: "must be a whole number from 2 to 100".into(),
        }),
    }
}

impl shared::service::InternalCallers for TriageConfig {
    fn internal_secret(&self) -> &str {
        &self.internal_secret
    }
}

impl shared::service::StaffCallers for TriageConfig {
    fn admin_token(&self) -> &str {
        &self.admin_token
    }
    fn record_mac(&self) -> &shared::auth::RecordMac {
        &self.record_mac
    }
}
