//! Abuse limits that key on the real client and cannot lock reporters out: trusted
//! proxies, IPv6 /64 buckets, requests without an address, counting only failed
//! lookups (after they failed), and the proof of work that admits a report past the
//! limit.

use crate::common::{report, Harness, Reply, INTERNAL_SECRET};
use intake::core::client::{Client, TrustedProxies};
use serde_json::{json, Value};
use shared::time::Duration;
use std::net::IpAddr;

fn file_from(h: &Harness, headers: &[(&str, &str)]) -> Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    h.request("POST", "/intake/reports", &all, serde_json::to_vec(&report()).unwrap())
}

fn from(addr: &str) -> Vec<(&str, &str)> {
    vec![("spin-client-addr", addr)]
}

fn limit_keys(h: &Harness) -> usize {
    h.dump().keys().filter(|k| k.starts_with("limit/")).count()
}

fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (k, v) in pairs {
        map.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    map
}

fn ip(text: &str) -> Client {
    Client::Address(text.parse::<IpAddr>().unwrap())
}

fn trusting(ranges: &str) -> TrustedProxies {
    TrustedProxies::parse(ranges).unwrap()
}

#[test]
fn ipv6_clients_share_a_bucket_per_64_and_other_64s_are_not_affected() {
    let mut h = Harness::new();
    h.vars.set("submission_limit_per_hour", "2");
    assert_eq!(file_from(&h, &from("[2001:db8:1:2::1]:4000")).status, 201);
    assert_eq!(file_from(&h, &from("[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:4000")).status, 201);
    let same_64 = file_from(&h, &from("[2001:db8:1:2::ffff]:4000"));
    assert_eq!(same_64.status, 429, "a new address within the same /64 is the same client");
    assert_eq!(file_from(&h, &from("[2001:db8:1:3::1]:4000")).status, 201, "the next /64 is another client");
    assert_eq!(ip("2001:db8:1:2::1").bucket(), ip("2001:db8:1:2:ffff::9").bucket());
    assert_ne!(ip("2001:db8:1:2::1").bucket(), ip("2001:db8:1:3::1").bucket());
    assert_eq!(ip("::ffff:192.0.2.1").bucket(), ip("192.0.2.1").bucket(), "IPv4-mapped is IPv4");
}

#[test]
fn a_request_without_a_usable_address_is_a_bucket_of_its_own_never_a_shared_one() {
    let mut h = Harness::new();
    h.vars.set("submission_limit_per_hour", "1");
    for i in 0..4 {
        assert_eq!(file_from(&h, &from("unknown")).status, 201, "unparsable address, request {i}");
    }
    assert_eq!(limit_keys(&h), 0, "a bucket of one request is never stored");
    assert_eq!(file_from(&h, &from("192.0.2.9:1234")).status, 201, "a known client is unaffected");
    assert_eq!(file_from(&h, &from("192.0.2.9:1234")).status, 429);
    assert_eq!(Client::of(&headers(&[]), &TrustedProxies::default()), Client::Unidentified);
    assert_eq!(Client::Unidentified.bucket(), None);
}

