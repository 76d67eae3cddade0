//! Holds the implementation to `openapi.yaml` (tests only: feature `contract`).
//!
//! - [`assert_routes_documented`]: a component's route table and the spec's operations
//!   under its prefix are the same set, both ways.
//! - [`validate_response`]: a response's status is documented for the operation and its
//!   JSON body fits the documented schema (the subset of JSON Schema the spec uses:
//!   `$ref`, `type`, `required`, `properties`, `additionalProperties: false`, `items`,
//!   `enum`, `const`, `oneOf` (exactly one branch fits, and the `discriminator`'s branch
//!   if there is one), `anyOf`, `minimum`/`maximum`, `pattern` for our ids).
//! - [`validate_schema`]: a value fits one named schema of `components/schemas`.

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

/// The documented path template a concrete `path` (no query) falls under for
/// `method`: literal segments beat `{placeholders}` (`/members/import` before
/// `/members/{member_id}`); `None` when the spec has no such operation.
pub fn template_of(method: &str, path: &str) -> Option<String> {
    let method = method.to_lowercase();
    let segments: Vec<&str> = path.split('/').collect();
    let paths = openapi()["paths"].as_object()?;
    paths
        .iter()
        .filter(|(_, item)| item.get(&method).is_some())
        .filter_map(|(template, _)| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut placeholders = 0;
            for (t, p) in parts.iter().zip(&segments) {
                if t.starts_with('{') && t.ends_with('}') && !p.is_empty() {
                    placeholders += 1;
                } else if t != p {
                    return None;
                }
            }
            Some((placeholders, template.clone()))
        })
        .min()
        .map(|(_, template)| template)
}

/// Checks one exchange as a client saw it: the answer to `method path` (query
/// stripped) with `status`, `content_type` and `body` against the documented
/// operation. An operation the spec does not have (an unknown path or method, which
/// the router answers 404/405 by itself) has nothing to be held to: `Ok`.
pub fn validate_exchange(method: &str, path: &str, status: u16, content_type: &str, body: &[u8]) -> Result<(), String> {
    let path = path.split('?').next().unwrap_or(path);
    let Some(template) = template_of(method, path) else { return Ok(()) };
    let media = if content_type.is_empty() || content_type.contains("json") { "json" } else { content_type };
    validate_response_as(method, &template, status, media, body)
}

/// Checks a response against the spec's operation `method path_template`.
pub fn validate_response(method: &str, path_template: &str, status: u16, body: &[u8]) -> Result<(), String> {
    validate_response_as(method, path_template, status, "json", body)
}

/// [`validate_response`] for an answer of media type `media_type` (e.g. `text/html`):
/// the status must be documented with that media type; JSON bodies are checked against
/// their schema, others only for being documented.
pub fn validate_response_as(
    method: &str,
    path_template: &str,
    status: u16,
    media_type: &str,
    body: &[u8],
) -> Result<(), String> {
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
    let media_type = media_type.split(';').next().unwrap_or("").trim();
    let Some((key, media)) = content.iter().find(|(k, _)| k.contains(media_type)) else {
        if media_type == "json" {
            return Ok(());
        }
        return Err(format!("{method} {path_template}: {status} is not documented as {media_type}"));
    };
    if !key.contains("json") {
        return Ok(());
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("{status}: body is not JSON: {e}"))?;
    check(spec, &media["schema"], &value, "")
}

