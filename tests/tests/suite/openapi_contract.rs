//! `openapi.yaml` is a first-class artifact: it covers every route `spin.toml` serves and
//! nothing else, it is valid OpenAPI 3.1 as far as tools rely on it (every `$ref`
//! resolves), and every operation documents how it succeeds and how it fails.
//!
//! Each component also holds its own router to the spec natively
//! (`shared::contract::assert_routes_documented`); this test holds the manifest to it.

use serde_json::Value;
use std::collections::BTreeSet;
use weerbaar_tests::manifest::{Manifest, TriggerRoute};

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn spec() -> &'static Value {
    shared::contract::openapi()
}

fn manifest() -> Manifest {
    Manifest::load(&weerbaar_tests::project_manifest()).expect("spin.toml parses")
}

/// Every operation as (METHOD, path, operation).
fn operations() -> Vec<(String, String, &'static Value)> {
    let mut ops = Vec::new();
    for (path, item) in spec()["paths"].as_object().expect("openapi.yaml has paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push((method.to_uppercase(), path.clone(), op));
            }
        }
    }
    ops
}

/// Whether a spec path falls under a spin.toml route (`/x/...` wildcard or exact).
fn under(route: &str, path: &str) -> bool {
    match route.strip_suffix("/...") {
        Some(prefix) => path.starts_with(&format!("{prefix}/")) || path == prefix,
        None => route == path,
    }
}

fn public_routes(m: &Manifest) -> Vec<(String, String)> {
    m.triggers
        .iter()
        .filter_map(|t| match &t.route {
            TriggerRoute::Public(r) => Some((t.component.clone(), r.clone())),
            TriggerRoute::Private => None,
        })
        .collect()
}

/// Follows a local `$ref` (`#/a/b`) to its target; `None` if it does not resolve.
fn resolve_pointer<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

/// An object, with any `$ref` chain followed.
fn deref(node: &Value) -> &Value {
    let mut node = node;
    for _ in 0..16 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => node = resolve_pointer(spec(), r).unwrap_or(&Value::Null),
            None => return node,
        }
    }
    panic!("a $ref cycle at {node}")
}