#[test]
fn forwarding_headers_count_only_behind_a_trusted_proxy_and_only_from_the_right() {
    let none = TrustedProxies::default();
    let spoofed = headers(&[("spin-client-addr", "198.51.100.7:5000"), ("x-forwarded-for", "192.0.2.1")]);
    assert_eq!(Client::of(&spoofed, &none), ip("198.51.100.7"), "an untrusted peer's headers are ignored");

    let ingress = trusting("10.0.0.0/8, 2001:db8:ffff::/48");
    let behind = |pairs: &[(&str, &str)]| {
        let mut all = vec![("spin-client-addr", "10.1.2.3:5000")];
        all.extend_from_slice(pairs);
        Client::of(&headers(&all), &ingress)
    };
    assert_eq!(behind(&[("x-forwarded-for", "1.2.3.4, 192.0.2.1")]), ip("192.0.2.1"), "left entries are the client's");
    assert_eq!(behind(&[("x-forwarded-for", "192.0.2.1, 10.9.9.9")]), ip("192.0.2.1"), "trusted hops are skipped");
    assert_eq!(behind(&[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "192.0.2.5")]), ip("192.0.2.5"));
    assert_eq!(behind(&[("x-forwarded-for", "192.0.2.1:4711")]), ip("192.0.2.1"));
    assert_eq!(behind(&[("x-forwarded-for", "10.7.7.7, 10.8.8.8")]), ip("10.7.7.7"), "all trusted: the first");
    assert_eq!(behind(&[("x-forwarded-for", "192.0.2.1, unknown")]), Client::Unidentified);
    assert_eq!(behind(&[]), ip("10.1.2.3"), "the proxy itself, without forwarding headers");
    assert_eq!(
        behind(&[("forwarded", r#"for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711""#)]),
        ip("2001:db8:cafe::17")
    );
    assert_eq!(behind(&[("forwarded", r#"for="_hidden", for=10.0.0.1"#)]), Client::Unidentified);
    assert_eq!(behind(&[("forwarded", "for=192.0.2.1"), ("x-forwarded-for", "192.0.2.1")]), ip("192.0.2.1"));
    assert_eq!(
        behind(&[("forwarded", "for=192.0.2.1"), ("x-forwarded-for", "192.0.2.2")]),
        ip("10.1.2.3"),
        "two headers that disagree: one is the client's, so the proxy's own bucket"
    );
    let v6_peer = headers(&[("spin-client-addr", "[2001:db8:ffff:1::2]:443"), ("x-forwarded-for", "192.0.2.3")]);
    assert_eq!(Client::of(&v6_peer, &ingress), ip("192.0.2.3"));
}

#[test]
fn trusted_proxy_ranges_are_parsed_strictly() {
    assert_eq!(TrustedProxies::parse("").unwrap(), TrustedProxies::default());
    assert_eq!(TrustedProxies::parse("  ").unwrap(), TrustedProxies::default());
    let ok = trusting("127.0.0.1/32,10.0.0.0/8, fd00::/8, 192.0.2.7");
    for (address, trusted) in
        [("127.0.0.1", true), ("127.0.0.2", false), ("10.255.0.1", true), ("fd12::1", true), ("192.0.2.7", true)]
    {
        assert_eq!(ok.trusts(address.parse().unwrap()), trusted, "{address}");
    }
    assert!(trusting("0.0.0.0/0").trusts("203.0.113.1".parse().unwrap()));
    for bad in ["10.0.0.0/33", "10.0.0.0/", "fd00::/129", "example.org", "10.0.0.0/8,", "10.0.0.0/8;fd00::/8"] {
        let err = TrustedProxies::parse(bad).unwrap_err();
        assert!(!err.contains(bad), "{bad}: the error repeats the value: {err}");
    }
}

#[test]
fn a_malformed_trusted_proxies_answers_a_problem_naming_the_variable_not_its_value() {
    let mut h = Harness::new();
    h.vars.set("trusted_proxies", "172.16.0.0/12, secret-host.internal");
    let reply = file_from(&h, &from("172.16.0.1:5000"));
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body["type"], "urn:weerbaar:problem:misconfigured");
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(detail.contains("trusted_proxies"), "{detail}");
    assert!(!detail.contains("secret-host") && !detail.contains("172.16"), "{detail}");
    assert!(h.dump().is_empty(), "nothing is written, nobody is trusted");
    let lookup = h.status_of("0000-0000-0000-0000");
    assert_eq!(lookup.status, 503);
}

#[test]
fn behind_a_trusted_proxy_one_client_exhausting_its_limits_does_not_block_another() {
    let mut h = Harness::new();
    h.vars.set("trusted_proxies", "10.0.0.0/8");
    h.vars.set("submission_limit_per_hour", "1");
    let proxy = |client: &'static str| vec![("spin-client-addr", "10.0.0.1:5000"), ("x-forwarded-for", client)];
    assert_eq!(file_from(&h, &proxy("192.0.2.1")).status, 201);
    assert_eq!(file_from(&h, &proxy("192.0.2.1")).status, 429);
    let other = file_from(&h, &proxy("192.0.2.2"));
    assert_eq!(other.status, 201);
    let receipt = other.body["receipt_code"].as_str().unwrap().to_string();
    let lookup = |client: &'static str, code: &str| {
        let mut all = proxy(client);
        all.push(("content-type", "application/json"));
        h.request("POST", "/intake/reports/status", &all, serde_json::to_vec(&json!({"receipt_code": code})).unwrap())
    };
    for _ in 0..5 {
        assert_eq!(lookup("192.0.2.1", "0000-0000-0000-0000").status, 404);
    }
    assert_eq!(lookup("192.0.2.1", &receipt).status, 429);
    assert_eq!(lookup("192.0.2.2", &receipt).status, 200, "the other client still reads its case");
}

#[test]
fn right_receipt_codes_do_not_use_up_attempts_and_leave_no_counter_past_its_window() {
    let h = Harness::new();
    let receipt = h.file(&report()).body["receipt_code"].as_str().unwrap().to_string();
    for i in 0..12 {
        assert_eq!(h.status_of(&receipt).status, 200, "lookup {i}");
    }
    assert_eq!(h.status_of("0000-0000-0000-0000").status, 404, "the failures are all still there");
    let listings = |h: &Harness| h.dump().keys().filter(|k| k.starts_with("idx/expiring/limit/s/")).count();
    assert_eq!(listings(&h), 2, "the submission counter and the lookup counter, each listed once");

    h.advance(Duration::hours(2));
    let swept =
        h.request("POST", "/intake/sweep", &[("weerbaar-internal-secret", INTERNAL_SECRET)], vec![]).body.clone();
    assert_eq!(swept["limit_counters"], 2);
    assert_eq!(limit_keys(&h), 0, "no counter outlives its window");
}

#[test]
fn a_right_code_writes_nothing_and_only_failures_are_counted_after_they_failed() {
    let h = Harness::new();
    let receipt = h.file(&report()).body["receipt_code"].as_str().unwrap().to_string();
    let before = h.dump();
    for i in 0..8 {
        assert_eq!(h.status_of(&receipt).status, 200, "lookup {i}");
    }
    assert_eq!(h.dump(), before, "a right code leaves the store as it was: no counter, no listing");
    for i in 0..5 {
        assert_eq!(h.status_of(&format!("{:016}", 4200 + i)).status, 404, "failure {i} is within the limit");
    }
    let at_limit = h.dump();
    assert_eq!(h.status_of(&receipt).status, 429, "past the limit a right code is refused too");
    assert_eq!(h.status_of("0000-0000-0000-0001").status, 429);
    assert_eq!(h.dump(), at_limit, "a refusal writes nothing either");
    h.advance(Duration::minutes(15));
    assert_eq!(h.status_of(&receipt).status, 200, "the next window starts afresh");
}

// ---- proof of work ----

/// Whether a nonce solves a challenge, the way the README's Python checks it
/// (independently of intake's code; enough for difficulties up to 32 bits).
fn solves(challenge: &str, nonce: &str, bits: u32) -> bool {
    let d = shared::crypto::sha256(format!("{challenge}{nonce}").as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]) >> (32 - bits) == 0
}

fn solve(challenge: &str, bits: u32) -> String {
    (0u64..).map(|n| n.to_string()).find(|n| solves(challenge, n, bits)).unwrap()
}

fn challenge_of(reply: &Reply) -> (String, u32) {
    let pow = &reply.body["proof_of_work"];
    (pow["challenge"].as_str().unwrap().to_string(), pow["difficulty_bits"].as_u64().unwrap() as u32)
}

fn exhausted() -> Harness {
    let mut h = Harness::new();
    h.vars.set("submission_limit_per_hour", "1");
    h.vars.set("proof_of_work_bits", "8");
    assert_eq!(h.file(&report()).status, 201);
    h
}

fn file_with_proof(h: &Harness, challenge: &str, nonce: &str) -> Reply {
    file_from(h, &[("weerbaar-proof-of-work", &format!("{challenge}:{nonce}"))])
}

#[test]
fn past_the_limit_the_refusal_carries_112_advice_in_the_reporters_language_and_a_challenge() {
    let h = exhausted();
    let refused = h.file(&report());
    assert_eq!(refused.status, 429);
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(refused.body["advice"], json!(["Bent u of is iemand anders nu in gevaar? Bel direct 112."]));
    let (challenge, bits) = challenge_of(&refused);
    assert_eq!((challenge.len(), bits), (32, 8));
    assert_eq!(refused.body["proof_of_work"]["header"], "Weerbaar-Proof-Of-Work");

    let mut english = report();
    english["language"] = json!("en");
    let refused = h.file(&english);
    assert_eq!(refused.body["advice"][0], "Are you or is anyone else in danger right now? Call 112 immediately.");
    assert_ne!(challenge_of(&refused).0, challenge, "every refusal gets a fresh challenge");
}

#[test]
fn a_solved_challenge_files_the_report_once_and_a_wrong_used_or_expired_one_is_refused() {
    let h = exhausted();
    let (challenge, bits) = challenge_of(&h.file(&report()));
    let nonce = solve(&challenge, bits);
    let wrong = (0u64..).map(|n| n.to_string()).find(|n| !solves(&challenge, n, bits)).unwrap();

    let refused = file_with_proof(&h, &challenge, &wrong);
    assert_eq!(refused.status, 429);
    assert!(refused.body["detail"].as_str().unwrap().contains("does not solve"), "{}", refused.body);

    let before = h.case_keys().len();
    let filed = file_with_proof(&h, &challenge, &nonce);
    assert_eq!(filed.status, 201, "{}", filed.body);
    assert_eq!(h.case_keys().len(), before + 1);

    let reused = file_with_proof(&h, &challenge, &nonce);
    assert_eq!(reused.status, 429);
    assert!(reused.body["detail"].as_str().unwrap().contains("used already"), "{}", reused.body);
    assert_eq!(h.case_keys().len(), before + 1);

    let (late, bits) = challenge_of(&reused);
    h.advance(Duration::minutes(11));
    let expired = file_with_proof(&h, &late, &solve(&late, bits));
    assert_eq!(expired.status, 429);
    assert!(expired.body["detail"].as_str().unwrap().contains("expired"), "{}", expired.body);

    let unknown = file_with_proof(&h, "0123456789abcdef0123456789abcdef", "1");
    assert_eq!(unknown.status, 429);
}

#[test]
fn a_malformed_proof_header_is_a_400_naming_it_and_writes_nothing() {
    let h = exhausted();
    let before = h.dump();
    let reply = file_from(&h, &[("weerbaar-proof-of-work", "not-a-proof")]);
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["field"], "weerbaar-proof-of-work");
    assert_eq!(h.dump(), before);
}

#[test]
fn the_difficulty_is_a_variable_with_a_checked_range() {
    let mut h = exhausted();
    h.vars.set("proof_of_work_bits", "12");
    assert_eq!(challenge_of(&h.file(&report())).1, 12);
    h.vars.0.remove("proof_of_work_bits");
    assert_eq!(challenge_of(&h.file(&report())).1, 20, "the default");
    h.vars.set("proof_of_work_bits", "64");
    let reply = h.file(&report());
    assert_eq!((reply.status, reply.body["type"].as_str()), (503, Some("urn:weerbaar:problem:misconfigured")));
    assert!(reply.body["detail"].as_str().unwrap().contains("proof_of_work_bits"));
}

#[test]
fn challenges_are_swept_after_ten_minutes() {
    let h = exhausted();
    challenge_of(&h.file(&report()));
    let pow_keys = |h: &Harness| h.dump().keys().filter(|k| k.starts_with("pow/")).count();
    assert_eq!(pow_keys(&h), 1);
    let sweep = |h: &Harness| -> Value {
        h.request("POST", "/intake/sweep", &[("weerbaar-internal-secret", INTERNAL_SECRET)], vec![]).body
    };
    assert_eq!(sweep(&h)["proof_of_work_challenges"], 0);
    h.advance(Duration::minutes(10));
    assert_eq!(sweep(&h)["proof_of_work_challenges"], 1);
    assert_eq!(pow_keys(&h), 0);
}
