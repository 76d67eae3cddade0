use proptest::prelude::*;
use shared::web::{query_params, urlencoded_pairs, urlencoded_text_pairs};

fn request(query: &str) -> Option<shared::web::Request> {
    http::Request::builder().uri(format!("/x?{query}")).body(Vec::new()).ok()
}

/// `text` percent-encoded byte by byte, except unreserved ASCII.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_form_text_decodes_without_panicking(text in prop_oneof![
        crate::hostile_text(),
        "([a-z%+=&]|%[0-9a-fA-F+-]{0,2}){0,30}",
    ]) {
        let lossy = urlencoded_pairs(&text);
        match urlencoded_text_pairs(&text) {
            // Where the strict reader accepts, both agree.
            Ok(strict) => prop_assert_eq!(strict, lossy),
            Err(_) => prop_assert!(lossy.iter().any(|(k, v)| k.contains(char::REPLACEMENT_CHARACTER) || v.contains(char::REPLACEMENT_CHARACTER))),
        }
    }

    #[test]
    fn encoded_pairs_round_trip(pairs in proptest::collection::vec(("\\PC{1,8}", "\\PC{0,8}"), 0..5)) {
        let text = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
        prop_assert_eq!(urlencoded_text_pairs(&text).unwrap(), pairs.clone());
        if let Some(req) = request(&text) {
            let unique = pairs.iter().enumerate().all(|(i, (k, _))| !pairs[..i].iter().any(|(e, _)| e == k));
            match query_params(&req) {
                Ok(got) => { prop_assert!(unique); prop_assert_eq!(got, pairs); }
                Err(p) => { prop_assert!(!unique); prop_assert_eq!(p.kind.status(), 400); }
            }
        }
    }
}
