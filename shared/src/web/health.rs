//! `GET /<component>/health`: the version, the configuration and the store, with 503
//! whenever a probe should take the instance out.

use super::{json, Response};

/// `GET /<component>/health`: the version, whether the component is configured (503
/// `misconfigured`, naming the variable, if not) and whether the store answers (503 if
/// not). Components with a sweep answer with [`crate::watchdog::health`].
pub fn health<S: crate::kv::KeyValue>(
    component: &str,
    version: &str,
    configured: Result<(), crate::config::ConfigError>,
    open_store: impl FnOnce() -> Result<S, crate::kv::StoreError>,
) -> Response {
    if let Err(e) = configured {
        return health_misconfigured(component, version, &e);
    }
    match open_store().and_then(|s| s.exists("health/probe")) {
        Ok(_) => {
            json(200, &serde_json::json!({"component": component, "version": version, "store": "ok", "status": "ok"}))
        }
        Err(_) => health_unavailable(component, version),
    }
}

/// The health answer of a component whose variables are wrong: 503, so probes take the
/// pod out, naming the variable and what is wrong (never its value).
pub fn health_misconfigured(component: &str, version: &str, error: &crate::config::ConfigError) -> Response {
    json(
        503,
        &serde_json::json!({
            "component": component,
            "version": version,
            "status": "misconfigured",
            "misconfigured": {"variable": error.variable, "reason": error.reason},
        }),
    )
}

/// The health answer when the store does not answer: 503, so probes take the pod out.
pub fn health_unavailable(component: &str, version: &str) -> Response {
    json(
        503,
        &serde_json::json!({"component": component, "version": version, "store": "unavailable", "status": "unavailable"}),
    )
}
