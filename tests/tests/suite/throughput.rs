//! Measurements of the host itself, not behaviour: run with
//! `cargo test -p weerbaar-tests --test suite throughput:: -- --ignored --nocapture`
//! (add `--release` for the optimised host).
use crate::common::*;
use std::time::{Duration, Instant};

#[test]
#[ignore = "a measurement; prints figures instead of asserting behaviour"]
fn trivial_request_throughput() {
    // A cold compile of probe.wasm, bypassing the on-disk cache.
    let cache = std::env::temp_dir().join(format!("weerbaar-host-cache-bench-{}", std::process::id()));
    std::env::set_var("WEERBAAR_HOST_CACHE", &cache);
    let t = Instant::now();
    let app = start(probe_options());
    println!("cold start (compile probe.wasm, {} components): {:?}", 7, t.elapsed());
    drop(app);
    let t = Instant::now();
    let app = start(probe_options());
    println!("warm start (compiled component cached): {:?}", t.elapsed());
    let _ = std::fs::remove_dir_all(&cache);

    let url = format!("{}/probe?do=noop", app.url());
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    for _ in 0..200 {
        agent.get(&url).call().unwrap();
    }
    for clients in [1usize, 16] {
        let per_client = 4000 / clients;
        let t = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..clients {
                s.spawn(|| {
                    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
                    for _ in 0..per_client {
                        let mut r = agent.get(&url).call().unwrap();
                        assert_eq!(r.body_mut().read_to_string().unwrap(), "ok");
                    }
                });
            }
        });
        let elapsed = t.elapsed();
        let n = per_client * clients;
        println!(
            "{clients:>2} client(s): {n} trivial requests in {elapsed:.2?} = {:.0} requests/s ({:.2?} each)",
            n as f64 / elapsed.as_secs_f64(),
            elapsed / n as u32
        );
    }
    let _ = Duration::ZERO;
}

/// Reading N keys in one request: `batch::get_many` against one `get` per key (what the
/// store port does, since get_many breaks on Spin's Redis store), on Spin's SQLite store
/// and on Redis, side by side in one run and interleaved in rounds so that the
/// machine's noise hits every variant alike. Prints requests/s and the ratio to a
/// request that does not touch the store.
#[test]
#[ignore = "a measurement; prints figures instead of asserting behaviour"]
fn batch_reads_against_one_get_per_key() {
    let sqlite = start(probe_options());
    let mut o = probe_options();
    o.store = weerbaar_tests::StoreBacking::fresh_redis().expect("a redis-server");
    let redis = start(o);
    for app in [&sqlite, &redis] {
        let pairs: String = (0..50).map(|i| format!("key{i:02}=value-{i}-{}\n", "x".repeat(400))).collect();
        assert_eq!(post(app, "/probe?do=kv&op=set_many", &pairs).body, "ok");
    }
    let keys = |n: usize| (0..n).map(|i| format!("key{i:02}")).collect::<Vec<_>>().join(",");
    let mut variants: Vec<(String, String)> =
        vec![("no store access".into(), format!("{}/probe?do=noop", sqlite.url()))];
    for n in [1usize, 10, 50] {
        variants.push((
            format!("SQLite get_many x{n}"),
            format!("{}/probe?do=kv&op=get_many&key={}", sqlite.url(), keys(n)),
        ));
        variants.push((format!("SQLite {n} gets"), format!("{}/probe?do=kv&op=gets&key={}", sqlite.url(), keys(n))));
        variants.push((format!("Redis {n} gets"), format!("{}/probe?do=kv&op=gets&key={}", redis.url(), keys(n))));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let mut spent = vec![Duration::ZERO; variants.len()];
    let (rounds, per_round) = (6u32, 150u32);
    for round in 0..=rounds {
        for (i, (_, url)) in variants.iter().enumerate() {
            let t = Instant::now();
            for _ in 0..per_round {
                let mut r = agent.get(url).call().unwrap();
                assert!(r.body_mut().read_to_string().unwrap().starts_with("ok"));
            }
            // Round 0 warms up.
            if round > 0 {
                spent[i] += t.elapsed();
            }
        }
    }
    let rate = |d: Duration| f64::from(rounds * per_round) / d.as_secs_f64();
    let baseline = rate(spent[0]);
    println!("{:<22} {:>10} {:>12}", "request (1 client)", "req/s", "vs no store");
    for ((name, _), d) in variants.iter().zip(&spent) {
        println!("{name:<22} {:>10.0} {:>12.2}", rate(*d), rate(*d) / baseline);
    }
}
