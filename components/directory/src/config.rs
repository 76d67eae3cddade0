//! The directory's configuration, read from Spin variables once per request.

use shared::auth::RecordMac;
use shared::config::{parsed, secret, ConfigError, Variables};
use shared::crypto::Keyring;

/// Everything the directory needs from its variables.
#[derive(Debug)]
pub struct DirectoryConfig {
    /// Seals members' contact details (`directory_keys`).
    pub keyring: Keyring,
    /// The MAC key of token records (`record_mac_key`).
    pub record_mac: RecordMac,
    /// Proves a call comes from triage (or another component).
    pub internal_secret: String,
    /// The bootstrap admin token.
    pub admin_token: String,
}

impl DirectoryConfig {
    /// Reads and checks every variable; the error names the first one at fault.
    pub fn load(vars: &dyn Variables) -> Result<Self, ConfigError> {
        Ok(DirectoryConfig {
            keyring: parsed(vars, "directory_keys", Keyring::parse)?,
            record_mac: parsed(vars, "record_mac_key", RecordMac::parse)?,
            internal_secret: secret(vars, "internal_secret")?,
            admin_token: shared::config::bootstrap_admin_token(vars)?,
        })
    }
}

impl shared::service::InternalCallers for DirectoryConfig {
    fn internal_secret(&self) -> &str {
        &self.internal_secret
    }
}

impl shared::service::StaffCallers for DirectoryConfig {
    fn admin_token(&self) -> &str {
        &self.admin_token
    }
    fn record_mac(&self) -> &shared::auth::RecordMac {
        &self.record_mac
    }
}
