//! Property tests (issue 15) of intake's report body parser: any JSON value, and any
//! damaged version of a good report, becomes a valid report (every cross-field rule
//! holds) or a 4xx problem naming where, never a panic. 256 cases each:
//! `cargo test -p intake --test api props::`.

use intake::core::submit::NewReport;
use intake::http::forms::{follow_up, ReportForm};
use proptest::prelude::*;
use serde_json::{json, Value};
use shared::domain::{IncidentKind, Language, RequestKind};
use shared::time::{Duration, Timestamp};

fn now() -> Timestamp {
    Timestamp::parse("2026-11-28T12:00:00Z").unwrap()
}

fn good() -> Value {
    json!({
        "role": "mayor", "relation": "self", "region": "VR09", "municipality": "Wijk bij Duurstede",
        "request_kind": "incident", "incident_kinds": ["intimidation"], "immediate_danger": false,
        "description": "Een man staat elke avond voor de deur.", "occurred_at": "2026-11-27T21:15:00Z",
        "contact": {"channel": "phone", "phone": "+31 6 12345678"}, "language": "nl"
    })
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::from),
        proptest::sample::select(
            &[
                "mayor",
                "incident",
                "advice",
                "prevention",
                "phone",
                "email",
                "VR01",
                "nl",
                "en",
                "physical_violence",
                "threat_of_violence",
                "repeated",
                "2026-11-28T12:05:00Z",
                "9999-12-31T23:59:59Z",
                "0000-01-01T00:00:00Z",
                "+31 6 1",
                "a@b.nl",
                "\u{202e}",
                ""
            ][..]
        )
        .prop_map(Value::from),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: &[&str] = &[
    "role",
    "relation",
    "region",
    "municipality",
    "request_kind",
    "incident_kinds",
    "immediate_danger",
    "threat_to_life",
    "recurrence",
    "occurred_at",
    "police_informed",
    "police_report_filed",
    "support_requested",
    "description",
    "name",
    "contact",
    "language",
    "extra",
];

/// A good report with some fields set to anything, removed, or the contact changed.
fn damaged() -> impl Strategy<Value = Value> {
    proptest::collection::vec((proptest::sample::select(FIELDS), proptest::option::of(any_json())), 1..4).prop_map(
        |edits| {
            let mut report = good();
            for (field, value) in edits {
                let object = report.as_object_mut().unwrap();
                match value {
                    Some(v) => object.insert(field.to_string(), v),
                    None => object.remove(field),
                };
            }
            report
        },
    )
}

fn check(body: Value) -> Result<(), TestCaseError> {
    let bytes = serde_json::to_vec(&body).unwrap();
    let form: Result<ReportForm, _> = shared::web::parse_json(&bytes);
    let parsed = form.and_then(|f| NewReport::parse(f, now(), Language::Dutch));
    match parsed {
        Ok(report) => {
            let f = &report.facts;
            prop_assert!(f.request_kind != RequestKind::Incident || !f.incident_kinds.is_empty());
            prop_assert!(f.incident_kinds.iter().enumerate().all(|(i, k)| !f.incident_kinds[..i].contains(k)));
            prop_assert!(f.support_requested.iter().enumerate().all(|(i, k)| !f.support_requested[..i].contains(k)));
            prop_assert!(f.occurred_at.is_none_or(|at| at <= now() + Duration::minutes(10)));
            prop_assert!(!f.police_report_filed || f.police_informed);
            let d = &report.details;
            for text in [Some(&d.description), Some(&d.municipality), d.name.as_ref()].into_iter().flatten() {
                prop_assert!(!text.trim().is_empty() && text.trim() == text);
                prop_assert!(shared::text::refusal(text, true).is_none());
            }
        }
        Err(p) => {
            prop_assert!((400..500).contains(&p.kind.status()), "{:?}", p.kind);
            prop_assert!(p.field.is_some(), "a problem without a field: {}", p.detail);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_json_is_a_report_or_a_problem(body in any_json()) {
        check(body)?;
    }

    #[test]
    fn a_damaged_report_is_a_report_or_a_problem(body in damaged()) {
        check(body)?;
    }

    #[test]
    fn follow_ups_refuse_repeats_and_report_only_what_they_say(
        danger in any::<bool>(), threat in any::<bool>(),
        kinds in proptest::collection::vec(proptest::sample::select(IncidentKind::ALL), 0..5),
    ) {
        let repeated = kinds.iter().enumerate().any(|(i, k)| kinds[..i].contains(k));
        match follow_up(danger, threat, kinds.clone()) {
            Ok(Some(f)) => {
                prop_assert!(!repeated);
                prop_assert!(f.immediate_danger || f.threat_to_life || !f.incident_kinds.is_empty());
            }
            Ok(None) => prop_assert!(!danger && !threat && kinds.is_empty()),
            Err(p) => { prop_assert!(repeated); prop_assert_eq!(p.kind.status(), 422); }
        }
    }
}
