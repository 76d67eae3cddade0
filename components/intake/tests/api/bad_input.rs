//! Bad input gets a clear problem naming the field, the right 4xx, and writes nothing.

use crate::common::*;
use serde_json::{json, Value};

enum Body {
    /// The valid report with one change.
    Changed(fn(&mut Value)),
    /// Raw bytes.
    Raw(&'static [u8]),
}

struct Case {
    name: &'static str,
    path: &'static str,
    content_type: &'static str,
    extra_header: Option<(&'static str, &'static str)>,
    body: Body,
    status: u16,
    field: &'static str,
}

const JSON: &str = "application/json";
const REPORTS: &str = "/intake/reports";

fn case(name: &'static str, body: Body, status: u16, field: &'static str) -> Case {
    Case { name, path: REPORTS, content_type: JSON, extra_header: None, body, status, field }
}

fn remove(v: &mut Value, field: &str) {
    v.as_object_mut().unwrap().remove(field);
}

fn cases() -> Vec<Case> {
    use Body::*;
    vec![
        case("unknown role", Changed(|v| v["role"] = json!("king")), 422, "/role"),
        case("role of wrong type", Changed(|v| v["role"] = json!(3)), 422, "/role"),
        case("missing role", Changed(|v| remove(v, "role")), 422, "/role"),
        case("unknown relation", Changed(|v| v["relation"] = json!("neighbour")), 422, "/relation"),
        case("unknown region", Changed(|v| v["region"] = json!("VR26")), 422, "/region"),
        case("region in lower case", Changed(|v| v["region"] = json!("vr01")), 422, "/region"),
        case("missing region", Changed(|v| remove(v, "region")), 422, "/region"),
        case("municipality too short", Changed(|v| v["municipality"] = json!("X")), 422, "/municipality"),
        case("municipality too long", Changed(|v| v["municipality"] = json!("x".repeat(101))), 422, "/municipality"),
        case("municipality with a newline", Changed(|v| v["municipality"] = json!("Den\nHaag")), 422, "/municipality"),
        case("unknown request kind", Changed(|v| v["request_kind"] = json!("complaint")), 422, "/request_kind"),
        case("incident without incident kinds", Changed(|v| v["incident_kinds"] = json!([])), 422, "/incident_kinds"),
        case(
            "unknown incident kind",
            Changed(|v| v["incident_kinds"] = json!(["stalking", "arson"])),
            422,
            "/incident_kinds/1",
        ),
        case(
            "repeated incident kind",
            Changed(|v| v["incident_kinds"] = json!(["stalking", "stalking"])),
            422,
            "/incident_kinds/1",
        ),
        case("incident kinds not a list", Changed(|v| v["incident_kinds"] = json!("stalking")), 422, "/incident_kinds"),
        case("immediate danger missing", Changed(|v| remove(v, "immediate_danger")), 422, "/immediate_danger"),
        case("immediate danger as text", Changed(|v| v["immediate_danger"] = json!("yes")), 422, "/immediate_danger"),
        case("unknown recurrence", Changed(|v| v["recurrence"] = json!("sometimes")), 422, "/recurrence"),
        case("occurred_at not a date", Changed(|v| v["occurred_at"] = json!("last night")), 422, "/occurred_at"),
        case(
            "occurred_at in the future",
            Changed(|v| v["occurred_at"] = json!("2027-01-01T00:00:00Z")),
            422,
            "/occurred_at",
        ),
        case(
            "unknown support need",
            Changed(|v| v["support_requested"] = json!(["money"])),
            422,
            "/support_requested/0",
        ),
        case(
            "repeated support need",
            Changed(|v| v["support_requested"] = json!(["peer", "legal", "peer"])),
            422,
            "/support_requested/2",
        ),
        case("empty description", Changed(|v| v["description"] = json!("   ")), 422, "/description"),
        case("description too long", Changed(|v| v["description"] = json!("a".repeat(20001))), 422, "/description"),
        case("missing description", Changed(|v| remove(v, "description")), 422, "/description"),
        case("empty name", Changed(|v| v["name"] = json!("")), 422, "/name"),
        case(
            "unknown contact channel",
            Changed(|v| v["contact"]["channel"] = json!("pigeon")),
            422,
            "/contact/channel",
        ),
        case("phone channel without phone", Changed(|v| remove(&mut v["contact"], "phone")), 422, "/contact/phone"),
        case("malformed phone", Changed(|v| v["contact"]["phone"] = json!("call me maybe")), 422, "/contact/phone"),
        case(
            "email channel with malformed email",
            Changed(|v| {
                v["contact"]["channel"] = json!("email");
                v["contact"]["email"] = json!("nope");
            }),
            422,
            "/contact/email",
        ),
        case("unknown field in contact", Changed(|v| v["contact"]["fax"] = json!("123")), 422, "/contact/fax"),
        case("unknown top-level field", Changed(|v| v["priority"] = json!("P1")), 422, "/priority"),
        case("unknown language", Changed(|v| v["language"] = json!("de")), 422, "/language"),
        case("missing contact", Changed(|v| remove(v, "contact")), 422, "/contact"),
        case("malformed JSON", Raw(br#"{"role": "mayor","#), 400, ""),
        case("trailing garbage", Raw(br#"{} {}"#), 400, ""),
        case("not an object", Raw(b"[1,2,3]"), 422, ""),
        case("invalid UTF-8", Raw(b"{\"role\": \"\xc3\x28\"}"), 400, ""),
        case("empty body", Raw(b""), 400, ""),
        Case { content_type: "text/plain", ..case("text/plain body", Changed(|_| {}), 415, "content-type") },
        Case {
            content_type: "application/xml",
            ..case("xml body", Raw(b"<report><role>mayor</role></report>"), 415, "content-type")
        },
        Case {
            extra_header: Some(("idempotency-key", "")),
            ..case("empty idempotency key", Changed(|_| {}), 400, "idempotency-key")
        },
        Case {
            path: "/intake/reports/status",
            ..case("receipt code too short", Raw(br#"{"receipt_code":"1234"}"#), 422, "/receipt_code")
        },
        Case {
            path: "/intake/reports/status",
            ..case("receipt code with letters", Raw(br#"{"receipt_code":"1234-5678-abcd-0000"}"#), 422, "/receipt_code")
        },
        Case { path: "/intake/reports/status", ..case("receipt code missing", Raw(br#"{}"#), 422, "/receipt_code") },
        Case {
            path: "/intake/reports/status",
            ..case("receipt in unknown field", Raw(br#"{"receipt_code":"1234567812345678","code":"1"}"#), 422, "/code")
        },
        Case {
            path: "/intake/reports/messages",
            ..case("message without text", Raw(br#"{"receipt_code":"1234567812345678"}"#), 422, "/text")
        },
        Case {
            path: "/intake/reports/messages",
            ..case("message text empty", Raw(br#"{"receipt_code":"1234567812345678","text":" "}"#), 422, "/text")
        },
        Case {
            path: "/intake/reports/messages",
            ..case(
                "message danger as text",
                Raw(br#"{"receipt_code":"1234567812345678","text":"x","immediate_danger":"yes"}"#),
                422,
                "/immediate_danger",
            )
        },
        Case {
            path: "/intake/reports/messages",
            ..case(
                "message with unknown incident kind",
                Raw(br#"{"receipt_code":"1234567812345678","text":"x","incident_kinds":["stalking","arson"]}"#),
                422,
                "/incident_kinds/1",
            )
        },
        Case {
            path: "/intake/reports/messages",
            ..case(
                "message with repeated incident kind",
                Raw(br#"{"receipt_code":"1234567812345678","text":"x","incident_kinds":["stalking","stalking"]}"#),
                422,
                "/incident_kinds/1",
            )
        },
        Case {
            path: "/intake/reports/messages",
            ..case(
                "message with unknown field",
                Raw(br#"{"receipt_code":"1234567812345678","text":"x","priority":"P1"}"#),
                422,
                "/priority",
            )
        },
    ]
}

#[test]
fn every_bad_input_is_a_4xx_problem_naming_the_field_and_writes_nothing() {
    let table = cases();
    assert!(table.len() >= 30);
    for case in table {
        let h = Harness::new();
        let before = h.dump();
        let body = match case.body {
            Body::Changed(change) => {
                let mut v = report();
                change(&mut v);
                serde_json::to_vec(&v).unwrap()
            }
            Body::Raw(bytes) => bytes.to_vec(),
        };
        let mut headers = vec![("content-type", case.content_type)];
        headers.extend(case.extra_header);
        let reply = h.request("POST", case.path, &headers, body);
        assert_eq!(reply.status, case.status, "{}: {}", case.name, reply.body);
        assert_eq!(reply.headers["content-type"], "application/problem+json", "{}", case.name);
        assert_eq!(reply.body["field"], case.field, "{}: {}", case.name, reply.body);
        assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", case.name);
        assert!(reply.body["correlation_id"].is_string(), "{}", case.name);
        for needle in PERSONAL {
            assert!(!reply.body.to_string().contains(needle), "{}: echoes personal data", case.name);
        }
        assert_eq!(h.dump(), before, "{}: the store changed", case.name);
    }
}

#[test]
fn an_oversized_body_is_413_and_writes_nothing() {
    let h = Harness::new();
    let mut v = report();
    v["description"] = json!("a".repeat(70 * 1024));
    let reply = h.request("POST", REPORTS, &[("content-type", JSON)], serde_json::to_vec(&v).unwrap());
    assert_eq!(reply.status, 413);
    assert!(h.dump().is_empty());
}

/// A form body is no longer refused as the wrong media type: it is a browser's post of
/// the report form, answered with the form again (HTML) naming what is missing, and
/// nothing is written, as for JSON.
#[test]
fn an_incomplete_form_post_gets_the_form_again_in_html_and_writes_nothing() {
    let h = Harness::new();
    let before = h.dump();
    let reply = h.request(
        "POST",
        REPORTS,
        &[("content-type", "application/x-www-form-urlencoded")],
        b"role=mayor&description=Mes+aan+de+deur".to_vec(),
    );
    assert_eq!(reply.status, 422);
    assert_eq!(reply.headers["content-type"], "text/html; charset=utf-8");
    let page = reply.body.as_str().expect("an HTML page");
    assert!(page.contains("class=\"error-summary\"") && page.contains("href=\"#f-municipality\""), "{page}");
    assert!(page.contains(">Mes aan de deur</textarea>"), "what was typed is kept");
    assert_eq!(h.dump(), before, "the store changed");
}