fn collect_refs(node: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match node {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    if let Some(r) = v.as_str() {
                        out.push((at.to_string(), r.to_string()));
                    }
                } else {
                    collect_refs(v, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_spec_is_openapi_3_1_with_a_title_and_version() {
    let version = spec()["openapi"].as_str().expect("an `openapi` version field");
    assert!(version.starts_with("3.1."), "OpenAPI 3.1 expected, found {version}");
    assert!(spec()["info"]["title"].is_string() && spec()["info"]["version"].is_string());
}

#[test]
fn every_spin_toml_route_has_operations_in_the_spec() {
    let ops = operations();
    let routes = public_routes(&manifest());
    assert!(!routes.is_empty());
    for (component, route) in routes {
        let documented: Vec<_> = ops.iter().filter(|(_, p, _)| under(&route, p)).map(|(m, p, _)| (m, p)).collect();
        assert!(!documented.is_empty(), "{component}'s route {route} has no operation in openapi.yaml");
        // Each component documents its health route: the probes and guides rely on it.
        let health = format!("/{component}/health");
        assert!(documented.iter().any(|(m, p)| m.as_str() == "GET" && **p == health), "GET {health} is not documented");
    }
}

#[test]
fn every_operation_of_the_spec_belongs_to_a_spin_toml_route() {
    let routes = public_routes(&manifest());
    let stray: Vec<String> = operations()
        .iter()
        .filter(|(_, p, _)| !routes.iter().any(|(_, r)| under(r, p)))
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert!(stray.is_empty(), "operations no component of spin.toml serves: {stray:?}");
}

#[test]
fn every_ref_resolves_within_the_document() {
    let mut refs = Vec::new();
    collect_refs(spec(), "#", &mut refs);
    assert!(!refs.is_empty());
    let broken: Vec<String> =
        refs.iter().filter(|(_, r)| resolve_pointer(spec(), r).is_none()).map(|(at, r)| format!("{at}: {r}")).collect();
    assert!(broken.is_empty(), "unresolvable $ref (only local `#/...` refs are used): {broken:?}");
}

/// Health routes answer their failure in the same `Health` shape (503, `store:
/// unavailable`), so a probe or an operator reads one document either way; every other
/// operation fails with `application/problem+json`.
fn is_health(path: &str) -> bool {
    path.ends_with("/health")
}

#[test]
fn every_operation_documents_a_success_and_a_problem_response() {
    let mut missing = Vec::new();
    for (method, path, op) in operations() {
        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{method} {path}: no responses"));
        let success = responses.keys().any(|status| status.starts_with('2'));
        let failures: Vec<&Value> =
            responses.iter().filter(|(status, _)| !status.starts_with('2')).map(|(_, r)| deref(r)).collect();
        let problem = failures.iter().any(|r| r["content"].get("application/problem+json").is_some());
        if !success {
            missing.push(format!("{method} {path}: no 2xx response"));
        }
        if is_health(&path) {
            let unhealthy = responses.get("503").map(deref);
            if unhealthy.and_then(|r| r["content"].get("application/json")).is_none() {
                missing.push(format!("{method} {path}: no 503 answer for a store that does not answer"));
            }
        } else if !problem {
            missing.push(format!("{method} {path}: no application/problem+json response"));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn operation_ids_are_unique_and_path_parameters_are_declared() {
    let mut ids = BTreeSet::new();
    let mut problems = Vec::new();
    for (method, path, op) in operations() {
        match op["operationId"].as_str() {
            Some(id) if !ids.insert(id.to_string()) => problems.push(format!("{method} {path}: duplicate id {id}")),
            Some(_) => {}
            None => problems.push(format!("{method} {path}: no operationId")),
        }
        let item = &spec()["paths"][path.as_str()];
        let declared: BTreeSet<String> = item["parameters"]
            .as_array()
            .into_iter()
            .chain(op["parameters"].as_array())
            .flatten()
            .map(deref)
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect();
        let in_path: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_string)
            .collect();
        if declared != in_path {
            problems.push(format!("{method} {path}: path parameters {in_path:?}, declared {declared:?}"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Every `oneOf` and `anyOf` of the spec, as (JSON pointer, the schema holding it).
fn unions(node: &Value, at: &str, out: &mut Vec<(String, &'static str, Value)>) {
    match node {
        Value::Object(map) => {
            for key in ["oneOf", "anyOf"] {
                if map.contains_key(key) {
                    out.push((at.to_string(), key, node.clone()));
                }
            }
            for (k, v) in map {
                unions(v, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                unions(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The values a branch pins its `type` property to (`const` or `enum`), if it does.
fn pinned_types(branch: &Value) -> Option<Vec<String>> {
    let branch = deref(branch);
    let required = branch["required"].as_array()?.iter().any(|r| r == "type");
    let property = deref(&branch["properties"]["type"]);
    let values = match (property.get("const"), property["enum"].as_array()) {
        (Some(c), _) => vec![c.as_str()?.to_string()],
        (None, Some(e)) => e.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>()?,
        (None, None) => return None,
    };
    (required && !values.is_empty()).then_some(values)
}

/// A body that fits two branches of a `oneOf` is one a generated client cannot decode.
/// So every `oneOf` is a tagged union: a `discriminator` on `type`, and branches (by
/// `$ref`, as OpenAPI discriminators need) that each require `type` and pin it to values
/// no other branch allows, with the `mapping` sending each value to its own branch.
/// `anyOf` is kept for "this or null" only, where at most one branch can fit.
#[test]
fn every_union_in_the_spec_is_unambiguous() {
    let mut found = Vec::new();
    unions(spec(), "#", &mut found);
    let mut problems = Vec::new();
    let mut one_ofs = 0;
    for (at, key, schema) in &found {
        let branches = schema[*key].as_array().cloned().unwrap_or_default();
        if *key == "anyOf" {
            let nulls = branches.iter().filter(|b| b["type"] == "null").count();
            let nullable_other = branches.iter().any(|b| {
                let t = &deref(b)["type"];
                t.is_null() || t.as_array().is_some_and(|ts| ts.iter().any(|x| x == "null"))
            });
            if branches.len() != 2 || nulls != 1 || nullable_other {
                problems.push(format!("{at}: anyOf is only for `X or null` (use a discriminated oneOf)"));
            }
            continue;
        }
        one_ofs += 1;
        if schema["discriminator"]["propertyName"] != "type" {
            problems.push(format!("{at}: oneOf without a discriminator on `type`"));
        }
        let mut owner: std::collections::BTreeMap<String, String> = Default::default();
        for (i, branch) in branches.iter().enumerate() {
            let Some(reference) = branch["$ref"].as_str() else {
                problems.push(format!("{at}/oneOf/{i}: a discriminated branch must be a $ref"));
                continue;
            };
            let Some(values) = pinned_types(branch) else {
                problems.push(format!("{at}: {reference} does not require `type` and pin it with const or enum"));
                continue;
            };
            for value in values {
                if let Some(other) = owner.insert(value.clone(), reference.to_string()) {
                    problems.push(format!("{at}: `type` {value:?} is allowed by both {other} and {reference}"));
                }
                // Without a mapping entry, OpenAPI looks for a schema named like the value.
                let mapped = schema["discriminator"]["mapping"][&value].as_str();
                let implicit = format!("#/components/schemas/{value}");
                if mapped.unwrap_or(&implicit) != reference {
                    problems.push(format!("{at}: the discriminator sends {value:?} elsewhere than {reference}"));
                }
            }
        }
        if let Some(mapping) = schema["discriminator"]["mapping"].as_object() {
            for value in mapping.keys().filter(|v| !owner.contains_key(*v)) {
                problems.push(format!("{at}: mapping names {value:?}, which no branch allows"));
            }
        }
    }
    assert!(one_ofs > 0, "the walk finds the oneOf of WebhookPayload");
    assert!(problems.is_empty(), "ambiguous unions in openapi.yaml: {problems:#?}");
}

/// Every case event type is in the spec's `EventType` enum and in the event list of
/// `docs/notification.md`; the types added for issue 11 have payload schemas of their
/// own that pin `type` with an `enum`.
#[test]
fn every_event_type_is_documented_in_the_spec_and_the_notification_guide() {
    let documented = spec()["components"]["schemas"]["EventType"]["enum"].as_array().expect("an EventType enum");
    let guide = std::fs::read_to_string(weerbaar_tests::project_manifest().with_file_name("docs/notification.md"))
        .expect("docs/notification.md");
    let list = guide.split("### Event types").nth(1).expect("an event list in docs/notification.md");
    for event_type in shared::events::EventType::ALL {
        let name = event_type.as_str();
        assert!(documented.iter().any(|v| v == name), "{name} missing from EventType in openapi.yaml");
        assert!(list.contains(&format!("| `{name}` |")), "{name} missing from the event list of docs/notification.md");
    }
    assert_eq!(documented.len(), shared::events::EventType::ALL.len(), "the spec lists an event type we never send");
    for (schema, name) in
        [("CaseReporterMessageWebhook", "case.reporter_message"), ("CaseHandedOverWebhook", "case.handed_over")]
    {
        let pinned = &spec()["components"]["schemas"][schema]["properties"]["type"]["enum"];
        assert_eq!(pinned, &serde_json::json!([name]), "{schema} pins its type");
    }
}