/// Checks a value against the spec's schema `components/schemas/<name>`.
pub fn validate_schema(name: &str, value: &Value) -> Result<(), String> {
    let spec = openapi();
    if spec["components"]["schemas"][name].is_null() {
        return Err(format!("openapi.yaml has no schema {name}"));
    }
    check(spec, &serde_json::json!({ "$ref": format!("#/components/schemas/{name}") }), value, "")
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

/// `oneOf` as JSON Schema means it: exactly one branch fits. A body that fits two is
/// one a generated client cannot decode, so it is an error however valid each branch is.
/// With a `discriminator`, the branch its property names must also be the one that fits.
fn check_one_of(
    spec: &Value,
    branches: &[Value],
    discriminator: &Value,
    value: &Value,
    at: &str,
) -> Result<(), String> {
    let results: Vec<Result<(), String>> = branches.iter().map(|b| check(spec, b, value, at)).collect();
    if !discriminator.is_null() {
        let chosen = discriminated_branch(discriminator, branches, value, at)?;
        if let Err(e) = &results[chosen] {
            return Err(format!(
                "{at}: the discriminator selects {}, which it does not fit: {e}",
                branch_name(branches, chosen)
            ));
        }
    }
    let fitting: Vec<String> =
        (0..branches.len()).filter(|&i| results[i].is_ok()).map(|i| branch_name(branches, i)).collect();
    match fitting.len() {
        1 => Ok(()),
        0 => {
            let why: Vec<String> = results
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.as_ref().err().map(|e| format!("{}: {e}", branch_name(branches, i))))
                .collect();
            Err(format!("{at}: fits none of the oneOf schemas ({})", why.join("; ")))
        }
        _ => Err(format!("{at}: fits {} oneOf schemas ({}); exactly one must fit", fitting.len(), fitting.join(", "))),
    }
}

/// The index of the branch a discriminator names for `value`: by `mapping`, else by the
/// schema whose name is the property's value (OpenAPI's implicit mapping).
fn discriminated_branch(discriminator: &Value, branches: &[Value], value: &Value, at: &str) -> Result<usize, String> {
    let property =
        discriminator["propertyName"].as_str().ok_or_else(|| format!("{at}: a discriminator without propertyName"))?;
    let tag = value[property]
        .as_str()
        .ok_or_else(|| format!("{at}/{property}: the discriminator is missing or not a string"))?;
    let target = match discriminator["mapping"][tag].as_str() {
        Some(reference) if reference.starts_with('#') => reference.to_string(),
        Some(name) => format!("#/components/schemas/{name}"),
        None => format!("#/components/schemas/{tag}"),
    };
    branches
        .iter()
        .position(|b| b["$ref"].as_str() == Some(target.as_str()))
        .ok_or_else(|| format!("{at}/{property}: {tag:?} names no oneOf branch"))
}

