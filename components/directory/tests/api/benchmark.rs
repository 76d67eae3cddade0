//! Matching over 10,000 members, next to the cost of one key-value get in the same run.
//!
//! Not a test of timings (nothing here asserts one); run it to print the figures:
//! `cargo test -p directory --release --test api benchmark:: -- --ignored --nocapture`

use directory::config::DirectoryConfig;
use directory::context::Ctx;
use directory::core::matching::{match_members, Criteria};
use directory::core::member::{Contact, Coverage, LeaveUntil, MemberProfile, Municipality, Profile};
use directory::core::record::member_key;
use directory::core::registry::{self, MAX_IMPORT};
use shared::clock::ManualClock;
use shared::crypto::Keyring;
use shared::domain::{Expertise, Language, Organisation, RegionCode, Role, SupportNeed};
use shared::id::MemberId;
use shared::kv::memory::MemoryStore;
use shared::kv::KeyValue;
use shared::outbound::NoOutbound;
use shared::random::{Random, SeededRandom};
use shared::time::Timestamp;
use std::time::Instant;

const MEMBERS: usize = 10_000;
const MATCHES: usize = 500;

/// What both benchmarks run the directory's core with: a memory store, a seeded random
/// source, a fixed clock, and the configuration.
struct Bench {
    store: MemoryStore,
    random: SeededRandom,
    clock: ManualClock,
    config: DirectoryConfig,
    variables: shared::config::MapVariables,
}

impl Bench {
    fn new() -> Bench {
        let keyring = Keyring::parse(&format!("k1:{}", shared::crypto::base64_encode(&[3u8; 32]))).unwrap();
        Bench {
            store: MemoryStore::new(),
            random: SeededRandom::new(2026),
            clock: ManualClock::at(Timestamp::parse("2026-11-28T12:00:00Z").unwrap()),
            config: DirectoryConfig {
                keyring,
                record_mac: shared::auth::RecordMac::parse(&shared::crypto::base64_encode(&[4u8; 32])).unwrap(),
                internal_secret: "bench".into(),
                admin_token: "bench".into(),
            },
            variables: shared::config::MapVariables::from_pairs(&[]),
        }
    }

    fn ports(&self) -> shared::web::Ports<'_, NoOutbound> {
        shared::web::Ports {
            outbound: &NoOutbound,
            clock: &self.clock,
            random: &self.random,
            variables: &self.variables,
        }
    }
}

fn pick<T: Copy>(r: &SeededRandom, from: &[T]) -> T {
    from[(r.next_u64() % from.len() as u64) as usize]
}

