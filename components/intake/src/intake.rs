//! The ports and configuration one intake request works with.

use crate::config::IntakeConfig;
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
