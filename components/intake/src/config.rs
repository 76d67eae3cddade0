//! Intake's configuration, read from Spin variables once per request.

use crate::core::client::TrustedProxies;
use crate::core::proof_of_work::DIFFICULTY_BITS;
use shared::config::{base_url, number, parsed, secret, ConfigError, Variables};
use shared::crypto::{KeyedHasher, Keyring};

/// The difficulty when `proof_of_work_bits` is unset: about a second of work in
/// Python on a laptop (README, "When the limit is reached").
pub const DEFAULT_PROOF_OF_WORK_BITS: u8 = 20;

/// Everything intake needs from its variables.
#[derive(Debug)]
pub struct IntakeConfig {
    /// The case keyring (`case_keys`): wraps each case's data key.
    pub keyring: Keyring,
    pub hasher: KeyedHasher,
    pub internal_secret: String,
    pub triage_url: String,
    pub submission_limit_per_hour: u32,
    pub receipt_lookup_limit: u32,
    pub receipt_lookup_window_seconds: u32,
    pub trusted_proxies: TrustedProxies,
    pub proof_of_work_bits: u8,
    /// How often the sweep is meant to run (`sweep_interval_seconds`): the watchdog
    /// reports it late after three intervals without a run.
    pub sweep_interval: shared::time::Duration,
}

/// The default interval of the sweep, as `deploy/sweeper` runs it.
pub const INTAKE_SWEEP_SECONDS: i64 = 900;

impl IntakeConfig {
    /// Reads and checks every variable; the error names the first one at fault.
    pub fn load(vars: &dyn Variables) -> Result<Self, ConfigError> {
        let window: u32 = number(vars, "receipt_lookup_window_seconds")?;
        if window == 0 {
            return Err(ConfigError {
                variable: "receipt_lookup_window_seconds".into(),
                reason: "must be above 0".into(),
            });
        }
        Ok(IntakeConfig {
            sweep_interval: shared::watchdog::interval(vars, INTAKE_SWEEP_SECONDS),
            keyring: parsed(vars, "case_keys", Keyring::parse)?,
            hasher: parsed(vars, "receipt_hmac_key", KeyedHasher::parse)?,
            internal_secret: secret(vars, "internal_secret")?,
            triage_url: base_url(vars, "triage_url")?,
            submission_limit_per_hour: number(vars, "submission_limit_per_hour")?,
            receipt_lookup_limit: number(vars, "receipt_lookup_limit")?,
            receipt_lookup_window_seconds: window,
            trusted_proxies: trusted_proxies(vars)?,
            proof_of_work_bits: proof_of_work_bits(vars)?,
        })
    }
}

/// `trusted_proxies`; unset or empty trusts no proxy. The error never shows the value.
fn trusted_proxies(vars: &dyn Variables) -> Result<TrustedProxies, ConfigError> {
    let raw = vars.get("trusted_proxies").unwrap_or_default();
    TrustedProxies::parse(&raw).map_err(|reason| ConfigError { variable: "trusted_proxies".into(), reason })
}

/// `proof_of_work_bits`; unset or empty is the default.
fn proof_of_work_bits(vars: &dyn Variables) -> Result<u8, ConfigError> {
    match vars.get("proof_of_work_bits") {
        Some(raw) if !raw.trim().is_empty() => {
            raw.trim().parse().ok().filter(|bits| DIFFICULTY_BITS.contains(bits)).ok_or_else(|| ConfigError {
                variable: "proof_of_work_bits".into(),
                reason: format!("must be a whole number from {} to {}", DIFFICULTY_BITS.start(), DIFFICULTY_BITS.end()),
            })
        }
        _ => Ok(DEFAULT_PROOF_OF_WORK_BITS),
    }
}

impl shared::service::InternalCallers for IntakeConfig {
    fn internal_secret(&self) -> &str {
        &self.internal_secret
    }
}
