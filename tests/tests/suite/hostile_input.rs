//! The hostile-input corpus (issue 15, point 4): every entry of `tests/hostile/*.json`
//! is sent to the real `.wasm` components in the test host, on this run's store, and
//! must get a 4xx `application/problem+json` that `openapi.yaml` documents for its
//! operation, with the store byte for byte unchanged except for intake's abuse counters
//! (`limit/...` and their expiry list, the one documented exception, see
//! `tests/hostile/README.md`).
//!
//! The corpus covers every operation: the module fails if an operation of
//! `openapi.yaml` has no corpus entry, or if the corpus names one the spec lacks. Each
//! operation's `generic` kinds are expanded here (malformed JSON, deep nesting, 2 MB,
//! invalid UTF-8, content types, unknown fields, repeated and oversized headers,
//! traversal in ids); its `entries` are written out in the corpus. The module prints
//! how many hostile inputs it tried.

use crate::e2e::callers::{case_event, message_of, post_event, subscribe, Callers};
use crate::e2e::receiver::Receiver;
use crate::e2e::{file_mayor_report, staff, start, webhook_options, ADMIN_TOKEN, INTERNAL_SECRET};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use weerbaar_tests::TestApp;

/// Store keys a refused request may still change: intake counts a request against the
/// client's abuse limit before it reads the body, so refused requests count too.
const COUNTED: [&str; 2] = ["limit/", "idx/expiring/limit/"];

const BIG: usize = 2 * 1024 * 1024;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("hostile")
}

/// One operation's part of the corpus.
struct Operation {
    method: String,
    template: String,
    caller: String,
    if_match: Option<String>,
    base: Option<Value>,
    generic: Vec<String>,
    entries: Vec<Value>,
}

fn load_corpus() -> Vec<Operation> {
    let mut operations = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("tests/hostile")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in tests/hostile");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for op in doc["operations"].as_array().unwrap_or_else(|| panic!("{}: no operations", file.display())) {
            let name = op["op"].as_str().expect("op");
            let (method, template) = name.split_once(' ').expect("op is `METHOD /path`");
            let strings = |key: &str| -> Vec<String> {
                op[key]
                    .as_array()
                    .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default()
            };
            operations.push(Operation {
                method: method.to_string(),
                template: template.to_string(),
                caller: op["caller"].as_str().unwrap_or("none").to_string(),
                if_match: op["if_match"].as_str().map(String::from),
                base: op.get("base").cloned(),
                generic: strings("generic"),
                entries: op["entries"].as_array().cloned().unwrap_or_default(),
            });
        }
    }
    operations
}

/// Every operation `openapi.yaml` documents, as `METHOD /path`.
fn documented_operations() -> BTreeSet<String> {
    shared::contract::documented_operations("/").into_iter().map(|(m, p)| format!("{} {p}", m.to_uppercase())).collect()
}

/// The objects hostile requests name, and the callers.
struct World {
    app: TestApp,
    _receiver: Receiver,
    callers: Callers,
    ids: BTreeMap<&'static str, String>,
}