/// A branch as an error names it: its schema's name, else its position.
fn branch_name(branches: &[Value], i: usize) -> String {
    match branches[i]["$ref"].as_str() {
        Some(reference) => reference.rsplit('/').next().unwrap_or(reference).to_string(),
        None => format!("oneOf[{i}]"),
    }
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
    if let Some(branches) = schema["oneOf"].as_array() {
        check_one_of(spec, branches, &schema["discriminator"], value, at)?;
    }
    if let Some(options) = schema["anyOf"].as_array() {
        if !options.iter().any(|s| check(spec, s, value, at).is_ok()) {
            return Err(format!("{at}: fits none of the anyOf schemas"));
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
    #[test]
    fn concrete_paths_find_their_template_literal_first() {
        use super::template_of;
        assert_eq!(template_of("POST", "/directory/members/import").as_deref(), Some("/directory/members/import"));
        let read = template_of("GET", "/directory/members/mem_01hv5r9x7k2m3n4p5q6r7s8t9v");
        assert_eq!(read.as_deref(), Some("/directory/members/{member_id}"));
        assert_eq!(template_of("GET", "/directory/members/").as_deref(), None, "an empty segment is no id");
        assert_eq!(template_of("DELETE", "/intake/reports"), None);
    }

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

    /// A spec of two object shapes: `Named` (a required `name`) and `Any` (any object).
    fn two_shapes() -> Value {
        serde_json::json!({"components": {"schemas": {
            "Named": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
            "Any": {"type": "object"},
        }}})
    }

    fn one_of_named_or_any() -> Value {
        serde_json::json!({"oneOf": [{"$ref": "#/components/schemas/Named"}, {"$ref": "#/components/schemas/Any"}]})
    }

    #[test]
    fn a_value_fitting_two_one_of_branches_is_rejected_naming_both() {
        let error =
            check(&two_shapes(), &one_of_named_or_any(), &serde_json::json!({"name": "x"}), "/data").unwrap_err();
        assert!(error.contains("/data") && error.contains("Named, Any") && error.contains("exactly one"), "{error}");
    }

    #[test]
    fn a_value_fitting_exactly_one_one_of_branch_passes_and_none_fails() {
        check(&two_shapes(), &one_of_named_or_any(), &serde_json::json!({"other": 1}), "").unwrap();
        let error = check(&two_shapes(), &one_of_named_or_any(), &serde_json::json!("text"), "").unwrap_err();
        assert!(error.contains("fits none of the oneOf schemas"), "{error}");
    }

    /// `ping` and `case.*` shapes told apart by `type`, as `WebhookPayload` is.
    fn tagged() -> (Value, Value) {
        let spec = serde_json::json!({"components": {"schemas": {
            "Ping": {"type": "object", "required": ["type"], "properties": {"type": {"const": "ping"}}},
            "Case": {"type": "object", "required": ["type", "case"],
                     "properties": {"type": {"enum": ["case.a", "case.b"]}, "case": {"type": "string"}}},
            "Loose": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}},
        }}});
        let schema = serde_json::json!({
            "oneOf": [{"$ref": "#/components/schemas/Ping"}, {"$ref": "#/components/schemas/Case"},
                      {"$ref": "#/components/schemas/Loose"}],
            "discriminator": {"propertyName": "type", "mapping": {
                "ping": "#/components/schemas/Ping", "case.a": "Case", "case.b": "#/components/schemas/Case",
                "other": "#/components/schemas/Loose"}},
        });
        (spec, schema)
    }

    #[test]
    fn the_discriminator_picks_the_branch_and_the_value_must_fit_it() {
        let (spec, schema) = tagged();
        // `Loose` fits every tagged value too: with `case.a` or `ping`, two branches fit.
        let error = check(&spec, &schema, &serde_json::json!({"type": "case.a", "case": "c"}), "").unwrap_err();
        assert!(error.contains("Case, Loose"), "{error}");
        check(&spec, &schema, &serde_json::json!({"type": "other"}), "").unwrap();
        // Mapped to `Case` by name (no `#`), which the value does not fit; `Loose` alone would.
        let error = check(&spec, &schema, &serde_json::json!({"type": "case.a"}), "").unwrap_err();
        assert!(error.contains("the discriminator selects Case"), "{error}");
        let error = check(&spec, &schema, &serde_json::json!({"type": "case.z"}), "").unwrap_err();
        assert!(error.contains("\"case.z\" names no oneOf branch"), "{error}");
        let error = check(&spec, &schema, &serde_json::json!({"case": "c"}), "").unwrap_err();
        assert!(error.contains("/type: the discriminator is missing"), "{error}");
    }

    #[test]
    fn every_webhook_kind_fits_exactly_its_own_branch_of_webhook_payload() {
        let case = serde_json::json!({"type": "case.triaged", "timestamp": "2026-11-28T12:00:03.000Z", "data": {
            "case_reference": "case_0k3q9x7m2c4v8b1n5z6t0r9p2w", "priority": "P1", "organisation": "ngb",
            "region": "VR09", "status": "triaged", "first_contact_due": null, "escalation_level": null,
            "api_link": "/triage/cases/case_0k3q9x7m2c4v8b1n5z6t0r9p2w"}});
        validate_schema("WebhookPayload", &case).unwrap();
        let ping = serde_json::json!({"type": "webhook.ping", "timestamp": "2026-11-28T12:00:03.000Z",
            "data": {"subscription_id": "sub_0k3q9x7m2c4v8b1n5z6t0r9p2w"}});
        validate_schema("WebhookPayload", &ping).unwrap();
        // A ping's data under a case type, or a case's data under the ping type: neither.
        let mut crossed = ping.clone();
        crossed["type"] = "case.triaged".into();
        assert!(validate_schema("WebhookPayload", &crossed).is_err());
        let mut crossed = case.clone();
        crossed["type"] = "webhook.ping".into();
        assert!(validate_schema("WebhookPayload", &crossed).is_err());
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
