//! Property tests (issue 15) of the webhook URL policy: any text is an accepted URL
//! that really is https to a public host named in one canonical form, or refused,
//! never a panic. 256 cases each: `cargo test -p notification --test api props::`.

use notification::core::url_policy::{check, LocalHosts};
use proptest::prelude::*;

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,10}(\\.[a-z0-9-]{1,10}){0,3}\\.?",
        "(0x[0-9a-f]{1,8}|0[0-7]{1,4}|[0-9]{1,10})(\\.(0x[0-9a-f]{1,2}|0[0-7]{1,3}|[0-9]{1,3})){0,3}",
        "\\[[0-9a-f:.]{2,39}\\]",
        any::<String>(),
    ]
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            proptest::sample::select(&["https", "http", "HTTPS", "ftp", ""][..]),
            "(user(:pw)?@)?",
            host(),
            "(:[0-9]{1,6})?",
            "(/[a-z%.#?=]{0,10}){0,3}"
        )
            .prop_map(|(scheme, user, host, port, path)| format!("{scheme}://{user}{host}{port}{path}")),
        any::<String>(),
    ]
}

/// Whether the WHATWG URL standard reads `host` as IPv4: its last label is a number,
/// decimal digits or `0x` followed by hex digits only (none at all reads as 0).
fn numeric_ipv4_form(host: &str) -> bool {
    let last = host.rsplit('.').next().unwrap_or(host);
    let decimal = !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit());
    let hex = last.strip_prefix("0x").is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()));
    decimal || hex
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_is_a_safe_url_or_refused(text in url()) {
        if let Ok(uri) = check(&text, &LocalHosts::default()) {
            let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
            prop_assert_eq!(scheme.as_deref(), Some("https"));
            prop_assert!(text.is_ascii() && !text.bytes().any(|b| b.is_ascii_control()));
            let host = uri.host().unwrap().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
            prop_assert!(!host.ends_with('.') && !host.is_empty());
            match host.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(v4)) => {
                    prop_assert!(!v4.is_loopback() && !v4.is_private() && !v4.is_link_local());
                    prop_assert_eq!(v4.to_string(), host);
                }
                Ok(std::net::IpAddr::V6(v6)) => {
                    prop_assert!(!v6.is_loopback() && v6.segments()[0] != 0x2002 && v6.segments()[..2] != [0x64, 0xff9b]);
                }
                Err(_) => prop_assert!(!numeric_ipv4_form(&host), "{}", host),
            }
        }
    }

    #[test]
    fn allowing_a_local_host_never_lets_a_numeric_form_through(host in host()) {
        let local = LocalHosts::parse(&host);
        if check(&format!("http://{host}/hook"), &local).is_ok() {
            let h = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
            prop_assert!(h.parse::<std::net::IpAddr>().is_ok() || !numeric_ipv4_form(&h), "{}", host);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The message list's query: a valid query (page size 1 to 100, a cursor above 0) or
    /// a 400 naming one of the parameters given, never a panic.
    #[test]
    fn message_queries_parse_or_are_400(pairs in proptest::collection::vec(
        (
            prop_oneof![
                proptest::sample::select(&["status", "cursor", "limit", "before", "x", ""][..]).prop_map(String::from),
                any::<String>(),
            ],
            prop_oneof![
                "[a-z0-9_+-]{0,12}",
                proptest::sample::select(&["pending", "delivered", "failed", "0", "101", "-1"][..]).prop_map(String::from),
                any::<String>(),
            ],
        ),
        0..5,
    )) {
        use notification::http::forms::{MessageQuery, MAX_PAGE};
        match shared::web::parse_query::<MessageQuery>(&pairs) {
            Ok(q) => {
                prop_assert!((1..=MAX_PAGE as usize).contains(&q.limit()));
                prop_assert!(q.cursor.is_none_or(|c| c > 0));
            }
            Err(p) => prop_assert!(
                p.kind.status() == 400 && p.field.as_ref().is_some_and(|f| pairs.iter().any(|(n, _)| n == f)),
                "{:?} {:?}", p.kind, p.field
            ),
        }
    }
}