impl World {
    fn new() -> World {
        let app = start(webhook_options().variable("receipt_lookup_limit", "100000"));
        let receiver = Receiver::start();
        let callers = Callers::issue(&app);
        let (case_id, receipt) = file_mayor_report(&app);
        let member = staff(
            &app,
            ADMIN_TOKEN,
            "POST",
            "/directory/members",
            &[],
            Some(json!({
                "name": "Hostile-Test", "kind": "peer", "role": "mayor", "organisation": "ngb", "municipality": "Sneek",
                "regions": ["VR02"], "languages": ["nl"], "capacity": 2, "contact": {"email": "peer@example.org"}
            })),
        );
        assert_eq!(member.status, 201, "{}", member.body);
        let subscription = subscribe(&app, &callers.owner, json!({"url": receiver.url("/hook")}));
        assert_eq!(subscription.status, 201, "{}", subscription.body);
        let subscription = subscription.body["id"].as_str().unwrap().to_string();
        post_event(&app, &case_event(1, "ngb"));
        let message = message_of(&app, &subscription);
        // A token of its own for the DELETE rows to aim at, so a revocation that gets
        // through shows as a store change, not as callers losing their tokens.
        crate::e2e::callers::issue(
            &app,
            &callers.owner,
            json!({"organisation": "ngb", "role": "confidant", "holder": "Target"}),
        );
        let tokens = staff(&app, &callers.owner, "GET", "/triage/tokens", &[], None);
        let token = tokens.body["tokens"]
            .as_array()
            .and_then(|all| all.iter().find(|t| t["holder"] == "Target"))
            .and_then(|t| t["id"].as_str())
            .unwrap_or_else(|| panic!("the target token in {}", tokens.body))
            .to_string();
        let mut ids = BTreeMap::new();
        ids.insert("case_id", case_id);
        ids.insert("receipt", receipt);
        ids.insert("member_id", member.body["id"].as_str().unwrap().to_string());
        ids.insert("subscription_id", subscription);
        ids.insert("message_id", message);
        ids.insert("token_id", token);
        ids.insert("check_in_id", format!("chk_{}", "0".repeat(26)));
        World { app, _receiver: receiver, callers, ids }
    }

    fn token(&self, caller: &str) -> Option<String> {
        Some(match caller {
            "none" | "internal" => return None,
            "bootstrap" => ADMIN_TOKEN.to_string(),
            "confidant" => self.callers.confidant.clone(),
            "owner" => self.callers.owner.clone(),
            "other" => self.callers.other.clone(),
            "programme" => self.callers.programme.clone(),
            other => panic!("unknown caller {other}"),
        })
    }

    fn credential(&self, caller: &str) -> Vec<(String, Vec<u8>)> {
        match caller {
            "internal" => vec![("weerbaar-internal-secret".into(), INTERNAL_SECRET.into())],
            _ => self
                .token(caller)
                .map(|t| vec![("authorization".into(), format!("Bearer {t}").into_bytes())])
                .unwrap_or_default(),
        }
    }

    /// `text` with `{name}` placeholders filled, `$name` for caller tokens.
    fn fill(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.ids {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        for caller in ["confidant", "owner", "other", "programme"] {
            out = out.replace(&format!("${caller}"), &self.token(caller).unwrap());
        }
        out.replace("$bootstrap", ADMIN_TOKEN).replace("$internal", INTERNAL_SECRET)
    }

    /// The current ETag of the object an operation's `If-Match` names.
    fn etag(&self, of: &str) -> Result<String, String> {
        let ids = &self.ids;
        let r = match of {
            "case" => staff(
                &self.app,
                &self.callers.confidant,
                "GET",
                &format!("/triage/cases/{}", ids["case_id"]),
                &[],
                None,
            ),
            "member" => staff(
                &self.app,
                ADMIN_TOKEN,
                "GET",
                &format!("/directory/members/{}?reason=network_maintenance", ids["member_id"]),
                &[],
                None,
            ),
            "subscription" => staff(
                &self.app,
                &self.callers.owner,
                "GET",
                &format!("/notification/subscriptions/{}", ids["subscription_id"]),
                &[],
                None,
            ),
            other => panic!("if_match {other}?"),
        };
        r.header("etag").map(String::from).ok_or_else(|| format!("no ETag for the {of} ({}): {}", r.status, r.body))
    }
}

/// A corpus value with its macros expanded: `{"$repeat": s, "count": n}` is `s`
/// repeated, `{"$array": v, "count": n}` an array of `n` copies, `{"$nest": n}` n
/// nested arrays.
fn expand(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.contains_key("$repeat") => {
            Value::String(m["$repeat"].as_str().unwrap().repeat(m["count"].as_u64().unwrap() as usize))
        }
        Value::Object(m) if m.contains_key("$array") => {
            Value::Array(vec![expand(&m["$array"]); m["count"].as_u64().unwrap() as usize])
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), expand(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(expand).collect()),
        other => other.clone(),
    }
}

