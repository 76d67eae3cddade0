//! Structured log lines: one JSON object per line, never personal data.
//!
//! Callers pass only ids, routes, statuses, kinds and durations. Spin writes a
//! component's stdout to `.spin/logs/<component>_stdout.txt`.

use serde_json::json;

/// One line per request.
pub fn request(component: &str, correlation_id: &str, method: &str, route: &str, status: u16, duration_ms: u64) {
    println!(
        "{}",
        json!({"level": "info", "component": component, "correlation_id": correlation_id,
               "method": method, "route": route, "status": status, "duration_ms": duration_ms})
    );
}

/// Something the operator must look at. `message` must not contain personal data.
pub fn error(component: &str, correlation_id: &str, kind: &str, message: &str) {
    eprintln!(
        "{}",
        json!({"level": "error", "component": component, "correlation_id": correlation_id,
               "kind": kind, "message": message})
    );
}

/// Worth knowing, not alarming (a downstream was down and work was left for the sweep).
pub fn warn(component: &str, correlation_id: &str, kind: &str, message: &str) {
    eprintln!(
        "{}",
        json!({"level": "warn", "component": component, "correlation_id": correlation_id,
               "kind": kind, "message": message})
    );
}
