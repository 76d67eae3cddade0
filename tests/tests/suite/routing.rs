//! Routing and the request Spin hands a component.
use crate::common::*;

#[test]
fn exact_route_beats_wildcards_and_longest_wildcard_wins() {
    let app = start(probe_options());
    let who = |path: &str| get(&app, path).echoed("probe-id");
    assert_eq!(who("/wide/narrow/exact").as_deref(), Some("exact"));
    assert_eq!(who("/wide/narrow/exact/more").as_deref(), Some("narrow"));
    assert_eq!(who("/wide/narrow").as_deref(), Some("narrow"));
    assert_eq!(who("/wide/narrowish").as_deref(), Some("wide"));
    assert_eq!(who("/wide").as_deref(), Some("wide"));
}

#[test]
fn unmatched_path_is_404_with_empty_body() {
    let app = start(probe_options());
    let r = get(&app, "/nowhere");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, "");
}

#[test]
fn private_component_has_no_public_route() {
    let app = start(probe_options());
    let r = get(&app, "/hidden");
    assert_eq!(r.status, 404);
}

#[test]
fn spin_headers_describe_the_match() {
    let app = start(probe_options());
    let r = get(&app, "/probe/a/b?x=1");
    assert_eq!(r.status, 200);
    assert_eq!(r.echoed("spin-full-url"), Some(format!("{}/probe/a/b?x=1", app.url())));
    assert_eq!(r.echoed("spin-path-info").as_deref(), Some("/a/b"));
    assert_eq!(r.echoed("spin-matched-route").as_deref(), Some("/probe/..."));
    assert_eq!(r.echoed("spin-component-route").as_deref(), Some("/probe"));
    assert_eq!(r.echoed("spin-raw-component-route").as_deref(), Some("/probe/..."));
    assert_eq!(r.echoed("spin-base-path").as_deref(), Some("/"));
    let client = r.echoed("spin-client-addr").unwrap();
    assert!(client.starts_with("127.0.0.1:"), "{client}");
    assert_eq!(r.echoed("host"), Some(app.addr().to_string()));
}

#[test]
fn named_segments_become_path_match_headers() {
    let app = start(probe_options());
    let r = get(&app, "/cases/case_42/notes/7");
    assert_eq!(r.echoed("probe-id").as_deref(), Some("named"));
    assert_eq!(r.echoed("spin-path-match-id").as_deref(), Some("case_42"));
    assert_eq!(r.echoed("spin-path-info").as_deref(), Some("/7"));
}

#[test]
fn trap_is_a_bare_500() {
    let app = start(probe_options());
    let trapped = get(&app, "/probe?do=panic");
    assert_eq!(trapped.status, 500);
    assert_eq!(trapped.body, "");
}

/// Not the host's doing: spin-sdk 5.2 itself turns an `anyhow::Error` from a
/// handler into a 500 whose body is the error text (and prints it to stderr),
/// so a handler must never return internal errors with secrets in them.
#[test]
fn sdk_turns_a_handler_error_into_a_500_with_its_text() {
    let app = start(probe_options());
    let failed = get(&app, "/probe?do=fail");
    assert_eq!(failed.status, 500);
    assert_eq!(failed.body, "probe asked to fail");
    assert!(app.logs().iter().any(|l| l.line.contains("Handler returned an error: probe asked to fail")));
}

#[test]
fn each_request_gets_a_fresh_instance_and_the_body() {
    let app = start(probe_options());
    for i in 0..3 {
        let r = post(&app, "/probe/x", &format!("payload {i}"));
        assert_eq!(r.echoed("body"), Some(format!("payload {i}")));
        assert_eq!(r.echoed("method").as_deref(), Some("Method::Post"));
    }
}