/// A body: `{"json": v}`, `{"text": s}`, `{"hex": h}`, `{"repeat": s, "count": n,
/// "before": a, "after": b}`, or `{"base": {pointer: v}}` (the operation's base body with
/// fields set; `null` at a pointer removes the field).
fn body_bytes(world: &World, spec: &Value, base: Option<&Value>) -> Vec<u8> {
    if let Some(v) = spec.get("json") {
        return world.fill(&serde_json::to_string(&expand(v)).unwrap()).into_bytes();
    }
    if let Some(t) = spec.get("text").and_then(Value::as_str) {
        return world.fill(t).into_bytes();
    }
    if let Some(h) = spec.get("hex").and_then(Value::as_str) {
        return (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect();
    }
    if let Some(s) = spec.get("repeat").and_then(Value::as_str) {
        let count = spec["count"].as_u64().unwrap() as usize;
        let mut out = spec["before"].as_str().unwrap_or("").to_string();
        out.push_str(&s.repeat(count));
        out.push_str(spec["after"].as_str().unwrap_or(""));
        return out.into_bytes();
    }
    if let Some(changes) = spec.get("base").and_then(Value::as_object) {
        let mut body = base.cloned().expect("a base body for {\"base\": ...}");
        for (pointer, value) in changes {
            set(&mut body, pointer, expand(value));
        }
        return world.fill(&serde_json::to_string(&body).unwrap()).into_bytes();
    }
    panic!("unknown body {spec}")
}

fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, last) = pointer.rsplit_once('/').expect("a JSON pointer");
    if !parent.is_empty() && doc.pointer(parent).is_none() {
        // A field the base lacks: made, as a list when the pointer indexes it.
        let made = if last.parse::<usize>().is_ok() { json!([value]) } else { json!({ last: value }) };
        return set(doc, parent, made);
    }
    let target = if parent.is_empty() { doc } else { doc.pointer_mut(parent).expect("pointer parent") };
    match target {
        Value::Object(m) if value.is_null() => {
            m.remove(last);
        }
        Value::Object(m) => {
            m.insert(last.to_string(), value);
        }
        Value::Array(a) => a[last.parse::<usize>().unwrap()] = value,
        other => panic!("cannot set {pointer} in {other}"),
    }
}

/// Request headers as sent, values as raw bytes.
type Headers = Vec<(String, Vec<u8>)>;
/// The statuses an attempt may get, if narrower than any documented 4xx.
type Expect = Option<Vec<u16>>;

/// One request to send.
struct Attempt {
    label: String,
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    expect: Option<Vec<u16>>,
}

/// The ids a path can carry that a traversal must not get through.
const HOSTILE_IDS: [&str; 9] = [
    "..",
    "..%2F..%2Ftriage%2Ftokens",
    "%2e%2e",
    "%2E%2E%2F%2E%2E%2Fintake%2Fhealth",
    "case_%00",
    "%00",
    "%E2%80%AEesac",
    "%FF%FE",
    "x%20OR%201%3D1",
];

