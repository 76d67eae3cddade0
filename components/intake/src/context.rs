//! The ports and configuration one intake request works with.

use crate::config::IntakeConfig;
use crate::core::handoff::TriagePeer;
use shared::clock::Clock;
use shared::random::Random;

/// What an intake operation needs: the store, the outbound client, time, randomness,
/// configuration, and the request's correlation id for log lines and calls onward.
pub struct Intake<'a, S, O> {
    pub store: &'a S,
    pub outbound: &'a O,
    pub clock: &'a dyn Clock,
    pub random: &'a dyn Random,
    pub config: &'a IntakeConfig,
    pub correlation_id: &'a str,
}

impl<S, O> Intake<'_, S, O> {
    /// The triage component.
    pub fn triage(&self) -> TriagePeer<'_, O> {
        TriagePeer {
            outbound: self.outbound,
            triage_url: &self.config.triage_url,
            internal_secret: &self.config.internal_secret,
            correlation_id: self.correlation_id,
        }
    }
}
