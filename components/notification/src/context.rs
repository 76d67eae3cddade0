//! What one request of notification is served with: the shared request context with
//! notification's configuration.

use crate::config::NotificationConfig;

/// Notification's request context.
pub type Ctx<'a, S, O> = shared::service::Context<'a, S, O, NotificationConfig>;

/// The component name in log lines and health answers.
pub const COMPONENT: &str = "notification";