fn generic_attempts(
    world: &World,
    op: &Operation,
    path: &str,
    auth: &[(String, Vec<u8>)],
    if_match: &[(String, Vec<u8>)],
) -> Vec<Attempt> {
    let mut out = Vec::new();
    let json_ct = || ("content-type".to_string(), b"application/json".to_vec());
    let with = |label: &str, headers: Vec<(String, Vec<u8>)>, body: Option<Vec<u8>>, expect: Option<Vec<u16>>| {
        Attempt { label: label.to_string(), method: op.method.clone(), path: path.to_string(), headers, body, expect }
    };
    let base_headers = |extra: Vec<(String, Vec<u8>)>| {
        let mut h = auth.to_vec();
        h.extend_from_slice(if_match);
        h.extend(extra);
        h
    };
    for kind in &op.generic {
        match kind.as_str() {
            "json" => {
                let base = op.base.clone().unwrap_or(json!({}));
                let base_text = world.fill(&serde_json::to_string(&base).unwrap());
                // The object a field goes into: the body, or its first element for a list body.
                let with_field = |name: &str, value: Value| {
                    let mut body = base.clone();
                    let target = match &mut body {
                        Value::Array(items) => &mut items[0],
                        other => other,
                    };
                    target.as_object_mut().expect("an object base").insert(name.into(), value);
                    body
                };
                let unknown = with_field("zz_unknown", json!(1));
                let big_string = with_field("zz_big", json!("a".repeat(BIG)));
                let duplicate = if base_text.starts_with('{') && base_text.len() > 2 {
                    // The first field again, with another value.
                    let first = base_text[1..].split(',').next().unwrap().trim_end_matches('}');
                    format!("{{{first},{}", &base_text[1..])
                } else {
                    format!("[{{\"a\":1,\"a\":2}}{}", &base_text[1..])
                };
                let mut nested = String::from("{\"a\":");
                nested.push_str(&"[".repeat(10_000));
                let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
                    ("malformed JSON", b"{\"a\": tru".to_vec(), Some(vec![400])),
                    ("trailing garbage", format!("{base_text} }}").into_bytes(), Some(vec![400])),
                    ("empty body", Vec::new(), Some(vec![400])),
                    ("JSON null", b"null".to_vec(), Some(vec![400, 422])),
                    ("deep nesting", "[".repeat(10_000).into_bytes(), Some(vec![400])),
                    ("deep nesting in a field", nested.into_bytes(), Some(vec![400])),
                    ("2 MB array", format!("[{}1]", "1,".repeat(BIG / 2)).into_bytes(), Some(vec![413])),
                    (
                        "2 MB string field",
                        world.fill(&serde_json::to_string(&big_string).unwrap()).into_bytes(),
                        Some(vec![413]),
                    ),
                    ("2 MB of whitespace", format!("{}{base_text}", " ".repeat(BIG)).into_bytes(), Some(vec![413])),
                    ("invalid UTF-8", b"{\"a\":\"\xff\xfe\xc0\xaf\"}".to_vec(), Some(vec![400])),
                    ("UTF-16 body", base_text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect(), Some(vec![400])),
                    ("non-object body", format!("[{base_text}]").into_bytes(), Some(vec![422])),
                    (
                        "unknown field",
                        world.fill(&serde_json::to_string(&unknown).unwrap()).into_bytes(),
                        Some(vec![422]),
                    ),
                    ("duplicate field", duplicate.into_bytes(), Some(vec![400, 422])),
                ];
                for (label, body, expect) in cases {
                    out.push(with(label, base_headers(vec![json_ct()]), Some(body), expect));
                }
                for (label, ct) in [
                    ("wrong content type", Some("text/plain")),
                    ("missing content type", None),
                    ("content type with a tab and obs-text", Some("application/json\t\u{202e}")),
                    ("content type that only starts right", Some("application/jsonx")),
                    ("multipart content type", Some("multipart/form-data; boundary=x")),
                ] {
                    let extra =
                        ct.map(|c| vec![("content-type".to_string(), c.as_bytes().to_vec())]).unwrap_or_default();
                    out.push(with(label, base_headers(extra), Some(base_text.clone().into_bytes()), Some(vec![415])));
                }
                // Two content types: which one holds is ambiguous, so neither.
                let mut two = base_headers(vec![json_ct()]);
                two.push(("content-type".into(), b"text/plain".to_vec()));
                out.push(with(
                    "two content types with an unknown field",
                    two,
                    Some(world.fill(&serde_json::to_string(&unknown).unwrap()).into_bytes()),
                    None,
                ));
                out.push(with(
                    "64 KB content type",
                    base_headers(vec![(
                        "content-type".into(),
                        format!("application/json; x={}", "a".repeat(65536)).into_bytes(),
                    )]),
                    Some(world.fill(&serde_json::to_string(&unknown).unwrap()).into_bytes()),
                    None,
                ));
            }
            "auth" => {
                let body = op.base.as_ref().map(|b| world.fill(&serde_json::to_string(b).unwrap()).into_bytes());
                let ct = if body.is_some() { vec![json_ct()] } else { vec![] };
                let h = |mut extra: Vec<(String, Vec<u8>)>| {
                    extra.extend(ct.clone());
                    extra.extend_from_slice(if_match);
                    extra
                };
                let bearer = |t: &str| ("authorization".to_string(), format!("Bearer {t}").into_bytes());
                let secret = |s: &[u8]| ("weerbaar-internal-secret".to_string(), s.to_vec());
                let mut variants: Vec<(&str, Headers)> = vec![
                    ("no credential", h(vec![])),
                    ("64 KB bearer token", h(vec![bearer(&"A".repeat(65536))])),
                    (
                        "bearer token with a bidi override",
                        h(vec![("authorization".into(), "Bearer tok_\u{202e}abc".as_bytes().to_vec())]),
                    ),
                    ("bearer token with a tab", h(vec![("authorization".into(), b"Bearer wbr_\tx".to_vec())])),
                    ("bearer token of invalid UTF-8", h(vec![("authorization".into(), b"Bearer \xff\xfe".to_vec())])),
                    ("empty bearer", h(vec![("authorization".into(), b"Bearer ".to_vec())])),
                    ("basic credentials", h(vec![("authorization".into(), b"Basic YWRtaW46YWRtaW4=".to_vec())])),
                    ("64 KB internal secret", h(vec![secret("s".repeat(65536).as_bytes())])),
                    ("internal secret with a tab inside", h(vec![secret(format!("{INTERNAL_SECRET}\tx").as_bytes())])),
                ];
                // Repeated credentials. Spin's SDK gives a component the last value of a
                // repeated header, so the right credential followed by a wrong one is a
                // wrong one (and a right one last would be a right one: not hostile).
                if let Some((name, value)) = auth.first() {
                    let wrong = if name == "authorization" { bearer("wbr_wrong") } else { secret(b"wrong") };
                    variants.push((
                        "the credential, then a wrong one",
                        h(vec![(name.clone(), value.clone()), wrong.clone()]),
                    ));
                    variants.push(("a wrong one twice", h(vec![wrong.clone(), wrong])));
                }
                for (label, headers) in variants {
                    out.push(with(label, headers, body.clone(), Some(vec![401])));
                }
            }
            "ids" => {
                for (param, _) in world.ids.iter().filter(|(k, _)| op.template.contains(&format!("{{{k}}}"))) {
                    let mut ids: Vec<String> = HOSTILE_IDS.iter().map(|s| s.to_string()).collect();
                    ids.push(format!("{}x", world.ids[param]));
                    ids.push("a".repeat(10_000));
                    ids.push(world.ids[param].to_uppercase());
                    for id in ids {
                        let p = op.template.replace(&format!("{{{param}}}"), &id);
                        let p = world.fill(&p);
                        let body =
                            op.base.as_ref().map(|b| world.fill(&serde_json::to_string(b).unwrap()).into_bytes());
                        let ct = if body.is_some() { vec![json_ct()] } else { vec![] };
                        let label = format!(
                            "{param} = {}",
                            if id.len() > 40 { format!("{}… ({} bytes)", &id[..12], id.len()) } else { id.clone() }
                        );
                        out.push(Attempt {
                            label,
                            method: op.method.clone(),
                            path: p,
                            headers: base_headers(ct),
                            body,
                            expect: Some(vec![400, 404]),
                        });
                    }
                }
            }
            "method" => {
                // The only input of an endpoint without parameters: a method it does not serve, with a 2 MB body.
                for m in ["DELETE", "PUT", "PATCH"] {
                    out.push(Attempt {
                        label: format!("{m} with a 2 MB body"),
                        method: m.to_string(),
                        path: path.to_string(),
                        headers: base_headers(vec![json_ct()]),
                        body: Some(format!("[{}1]", "1,".repeat(BIG / 2)).into_bytes()),
                        expect: Some(vec![405]),
                    });
                }
            }
            other => panic!("{} {}: unknown generic kind {other}", op.method, op.template),
        }
    }
    out
}

