//! Notification's core: subscriptions, the outbox, delivery and its schedule, the
//! sweep, recovery and retention. Everything here works on the store and the
//! outbound port; nothing sees an HTTP request of ours.

pub mod delivery;
pub mod first_attempts;
pub mod late_sweeps;
pub mod outbox;
pub mod payload;
pub mod recovery;
pub mod retention;
pub mod schedule;
pub mod secrets;
pub mod signing;
pub mod subscription;
pub mod sweep;
pub mod url_policy;
