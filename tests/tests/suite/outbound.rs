//! Outbound HTTP: allowed_outbound_hosts, service chaining, faults.
use crate::common::*;

fn call(app: &weerbaar_tests::TestApp, from: &str, url: &str) -> String {
    let r = get(app, &format!("/{from}?do=call&url={}", enc(url)));
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

#[test]
fn allowed_loopback_call_goes_over_real_http() {
    let app = start(probe_options());
    let hook = Receiver::start();
    let r = post(
        &app,
        &format!("/probe?do=call&url={}&body=hello-hook", enc(&format!("http://127.0.0.1:{}/hook", hook.port))),
        "",
    );
    assert_eq!(r.body, "ok:200:received");
    let seen = hook.requests();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].starts_with("POST /hook HTTP/1.1"), "{}", seen[0]);
    assert!(seen[0].contains("hello-hook"), "{}", seen[0]);
}

#[test]
fn denied_host_gets_an_error_and_nothing_is_sent() {
    let app = start(probe_options());
    let hook = Receiver::start();
    // Same listener, but `localhost` is not in the probe's allowed hosts.
    let r = call(&app, "probe", &format!("http://localhost:{}/hook", hook.port));
    assert_eq!(r, "err:Http(ErrorCode::HttpRequestDenied)");
    // `peer` may call nothing at all.
    let r = call(&app, "peer", &format!("http://127.0.0.1:{}/hook", hook.port));
    assert_eq!(r, "err:Http(ErrorCode::HttpRequestDenied)");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(hook.requests().is_empty());
}

#[test]
fn spin_internal_call_runs_the_component_in_process() {
    let app = start(probe_options());
    let r = call(&app, "probe", "http://peer.spin.internal/peer/inner?do=echo");
    assert!(r.starts_with("ok:200:probe-id: peer\n"), "{r}");
    assert!(r.contains("\npath: /peer/inner\n"), "path unchanged: {r}");
    assert!(!r.contains("\nhost: "), "the .spin.internal Host is dropped: {r}");
    // A private component is reachable only this way.
    let r = call(&app, "probe", "http://hidden.spin.internal/anything?do=echo");
    assert!(r.starts_with("ok:200:probe-id: hidden\n"), "{r}");
}

#[test]
fn self_call_is_routed_like_an_incoming_request() {
    let app = start(probe_options());
    let r = call(&app, "probe", "http://self/wide/narrow/exact?do=echo");
    assert!(r.starts_with("ok:200:probe-id: exact\n"), "{r}");
    let r = call(&app, "probe", "http://self/nowhere");
    assert_eq!(r, "ok:404:");
}

#[test]
fn down_component_fails_with_a_connection_error() {
    let app = start(probe_options());
    app.set_down("peer", true);
    let r = call(&app, "probe", "http://peer.spin.internal/peer?do=noop");
    assert_eq!(r, "err:Http(ErrorCode::ConnectionRefused)");
    app.set_down("peer", false);
    let r = call(&app, "probe", "http://peer.spin.internal/peer?do=noop");
    assert_eq!(r, "ok:200:ok");
}

#[test]
fn component_not_started_is_unreachable() {
    let app = start(probe_options().only(&["probe"]));
    let r = call(&app, "probe", "http://peer.spin.internal/peer?do=noop");
    assert_eq!(r, "err:Http(ErrorCode::ConnectionRefused)");
    // Declared in allowed hosts but no such component at all.
    let r = call(&app, "probe", "http://absent.spin.internal/x");
    assert_eq!(r, "err:Http(ErrorCode::ConnectionRefused)");
    assert_eq!(get(&app, "/peer").status, 404, "its route is not served");
}

#[test]
fn templated_allowed_host_follows_the_variable_in_a_split_deployment() {
    let peer = start(probe_options().only(&["peer"]));
    let front = start(probe_options().only(&["probe"]).variable("peer_url", peer.url()));
    let r = call(&front, "probe", &format!("{}/peer/x?do=noop", peer.url()));
    assert_eq!(r, "ok:200:ok");
    // The default peer address is no longer allowed.
    let r = call(&front, "probe", "http://peer.spin.internal/peer?do=noop");
    assert_eq!(r, "err:Http(ErrorCode::HttpRequestDenied)");
}