fn entry_attempt(
    world: &World,
    op: &Operation,
    path: &str,
    auth: &[(String, Vec<u8>)],
    if_match: &[(String, Vec<u8>)],
    e: &Value,
) -> Attempt {
    let label = e["name"].as_str().expect("every entry has a name").to_string();
    let caller = e["caller"].as_str();
    let mut headers = match caller {
        Some(c) => world.credential(c),
        None => auth.to_vec(),
    };
    if e["if_match"].as_bool() != Some(false) {
        headers.extend_from_slice(if_match);
    }
    let body = e.get("body").map(|b| body_bytes(world, b, op.base.as_ref()));
    match e.get("content_type") {
        Some(Value::Null) => {}
        Some(v) => headers.push(("content-type".into(), v.as_str().unwrap().as_bytes().to_vec())),
        None if body.is_some() => headers.push(("content-type".into(), b"application/json".to_vec())),
        None => {}
    }
    for h in e["headers"].as_array().cloned().unwrap_or_default() {
        let name = h[0].as_str().unwrap().to_string();
        let value = match expand(&h[1]) {
            Value::String(s) => world.fill(&s).into_bytes(),
            other => panic!("header value {other}"),
        };
        headers.push((name, value));
    }
    let path = match e.get("path").and_then(Value::as_str) {
        Some(p) => world.fill(p),
        None => path.to_string(),
    };
    let path = match e.get("query").and_then(Value::as_str) {
        Some(q) => format!("{path}?{}", world.fill(q)),
        None => path,
    };
    let expect = e.get("expect").map(|v| v.as_array().unwrap().iter().map(|s| s.as_u64().unwrap() as u16).collect());
    Attempt { label, method: e["method"].as_str().unwrap_or(&op.method).to_string(), path, headers, body, expect }
}