fn member(r: &SeededRandom, i: usize) -> MemberProfile {
    let region = pick(r, RegionCode::ALL);
    let coverage = match r.next_u64() % 50 {
        0 => Coverage::National,
        1..=10 => Coverage::Regions(vec![region, pick(r, RegionCode::ALL)]),
        _ => Coverage::Regions(vec![region]),
    };
    let profile = if i % 5 < 2 {
        Profile::Peer {
            role: pick(r, Role::ALL),
            organisation: pick(r, Organisation::ALL),
            municipality: Municipality::parse(&format!("Gemeente {}", r.next_u64() % 340)).unwrap(),
        }
    } else {
        Profile::Expert { expertise: vec![pick(r, Expertise::ALL)], specialties: vec!["bench".into()] }
    };
    MemberProfile {
        name: format!("Bench Member {i}"),
        profile,
        coverage,
        languages: if i.is_multiple_of(3) { vec![Language::Dutch, Language::English] } else { vec![Language::Dutch] },
        capacity: 1 + (r.next_u64() % 5) as u32,
        on_leave_until: i.is_multiple_of(20).then(|| LeaveUntil::parse("2099-01-01").unwrap()),
        contact: Contact { email: Some(format!("bench{i}@example.org")), phone: None, note: None },
    }
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn matching_over_ten_thousand_members() {
    let bench = Bench::new();
    let (store, random, ports) = (&bench.store, &bench.random, bench.ports());
    let ctx = Ctx::new(store, &ports, &bench.config, "bench");

    let loading = Instant::now();
    let mut ids: Vec<MemberId> = Vec::new();
    let profiles: Vec<MemberProfile> = (0..MEMBERS).map(|i| member(random, i)).collect();
    for batch in profiles.chunks(MAX_IMPORT) {
        ids.extend(registry::import(&ctx, batch.iter().map(|p| (None, p.clone())).collect()).unwrap());
    }
    let load_time = loading.elapsed();

    // One get of a member document: the unit everything else is measured in.
    let gets = 20_000;
    let started = Instant::now();
    for i in 0..gets {
        std::hint::black_box(store.get(&member_key(&ids[(i * 7919) % ids.len()])).unwrap());
    }
    let get_ns = started.elapsed().as_nanos() as f64 / gets as f64;

    let needs = [
        vec![SupportNeed::Peer],
        vec![SupportNeed::Security],
        vec![SupportNeed::Peer, SupportNeed::Legal, SupportNeed::Aftercare],
        vec![
            SupportNeed::Peer,
            SupportNeed::Security,
            SupportNeed::Legal,
            SupportNeed::Aftercare,
            SupportNeed::Prevention,
        ],
    ];
    println!();
    println!("directory matching benchmark: {MEMBERS} members on MemoryStore (native), loaded in {load_time:.2?}");
    println!("  one KV get of a member document: {get_ns:>10.0} ns   (= 1.0 get)");
    for needs in &needs {
        store.reset_ops();
        let mut candidates = 0usize;
        let started = Instant::now();
        for i in 0..MATCHES {
            let request = Criteria {
                role: pick(random, Role::ALL),
                region: RegionCode::ALL[i % 25],
                municipality: Municipality::parse(&format!("Gemeente {}", i % 340)).unwrap(),
                needs: needs.clone(),
                language: Language::Dutch,
                limit: 5,
            };
            let result = match_members(&ctx, &request).unwrap().matches;
            candidates += result.iter().map(|n| n.candidates.len()).sum::<usize>();
        }
        let per_match_ns = started.elapsed().as_nanos() as f64 / MATCHES as f64;
        let ops = store.ops() as f64 / MATCHES as f64;
        let label: Vec<&str> = needs.iter().map(|n| n.as_str()).collect();
        println!(
            "  match {:<44} {:>10.0} ns   (= {:>6.1} gets)   {:>5.1} KV ops/match   {:.1} candidates/match",
            label.join("+"),
            per_match_ns,
            per_match_ns / get_ns,
            ops,
            candidates as f64 / MATCHES as f64
        );
    }
    println!("  (a full scan would be {MEMBERS} member reads per match)");
}

/// A member as `tests/bench` imports them: 40% peers, 60% experts of one kind, one
/// region each, everyone speaking Dutch, nobody on leave.
fn bench_member(i: usize) -> MemberProfile {
    let region = RegionCode::ALL[(i * 7) % RegionCode::ALL.len()];
    let profile = if i % 5 < 2 {
        Profile::Peer {
            role: [Role::Mayor, Role::Alderman, Role::CouncilMember][i % 3],
            organisation: Organisation::Nvvr,
            municipality: Municipality::parse(&format!("Gemeente {}", i % 340)).unwrap(),
        }
    } else {
        Profile::Expert { expertise: vec![Expertise::ALL[i % 3]], specialties: vec!["aangifte".into()] }
    };
    MemberProfile {
        name: format!("Bench Member {i}"),
        profile,
        coverage: Coverage::Regions(vec![region]),
        languages: vec![Language::Dutch],
        capacity: 1 + (i % 5) as u32,
        on_leave_until: None,
        contact: Contact { email: None, phone: Some("+31 6 55509876".into()), note: None },
    }
}

/// Growth: the match of `tests/bench` (peer + security, region varying) at 100, 1,000
/// and 10,000 members, store operations and time per match side by side in one run.
#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn match_growth_with_the_directory() {
    let bench = Bench::new();
    let (store, ports) = (&bench.store, bench.ports());
    let ctx = Ctx::new(store, &ports, &bench.config, "bench");
    println!();
    println!("directory match growth (peer + security, limit 5, MemoryStore, native)");
    println!("  members   import ops/member   KV ops/match   us/match   candidates/match");
    let mut have = 0;
    for size in [100, 1_000, 10_000] {
        store.reset_ops();
        let profiles: Vec<MemberProfile> = (have..size).map(bench_member).collect();
        for batch in profiles.chunks(150) {
            registry::import(&ctx, batch.iter().map(|p| (None, p.clone())).collect()).unwrap();
        }
        let import_ops = store.ops() as f64 / (size - have) as f64;
        have = size;
        store.reset_ops();
        let mut candidates = 0usize;
        let started = Instant::now();
        for i in 0..MATCHES {
            let request = Criteria {
                role: Role::Mayor,
                region: RegionCode::ALL[i % 25],
                municipality: Municipality::parse("Gemeente 1").unwrap(),
                needs: vec![SupportNeed::Peer, SupportNeed::Security],
                language: Language::Dutch,
                limit: 5,
            };
            let result = match_members(&ctx, &request).unwrap().matches;
            candidates += result.iter().map(|n| n.candidates.len()).sum::<usize>();
        }
        let us = started.elapsed().as_micros() as f64 / MATCHES as f64;
        let ops = store.ops() as f64 / MATCHES as f64;
        println!(
            "  {size:>7}   {import_ops:>17.2}   {ops:>12.1}   {us:>8.0}   {:>16.1}",
            candidates as f64 / MATCHES as f64
        );
    }
}
