//! The JSON edge (`shared::web::read_json_object`): any bytes with any content type
//! become a value or a 4xx problem, never a panic, and the order of the checks holds.
use proptest::prelude::*;
use serde::Deserialize;
use shared::web::{read_json_object, MAX_BODY_BYTES};

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Form {
    role: shared::domain::Role,
    #[serde(default)]
    note: Option<String>,
}

fn request(content_type: &str, body: Vec<u8>) -> shared::web::Request {
    http::Request::builder().header("content-type", content_type).body(body).unwrap()
}

/// JSON values of some depth, as text, sometimes damaged.
fn json_text() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "\\PC{0,10}".prop_map(serde_json::Value::from),
        prop_oneof![Just("mayor"), Just("alderman"), Just("x")].prop_map(serde_json::Value::from),
    ];
    let value = leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(
                prop_oneof![Just("role".to_string()), Just("note".to_string()), "[a-z]{1,5}"],
                inner,
                0..4
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    (value, any::<Option<(usize, u8)>>()).prop_map(|(v, damage)| {
        let mut bytes = serde_json::to_vec(&v).unwrap();
        if let Some((at, byte)) = damage {
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_body_is_a_value_or_a_4xx(
        body in prop_oneof![json_text(), proptest::collection::vec(any::<u8>(), 0..64)],
        content_type in prop_oneof![Just("application/json".to_string()), Just("application/json; charset=utf-8".to_string()), Just("text/plain".to_string()), "[ -~]{0,20}"],
    ) {
        match read_json_object::<Form>(&request(&content_type, body.clone())) {
            Ok(form) => {
                prop_assert!(content_type.to_ascii_lowercase().starts_with("application/json"));
                let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
                prop_assert!(value.is_object());
                prop_assert_eq!(serde_json::from_value::<Form>(value).unwrap(), form);
            }
            Err(p) => prop_assert!((400..500).contains(&p.kind.status()), "{:?}", p.kind),
        }
    }

    #[test]
    fn oversized_bodies_are_413_whatever_they_hold(extra in 1usize..4096, fill in any::<u8>(), first in any::<u8>()) {
        let mut body = vec![fill; MAX_BODY_BYTES + extra];
        body[0] = first;
        let p = read_json_object::<Form>(&request("application/json", body)).unwrap_err();
        prop_assert_eq!(p.kind.status(), 413);
    }
}