struct Answer {
    status: u16,
    content_type: String,
    allow: Option<String>,
    raw: Vec<u8>,
}

/// Sends an attempt over a plain HTTP/1.1 connection, byte for byte as written: HTTP
/// clients refuse to send some of these headers (obs-text, repeated credentials), a
/// hostile client does not.
fn send(app: &TestApp, a: &Attempt) -> Answer {
    use std::io::{Read, Write};
    let addr = app.url().trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).expect("the host listens");
    let mut request = format!("{} {} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n", a.method, a.path).into_bytes();
    for (k, v) in &a.headers {
        request.extend_from_slice(k.as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(v);
        request.extend_from_slice(b"\r\n");
    }
    let body = a.body.clone().unwrap_or_default();
    if a.body.is_some() {
        request.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(&body);
    // The host may answer (e.g. 413) before it has read the whole body.
    let _ = stream.write_all(&request);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{} {}: no HTTP answer: {:?}", a.method, a.label, String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut payload = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 =
        lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        payload = dechunk(&payload);
    }
    Answer { status, content_type: header("content-type").unwrap_or_default(), allow: header("allow"), raw: payload }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// The store without the counters a refused request may change.
fn snapshot(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    app.kv_dump("default").into_iter().filter(|(k, _)| !COUNTED.iter().any(|p| k.starts_with(p))).collect()
}

/// What is wrong with an answer, if anything.
fn judge(op: &Operation, a: &Attempt, r: &Answer) -> Option<String> {
    if !(400..500).contains(&r.status) {
        return Some(format!("status {} (want a 4xx)", r.status));
    }
    if let Some(expect) = &a.expect {
        if !expect.contains(&r.status) {
            return Some(format!("status {} (want one of {expect:?})", r.status));
        }
    }
    let form =
        a.headers.iter().any(|(k, v)| k == "content-type" && v.starts_with(b"application/x-www-form-urlencoded"));
    if form && r.content_type.starts_with("text/html") {
        // A browser's form post is answered with a page (the form again, with the
        // problem in it), as openapi documents.
        return shared::contract::validate_response_as(&op.method, &op.template, r.status, "text/html", &r.raw).err();
    }
    if !r.content_type.starts_with("application/problem+json") {
        return Some(format!("content type {:?} (want application/problem+json)", r.content_type));
    }
    if a.method != op.method && r.status == 405 {
        // A method the path does not serve: a problem naming the methods it does.
        let allow = r.allow.clone().unwrap_or_default();
        if !allow.split(',').any(|m| m.trim() == op.method) {
            return Some(format!("405 with Allow {allow:?} (want it to name {})", op.method));
        }
        let body: Value = serde_json::from_slice(&r.raw).unwrap_or(Value::Null);
        return shared::contract::validate_schema("Problem", &body).err();
    }
    shared::contract::validate_response(&op.method, &op.template, r.status, &r.raw).err()
}

#[test]
fn every_hostile_input_is_refused_with_a_problem_and_writes_nothing() {
    let corpus = load_corpus();
    let documented = documented_operations();
    let covered: BTreeSet<String> = corpus.iter().map(|o| format!("{} {}", o.method, o.template)).collect();
    let missing: Vec<_> = documented.difference(&covered).collect();
    let unknown: Vec<_> = covered.difference(&documented).collect();
    assert!(missing.is_empty(), "openapi.yaml operations without a corpus entry: {missing:?}");
    assert!(unknown.is_empty(), "corpus operations openapi.yaml lacks: {unknown:?}");
    for op in &corpus {
        assert!(!op.entries.is_empty() || !op.generic.is_empty(), "{} {} has no hostile input", op.method, op.template);
    }

    let world = World::new();
    let mut tried = 0usize;
    let mut failures = Vec::new();
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for op in &corpus {
        let auth = world.credential(&op.caller);
        let if_match = match op.if_match.as_deref().map(|of| world.etag(of)).transpose() {
            Ok(tag) => tag.map(|t| vec![("if-match".to_string(), t.into_bytes())]).unwrap_or_default(),
            Err(why) => {
                failures.push(format!("{} {}: {why} (an earlier input got through?)", op.method, op.template));
                continue;
            }
        };
        let path = world.fill(&op.template);
        let mut attempts = generic_attempts(&world, op, &path, &auth, &if_match);
        attempts.extend(op.entries.iter().map(|e| entry_attempt(&world, op, &path, &auth, &if_match, e)));
        for a in attempts {
            let before = snapshot(&world.app);
            let answer = send(&world.app, &a);
            let after = snapshot(&world.app);
            tried += 1;
            *by_status.entry(answer.status).or_default() += 1;
            let mut wrong = judge(op, &a, &answer);
            if before != after {
                let b: BTreeMap<_, _> = before.into_iter().collect();
                let changed: Vec<_> = after
                    .iter()
                    .filter(|(k, v)| b.get(k) != Some(v))
                    .map(|(k, _)| k.clone())
                    .chain(b.keys().filter(|k| !after.iter().any(|(a, _)| a == *k)).cloned())
                    .collect();
                wrong = Some(format!(
                    "{} and the store changed: {changed:?}",
                    wrong.unwrap_or_else(|| format!("{}", answer.status))
                ));
            }
            if let Some(why) = wrong {
                let body = String::from_utf8_lossy(&answer.raw[..answer.raw.len().min(300)]).into_owned();
                failures.push(format!("{} {} [{}] {}: {why}\n    {body}", op.method, op.template, a.method, a.label));
            }
        }
    }
    println!(
        "hostile inputs tried: {tried} over {} operations ({} store), statuses {by_status:?}",
        corpus.len(),
        if crate::e2e::on_redis() { "redis" } else { "sqlite" }
    );
    assert!(
        failures.is_empty(),
        "{} of {tried} hostile inputs were not refused cleanly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_spec_reader_finds_every_operation() {
    // The coverage check above is only as good as the list it compares with.
    let ops = documented_operations();
    assert!(ops.contains("GET /intake/health") && ops.contains("PATCH /notification/subscriptions/{subscription_id}"));
    assert!(ops.contains("DELETE /triage/tokens/{token_id}") && ops.contains("GET /intake/"));
}
