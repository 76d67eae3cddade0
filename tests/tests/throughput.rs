//! Measurements of the host itself, not behaviour: run with
//! `cargo test -p weerbaar-tests --test throughput -- --ignored --nocapture`
//! (add `--release` for the optimised host).
mod common;
use common::*;
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
