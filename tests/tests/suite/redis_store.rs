//! Spin's Redis store on a real redis-server, row by row of `docs/spin-kv.md`'s
//! table "The Redis backend, command by command": what the host sends to Redis (seen
//! through `MONITOR`) and what the guest gets back, observed through the probe.
use crate::common::*;
use std::time::{Duration, Instant};
use weerbaar_tests::{StoreBacking, TestApp, WriteFault};

/// The probe app on a fresh Redis database, and that database's URL.
fn redis_app() -> (TestApp, String) {
    let backing = StoreBacking::fresh_redis().expect("a redis-server for the test");
    let StoreBacking::Redis(url) = &backing else { unreachable!() };
    let url = url.clone();
    let mut o = probe_options();
    o.store = backing;
    (start(o), url)
}

fn kv(app: &TestApp, query: &str) -> String {
    let r = get(app, &format!("/probe?do=kv&{query}"));
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

/// A direct connection to the database, as an operator's redis-cli would have.
fn redis(url: &str) -> redis::Connection {
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

fn raw_get(url: &str, key: &str) -> Option<Vec<u8>> {
    redis::cmd("GET").arg(key).query(&mut redis(url)).unwrap()
}

/// The commands Redis received for this test's database while `during` ran, as
/// `MONITOR` shows them (`"SET" "k" "v"`), without the host's own connection set-up.
fn commands(url: &str, during: impl FnOnce()) -> Vec<String> {
    let mut monitor = redis(url);
    let database = url.rsplit('/').next().unwrap().to_string();
    redis::cmd("MONITOR").exec(&mut monitor).unwrap();
    // A marker, sent after `during`, says where the commands end.
    let marker = format!("end-of-test-{}", std::process::id());
    during();
    redis::cmd("ECHO").arg(&marker).exec(&mut redis(url)).unwrap();
    monitor.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let line = match monitor.recv_response().unwrap() {
            redis::Value::SimpleString(s) => s,
            other => panic!("MONITOR sent {other:?}"),
        };
        // `1700000000.123456 [3 127.0.0.1:5555] "GET" "k"`
        let Some((client, command)) = line.split_once("] ") else { continue };
        if !client.contains(&format!("[{database} ")) {
            continue;
        }
        if command.contains(&marker) {
            return seen;
        }
        if !["\"SELECT\"", "\"CLIENT\"", "\"HELLO\"", "\"PING\""].iter().any(|c| command.starts_with(c)) {
            seen.push(command.to_string());
        }
    }
    panic!("MONITOR never showed the end marker; seen so far: {seen:?}");
}

#[test]
fn get_set_delete_exists_are_plain_commands() {
    let (app, url) = redis_app();
    let sent = commands(&url, || {
        assert_eq!(kv(&app, "op=set&key=k&value=v"), "ok");
        assert_eq!(kv(&app, "op=get&key=k"), "ok:some:v");
        assert_eq!(kv(&app, "op=wasi-get&key=absent"), "ok:none");
        assert_eq!(kv(&app, "op=delete&key=k"), "ok");
    });
    assert_eq!(sent, [r#""SET" "k" "v""#, r#""GET" "k""#, r#""GET" "absent""#, r#""DEL" "k""#]);
    assert_eq!(raw_get(&url, "k"), None);
}

#[test]
fn get_keys_scans_the_whole_database_and_labels_share_one_keyspace() {
    let (app, url) = redis_app();
    kv(&app, "op=set&label=default&key=k&value=from-default");
    kv(&app, "op=set&label=other&key=k&value=from-other");
    kv(&app, "op=set&label=other&key=only-other&value=o");
    assert_eq!(kv(&app, "op=get&label=default&key=k"), "ok:some:from-other", "one keyspace for both labels");
    let sent = commands(&url, || {
        assert_eq!(kv(&app, "op=keys&label=default"), "ok:k,only-other");
    });
    assert_eq!(sent, [r#""KEYS" "*""#]);
}

#[test]
fn set_many_is_one_atomic_mset_and_delete_many_one_del() {
    let (app, url) = redis_app();
    let sent = commands(&url, || {
        assert_eq!(post(&app, "/probe?do=kv&op=set_many", "a=1\nb=2").body, "ok");
        assert_eq!(kv(&app, "op=delete_many&key=a,b"), "ok");
    });
    assert_eq!(sent, [r#""MSET" "a" "1" "b" "2""#, r#""DEL" "a" "b""#]);

    app.set_write_fault(WriteFault::KeysStartingWith("index:".into()));
    let r = post(&app, "/probe?do=kv&op=set_many", "record:1=r\nindex:a=1");
    assert!(r.body.starts_with("err:Error::Other(\"injected fault"), "{}", r.body);
    assert!(app.kv_dump("default").is_empty(), "nothing of the batch was kept");
}

#[test]
fn increment_is_incrby_with_ascii_digits_and_a_non_number_is_an_error_not_a_trap() {
    let (app, url) = redis_app();
    let sent = commands(&url, || {
        assert_eq!(kv(&app, "op=increment&key=n&delta=12"), "ok:12");
    });
    assert_eq!(sent, [r#""INCRBY" "n" "12""#]);
    assert_eq!(raw_get(&url, "n").as_deref(), Some(&b"12"[..]));
    assert_eq!(kv(&app, "op=get&key=n"), "ok:some:12");

    kv(&app, "op=set&key=word&value=abc");
    let r = get(&app, "/probe?do=kv&op=increment&key=word&delta=1");
    assert_eq!(r.status, 200, "the guest gets an error value, the request lives");
    assert!(r.body.starts_with("err:Error::Other(") && r.body.contains("not an integer"), "{}", r.body);
}

#[test]
fn increment_is_atomic_under_concurrency() {
    let (app, url) = redis_app();
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                for _ in 0..25 {
                    assert!(kv(&app, "op=increment&key=counter&delta=1").starts_with("ok:"));
                }
            });
        }
    });
    assert_eq!(raw_get(&url, "counter").as_deref(), Some(&b"400"[..]));
}

#[test]
fn an_applied_swap_reports_cas_failed_and_a_stale_one_does_not_apply() {
    let (app, url) = redis_app();
    kv(&app, "op=set&key=doc&value=v1");
    let sent = commands(&url, || {
        assert_eq!(kv(&app, "op=cas&key=doc&value=v2&read=1"), "err:seen=v1;cas-failed");
    });
    assert_eq!(
        sent,
        [r#""WATCH" "doc""#, r#""GET" "doc""#, r#""MULTI""#, r#""SET" "doc" "v2""#, r#""EXEC""#, r#""UNWATCH""#]
    );
    assert_eq!(kv(&app, "op=get&key=doc"), "ok:some:v2", "the swap applied all the same");

    // Another writer between current() and swap: WATCH trips, nothing applies.
    assert_eq!(kv(&app, "op=cas&key=doc&value=v3&read=1&interfere=theirs"), "err:seen=v2;cas-failed");
    assert_eq!(kv(&app, "op=get&key=doc"), "ok:some:theirs");

    // current() read absent, then another writer created the key: not overwritten.
    assert_eq!(kv(&app, "op=cas&key=new&value=mine&read=1&interfere=theirs"), "err:seen=<none>;cas-failed");
    assert_eq!(kv(&app, "op=get&key=new"), "ok:some:theirs");

    // current() never read: no WATCH, an unconditional write, still cas-failed.
    assert_eq!(kv(&app, "op=cas&key=doc&value=blind"), "err:cas-failed");
    assert_eq!(kv(&app, "op=get&key=doc"), "ok:some:blind");
}

#[test]
fn get_many_sends_keys_and_fails_as_spin_does() {
    let (app, url) = redis_app();
    kv(&app, "op=set&key=a&value=1");
    kv(&app, "op=set&key=b&value=2");
    let mut failures = Vec::new();
    let sent = commands(&url, || {
        // Two or more keys: Redis refuses KEYS with several patterns.
        failures.push(kv(&app, "op=get_many&key=a,b"));
        // One present key: Spin's host panics, the request dies with a bare 500.
        let r = get(&app, "/probe?do=kv&op=get_many&key=a");
        failures.push(format!("{} {:?}", r.status, r.body));
        // One absent key: an empty list, as if no key were asked for.
        failures.push(kv(&app, "op=get_many&key=absent"));
    });
    // Redis rejects `KEYS a b` before MONITOR would show it: its error names the command.
    assert_eq!(sent, [r#""KEYS" "a""#, r#""KEYS" "absent""#]);
    assert!(failures[0].starts_with("err:Error::Other("), "{}", failures[0]);
    assert!(failures[0].contains("wrong number of arguments for 'keys' command"), "{}", failures[0]);
    assert_eq!(failures[1], r#"500 """#);
    assert_eq!(failures[2], "ok:");
}

#[test]
fn one_get_per_key_reads_every_key_on_redis() {
    // What the store port does instead of get_many.
    let (app, _url) = redis_app();
    kv(&app, "op=set&key=a&value=1");
    kv(&app, "op=set&key=b&value=2");
    assert_eq!(kv(&app, "op=gets&key=a,b,c,a"), "ok:a=1,b=2,c=<none>,a=1");
}

#[test]
fn two_apps_on_one_database_share_data() {
    let (a, url) = redis_app();
    let mut o = probe_options();
    o.store = StoreBacking::Redis(url);
    let b = start(o);
    kv(&a, "op=set&key=shared&value=from-a");
    assert_eq!(kv(&b, "op=get&key=shared"), "ok:some:from-a");
    kv(&b, "op=increment&key=n&delta=2");
    assert_eq!(kv(&a, "op=increment&key=n&delta=3"), "ok:5");
}
