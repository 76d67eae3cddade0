//! Property tests (issue 15) of the directory's member documents: any JSON, and any
//! damaged version of a good member, becomes a valid member or a 422 naming the fields
//! at fault, never a panic; an import list the same, record by record. 256 cases each:
//! `cargo test -p directory --test api props::`.

use directory::core::member::{MemberForm, MemberProfile};
use proptest::prelude::*;
use serde_json::{json, Value};

fn good() -> Value {
    json!({
        "name": "Anna de Vries", "kind": "peer", "role": "mayor", "organisation": "ngb", "municipality": "Sneek",
        "regions": ["VR02"], "languages": ["nl"], "capacity": 2, "contact": {"email": "anna@example.org"}
    })
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        proptest::sample::select(
            &[
                "peer",
                "expert",
                "mayor",
                "ngb",
                "VR02",
                "nl",
                "security",
                "legal",
                "2026-12-01",
                "2026-02-30",
                "\u{202e}x",
                "",
                " "
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
    "id",
    "name",
    "kind",
    "role",
    "organisation",
    "municipality",
    "expertise",
    "specialties",
    "regions",
    "languages",
    "capacity",
    "on_leave_until",
    "contact",
    "extra",
];

fn damaged() -> impl Strategy<Value = Value> {
    proptest::collection::vec((proptest::sample::select(FIELDS), proptest::option::of(any_json())), 1..4).prop_map(
        |edits| {
            let mut member = good();
            for (field, value) in edits {
                let object = member.as_object_mut().unwrap();
                match value {
                    Some(v) => object.insert(field.to_string(), v),
                    None => object.remove(field),
                };
            }
            member
        },
    )
}

fn check(body: &Value) -> Result<(), TestCaseError> {
    let form: Result<MemberForm, _> = shared::web::parse_json(&serde_json::to_vec(body).unwrap());
    match form.and_then(|f| MemberProfile::parse_one(&f)) {
        Ok(member) => {
            prop_assert!(!member.name.trim().is_empty() && member.name.chars().count() <= 200);
            prop_assert!(shared::text::refusal(&member.name, false).is_none());
            prop_assert!(member.contact.email.is_some() || member.contact.phone.is_some());
            prop_assert!(!member.languages.is_empty());
        }
        Err(p) => {
            prop_assert!((400..500).contains(&p.kind.status()), "{:?}", p.kind);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_json_is_a_member_or_a_problem(body in any_json()) {
        check(&body)?;
    }

    #[test]
    fn a_damaged_member_is_a_member_or_a_problem(body in damaged()) {
        check(&body)?;
    }

    #[test]
    fn import_records_are_judged_one_by_one(records in proptest::collection::vec(damaged(), 1..5)) {
        let forms: Result<Vec<MemberForm>, _> = shared::web::parse_json(&serde_json::to_vec(&records).unwrap());
        if let Ok(forms) = forms {
            for (i, form) in forms.iter().enumerate() {
                // A record's faults are named under its index.
                let prefix = format!("/{i}");
                if let Err(faults) = MemberProfile::parse(form, &prefix) {
                    prop_assert!(faults.iter().all(|f| f.field.starts_with(&prefix)));
                }
            }
        }
    }
}

/// Query strings of the member listing and the audit pages: arbitrary names and values.
fn query_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    const NAMES: &[&str] =
        &["kind", "expertise", "region", "availability", "cursor", "limit", "reason", "case_id", "x", ""];
    let value = prop_oneof![
        "[a-zA-Z0-9_:.+-]{0,24}",
        proptest::sample::select(&["peer", "expert", "legal", "national", "VR02", "VR99", "available", "0", "-1"][..])
            .prop_map(String::from),
        any::<String>(),
    ];
    proptest::collection::vec(
        (prop_oneof![proptest::sample::select(NAMES).prop_map(String::from), any::<String>()], value),
        0..5,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The member listing's query: a valid query (page size within bounds) or a 400 that
    /// names one of the parameters given, never a panic; the audit pages' query alike.
    #[test]
    fn listing_queries_parse_or_are_400(pairs in query_pairs()) {
        use directory::http::forms::{AuditPageQuery, MemberQuery};
        match shared::web::parse_query::<MemberQuery>(&pairs) {
            Ok(q) => prop_assert!((1..=directory::core::registry::MAX_PAGE).contains(&q.page.limit())),
            Err(p) => prop_assert!(
                p.kind.status() == 400 && p.field.as_ref().is_some_and(|f| pairs.iter().any(|(n, _)| n == f)),
                "{:?} {:?}", p.kind, p.field
            ),
        }
        match shared::web::parse_query::<AuditPageQuery>(&pairs) {
            Ok(q) => prop_assert!(q.limit() >= 1),
            Err(p) => prop_assert!(p.kind.status() == 400 && p.field.is_some(), "{:?}", p.kind),
        }
    }
}
