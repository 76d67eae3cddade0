//! What one request of the directory is served with: the shared request context with
//! the directory's configuration.

use crate::config::DirectoryConfig;

/// The directory's request context.
pub type Ctx<'a, S, O> = shared::service::Context<'a, S, O, DirectoryConfig>;

/// The component name in log lines and health answers.
pub const COMPONENT: &str = "directory";
