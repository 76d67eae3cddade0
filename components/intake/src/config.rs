//! Intake's configuration, read from Spin variables once per request.

use shared::config::{base_url, number, parsed, required, ConfigError, Variables};
use shared::crypto::{KeyedHasher, Keyring};

/// Everything intake needs from its variables.
#[derive(Debug)]
pub struct IntakeConfig {
    pub keyring: Keyring,
    pub hasher: KeyedHasher,
    pub internal_secret: String,
    pub triage_url: String,
    pub submission_limit_per_hour: u32,
    pub receipt_lookup_limit: u32,
    pub receipt_lookup_window_seconds: u32,
}

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
            keyring: parsed(vars, "encryption_keys", Keyring::parse)?,
            hasher: parsed(vars, "receipt_hmac_key", KeyedHasher::parse)?,
            internal_secret: required(vars, "internal_secret")?,
            triage_url: base_url(vars, "triage_url")?,
            submission_limit_per_hour: number(vars, "submission_limit_per_hour")?,
            receipt_lookup_limit: number(vars, "receipt_lookup_limit")?,
            receipt_lookup_window_seconds: window,
        })
    }
}
