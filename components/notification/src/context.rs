//! What a request is served with: the store, the other ports and the configuration.

use crate::config::NotificationConfig;
use shared::clock::Clock;
use shared::random::Random;

/// The ports and configuration one request works with.
pub struct Ctx<'a, S, O> {
    pub store: &'a S,
    pub outbound: &'a O,
    pub clock: &'a dyn Clock,
    pub random: &'a dyn Random,
    pub config: &'a NotificationConfig,
    pub correlation_id: &'a str,
}

/// The component name in log lines.
pub const COMPONENT: &str = "notification";
