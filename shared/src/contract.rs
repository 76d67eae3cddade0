//! Holds the implementation to `openapi.yaml` (tests only: feature `contract`).
//!
//! - [`assert_routes_documented`]: a component's route table and the spec's operations
//!   under its prefix are the same set, both ways.
//! - [`validate_response`]: a response's status is documented for the operation and its
//!   JSON body fits the documented schema (the subset of JSON Schema the spec uses:
//!   `$ref`, `type`, `required`, `properties`, `additionalProperties: false`, `items`,
//!   `enum`, `const`, `oneOf`/`anyOf`, `minimum`/`maximum`, `pattern` for our ids).

use crate::web::RouteTable;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::OnceLock;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The workspace's `openapi.yaml`, parsed once.
pub fn openapi() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
        let text = std::fs::read_to_string(path).expect("openapi.yaml is readable");
        serde_norway::from_str(&text).expect("openapi.yaml is valid YAML")
    })
}

/// Every `(METHOD, path)` the spec documents under `prefix`.
pub fn documented_operations(prefix: &str) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    if let Some(paths) = openapi()["paths"].as_object() {
        for (path, item) in paths.iter().filter(|(p, _)| p.starts_with(prefix)) {
            for method in METHODS {
                if item.get(method).is_some() {
                    ops.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
    }
    ops
}

/// Fails unless the route table and the spec agree on every operation under `prefix`.
pub fn assert_routes_documented<E>(table: &RouteTable<E>, prefix: &str) {
    let routed: BTreeSet<(String, String)> = table.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    let documented = documented_operations(prefix);
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routes missing from openapi.yaml: {undocumented:?}");
    assert!(unrouted.is_empty(), "openapi.yaml documents routes the component does not serve: {unrouted:?}");
}

/// Checks a response against the spec's operation `method path_template`.
pub fn validate_response(method: &str, path_template: &str, status: u16, body: &[u8]) -> Result<(), String> {
    let spec = openapi();
    let operation = &spec["paths"][path_template][method.to_lowercase()];
    if operation.is_null() {
        return Err(format!("{method} {path_template} is not in openapi.yaml"));
    }
    let responses = &operation["responses"];
    let response = [status.to_string(), format!("{}XX", status / 100), "default".to_string()]
        .iter()
        .map(|k| &responses[k])
        .find(|r| !r.is_null())
        .ok_or_else(|| format!("{method} {path_template}: status {status} is not documented"))?;
    let response = resolve(spec, response);
    let Some(content) = response["content"].as_object() else {
        return if body.is_empty() { Ok(()) } else { Err(format!("{status}: documented without a body")) };
    };
    let Some((_, media)) = content.iter().find(|(k, _)| k.contains("json")) else {
        return Ok(());
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("{status}: body is not JSON: {e}"))?;
    check(spec, &media["schema"], &value, "")
}

fn resolve<'a>(spec: &'a Value, node: &'a Value) -> &'a Value {
    let mut node = node;
    while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let mut target = spec;
        for part in reference.trim_start_matches("#/").split('/') {
            target = &target[part];
        }
        node = target;
    }
    node
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn check(spec: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(spec, schema);
    if schema.is_null() {
        return Ok(());
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            if !options.iter().any(|s| check(spec, s, value, at).is_ok()) {
                return Err(format!("{at}: fits none of the {key} schemas"));
            }
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(spec, s, value, at)?;
        }
    }
    match &schema["type"] {
        Value::String(t) if !type_matches(t, value) => return Err(format!("{at}: expected {t}, got {value}")),
        Value::Array(ts) if !ts.iter().filter_map(Value::as_str).any(|t| type_matches(t, value)) => {
            return Err(format!("{at}: expected one of {ts:?}, got {value}"))
        }
        _ => {}
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return Err(format!("{at}: {value} is not one of the documented values"));
        }
    }
    if let Some(constant) = schema.get("const") {
        if constant != value {
            return Err(format!("{at}: expected {constant}"));
        }
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), value.as_f64()) {
        if n < min {
            return Err(format!("{at}: {n} is below {min}"));
        }
    }
    if let (Some(max), Some(n)) = (schema["maximum"].as_f64(), value.as_f64()) {
        if n > max {
            return Err(format!("{at}: {n} is above {max}"));
        }
    }
    if let (Some(pattern), Some(text)) = (schema["pattern"].as_str(), value.as_str()) {
        if let Some(prefix) = pattern.strip_prefix('^').and_then(|p| p.split('[').next()) {
            if !text.starts_with(prefix) {
                return Err(format!("{at}: {text:?} does not match {pattern}"));
            }
        }
    }
    if let Some(object) = value.as_object() {
        if let Some(required) = schema["required"].as_array() {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    return Err(format!("{at}/{name}: required but missing"));
                }
            }
        }
        let properties = schema["properties"].as_object();
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => check(spec, s, field, &format!("{at}/{name}"))?,
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    return Err(format!("{at}/{name}: not documented"))
                }
                None => {
                    if let Some(extra) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                        check(spec, extra, field, &format!("{at}/{name}"))?;
                    }
                }
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(spec, items, item, &format!("{at}/{i}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_bodies_fit_the_problem_schema() {
        let spec = openapi();
        let problem = crate::problem::Problem::invalid_field("/role", "bad").body("abc");
        check(spec, &serde_json::json!({"$ref": "#/components/schemas/Problem"}), &problem, "").unwrap();
        let broken =
            serde_json::json!({"type": "x", "title": "t", "status": 200, "detail": "d", "correlation_id": "c"});
        assert!(check(spec, &serde_json::json!({"$ref": "#/components/schemas/Problem"}), &broken, "").is_err());
    }

    #[test]
    fn every_problem_kind_is_in_the_spec() {
        let documented =
            openapi()["components"]["schemas"]["Problem"]["properties"]["type"]["enum"].as_array().unwrap();
        for kind in crate::problem::ProblemKind::ALL {
            let uri = Value::String(format!("{}{}", crate::problem::TYPE_BASE, kind.slug()));
            assert!(documented.contains(&uri), "{uri} missing from openapi.yaml");
        }
    }
}
