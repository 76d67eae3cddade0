//! The ports and configuration one triage request works with.

use crate::config::TriageConfig;
use crate::core::peers::Peer;
use shared::case_keys::CaseCipher;
use shared::clock::Clock;
use shared::id::CaseId;
use shared::kv::KeyValue;
use shared::problem::Problem;
use shared::random::Random;

/// What a triage operation needs: the store, the outbound client, time, randomness,
/// configuration, and the request's correlation id for log lines and calls onward.
pub struct Triage<'a, S, O> {
    pub store: &'a S,
    pub outbound: &'a O,
    pub clock: &'a dyn Clock,
    pub random: &'a dyn Random,
    pub config: &'a TriageConfig,
    pub correlation_id: &'a str,
}

impl<S, O> Triage<'_, S, O> {
    /// The directory component.
    pub fn directory(&self) -> Peer<'_, O> {
        Peer {
            outbound: self.outbound,
            base_url: &self.config.directory_url,
            internal_secret: &self.config.internal_secret,
            correlation_id: self.correlation_id,
        }
    }

    /// The notification component.
    pub fn notification(&self) -> Peer<'_, O> {
        Peer {
            outbound: self.outbound,
            base_url: &self.config.notification_url,
            internal_secret: &self.config.internal_secret,
            correlation_id: self.correlation_id,
        }
    }

    /// Seals and opens the fields of case `id` (its data key, unwrapped by `case_keys`).
    pub fn case_cipher(&self, id: &CaseId) -> Result<CaseCipher<'_>, Problem>
    where
        S: KeyValue,
    {
        CaseCipher::load(self.store, &self.config.keyring, id).map_err(Problem::internal)
    }

    /// Logs that work was left for the sweep (ids and kinds only).
    pub fn deferred(&self, kind: &str, message: &str) {
        shared::log::warn("triage", self.correlation_id, kind, message);
    }
}
