//! directory.wasm end to end: real HTTP into the real component on the test host, with
//! Spin's key-value semantics (SQLite, or real Redis with `WEERBAAR_TEST_STORE=redis`).
//!
//! Build the component first: `cargo build --target wasm32-wasip2 --release -p directory`.

use crate::e2e::Reply;
use serde_json::{json, Value};
use weerbaar_tests::{Options, TestApp};

const ADMIN: &str = "admin-token-for-directory-e2e-0123456789";
const INTERNAL: &str = "internal-secret-for-directory-e2e-0123";

fn options() -> Options {
    let mut o = Options::new(weerbaar_tests::project_manifest())
        .only(&["directory"])
        .variable("directory_keys", format!("k1:{}", shared::crypto::base64_encode(&[21u8; 32])))
        // Required by the app manifest, read by components this test does not run.
        .variable("case_keys", format!("c1:{}", shared::crypto::base64_encode(&[24u8; 32])))
        .variable("webhook_keys", format!("w1:{}", shared::crypto::base64_encode(&[25u8; 32])))
        .variable("record_mac_key", shared::crypto::base64_encode(&[23u8; 32]))
        .variable("receipt_hmac_key", shared::crypto::base64_encode(&[22u8; 32]))
        .variable("internal_secret", INTERNAL)
        .variable("admin_token", ADMIN);
    o.environment_variables = false;
    o.echo_logs = false;
    o.store = crate::e2e::backing();
    o
}

fn start() -> TestApp {
    TestApp::start(options()).expect("the directory starts")
}

/// Sends a request through the suite's one client and holds the answer to the
/// operation `template` of openapi.yaml.
fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    template: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let mut all = headers.to_vec();
    if body.is_some() {
        all.push(("content-type", "application/json"));
    }
    let reply = crate::e2e::call(app, method, path, &all, body.map(|b| serde_json::to_vec(b).unwrap()));
    reply.conforms(method, template);
    reply
}

fn admin(app: &TestApp, method: &str, path: &str, template: &str, body: Option<&Value>) -> Reply {
    call(app, method, path, template, &[("authorization", &format!("Bearer {ADMIN}"))], body)
}

fn internal(app: &TestApp, path: &str, template: &str, body: &Value) -> Reply {
    call(app, "POST", path, template, &[("weerbaar-internal-secret", INTERNAL)], Some(body))
}

fn create(app: &TestApp, member: Value) -> String {
    let r = admin(app, "POST", "/directory/members", "/directory/members", Some(&member));
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn peer(name: &str, role: &str, region: &str, municipality: &str) -> Value {
    json!({
        "name": name, "kind": "peer", "role": role, "organisation": "nvvr", "municipality": municipality,
        "regions": [region], "languages": ["nl"], "capacity": 3,
        "contact": { "email": format!("{}@example.org", name.to_lowercase()), "phone": "+31 6 55501234" }
    })
}

fn expert(name: &str, expertise: &str, regions: &[&str], capacity: u32) -> Value {
    json!({
        "name": name, "kind": "expert", "expertise": [expertise], "specialties": ["aangifte"],
        "regions": regions, "languages": ["nl"], "capacity": capacity, "contact": { "phone": "+31 6 55509876" }
    })
}

fn matches(app: &TestApp, region: &str, municipality: &str, needs: &[&str]) -> Value {
    let request =
        json!({ "role": "alderman", "region": region, "municipality": municipality, "needs": needs, "language": "nl" });
    let r = internal(app, "/directory/internal/match", "/directory/internal/match", &request);
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn ids(m: &Value, need: usize) -> Vec<String> {
    m["matches"][need]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["member_id"].as_str().unwrap().to_string())
        .collect()
}

fn assign(app: &TestApp, member: &str, case: u32) -> Reply {
    let path = format!("/directory/internal/members/{member}/assign");
    internal(
        app,
        &path,
        "/directory/internal/members/{member_id}/assign",
        &json!({ "case_id": format!("case_{case:026}") }),
    )
}

fn store_text(app: &TestApp) -> String {
    app.kv_dump("default").into_iter().map(|(k, v)| format!("{k}={}\n", String::from_utf8_lossy(&v))).collect()
}

#[test]
fn health_answers_with_the_store_up() {
    let app = start();
    let r = call(&app, "GET", "/directory/health", "/directory/health", &[], None);
    assert_eq!(
        (r.status, r.body["component"].as_str(), r.body["store"].as_str()),
        (200, Some("directory"), Some("ok"))
    );
}

#[test]
fn crud_with_version_conflicts_and_sealed_contacts() {
    {
        let app = start();
        let created = admin(
            &app,
            "POST",
            "/directory/members",
            "/directory/members",
            Some(&peer("Saskia", "mayor", "VR09", "Houten")),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.header("etag"), Some("\"1\""));
        let id = created.body["id"].as_str().unwrap().to_string();
        let path = format!("/directory/members/{id}");
        let template = "/directory/members/{member_id}";
        let read = admin(&app, "GET", &format!("{path}?reason=network_maintenance"), template, None);
        assert_eq!(read.body["contact"]["email"], "saskia@example.org");
        assert_eq!(read.header("cache-control"), Some("no-store"));
        assert!(!store_text(&app).contains("saskia@example.org"), "contact sealed at rest");

        let changed = peer("Saskia", "mayor", "VR10", "Houten");
        let auth = format!("Bearer {ADMIN}");
        let missing = call(&app, "PUT", &path, template, &[("authorization", &auth)], Some(&changed));
        assert_eq!(missing.status, 428);
        let ok = call(&app, "PUT", &path, template, &[("authorization", &auth), ("if-match", "\"1\"")], Some(&changed));
        assert_eq!((ok.status, ok.header("etag")), (200, Some("\"2\"")), "{}", ok.body);
        let stale =
            call(&app, "PUT", &path, template, &[("authorization", &auth), ("if-match", "\"1\"")], Some(&changed));
        assert_eq!(stale.status, 412);

        let gone =
            admin(&app, "POST", &format!("{path}/deactivate"), "/directory/members/{member_id}/deactivate", None);
        assert_eq!((gone.status, gone.body["availability"].as_str()), (200, Some("deactivated")));
        let again = admin(&app, "GET", &format!("{path}?reason=network_maintenance"), template, None);
        assert_eq!(again.status, 200, "never hard-deleted");
        assert!(ids(&matches(&app, "VR10", "Hoorn", &["peer"]), 0).is_empty());
        let logs = app.logs_text();
        assert!(!logs.contains("saskia@example.org") && !logs.contains("Houten"), "nothing personal in logs");
    }
}

#[test]
fn import_is_all_or_nothing_and_lists_every_bad_record() {
    let app = start();
    let mut records = vec![peer("Een", "mayor", "VR01", "Groningen"), expert("Twee", "legal", &["VR01"], 2)];
    records.push(json!({ "name": "Drie", "kind": "peer", "regions": ["VR77"], "languages": ["nl"], "capacity": 1, "contact": {} }));
    records.push(expert("Vier", "legal", &["VR02"], 2));
    records[3]["wings"] = true.into();
    let before = app.kv_dump("default");
    let r = admin(&app, "POST", "/directory/members/import", "/directory/members/import", Some(&json!(records)));
    assert_eq!(r.status, 422, "{}", r.body);
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(
        fields.contains(&"/2/regions/0") && fields.contains(&"/2/role") && fields.contains(&"/3/wings"),
        "{fields:?}"
    );
    assert_eq!(app.kv_dump("default"), before, "nothing written");

    let demo: Value = serde_json::from_str(include_str!("../../../components/directory/demo/network.json")).unwrap();
    let loaded = admin(&app, "POST", "/directory/members/import", "/directory/members/import", Some(&demo));
    assert_eq!((loaded.status, loaded.body["imported"].as_u64()), (201, Some(demo.as_array().unwrap().len() as u64)));
    let before = app.kv_dump("default");
    let again = admin(&app, "POST", "/directory/members/import", "/directory/members/import", Some(&demo));
    assert_eq!(again.status, 409);
    assert_eq!(app.kv_dump("default"), before, "loading the demo twice changes nothing");
    for region in shared::domain::RegionCode::ALL {
        let m =
            matches(&app, region.as_str(), "Nergenshuizen", &["peer", "security", "legal", "aftercare", "prevention"]);
        for need in 0..5 {
            assert!(!ids(&m, need).is_empty(), "{region}: nobody for need {need}");
        }
    }
}

#[test]
fn matching_rules_conflict_of_interest_leave_capacity_fallback_and_ties() {
    let app = start();
    let own_town = create(&app, peer("Eigen", "alderman", "VR05", "Enschede"));
    let region = create(&app, peer("Regio", "mayor", "VR05", "Hengelo"));
    let province = create(&app, peer("Provincie", "alderman", "VR04", "Zwolle"));
    let mut national = peer("Landelijk", "alderman", "VR01", "Den Haag");
    national["regions"] = json!(["national"]);
    let national = create(&app, national);
    let mut away = peer("Weg", "alderman", "VR05", "Almelo");
    away["on_leave_until"] = "2099-01-01".into();
    let away = create(&app, away);
    let full = create(&app, expert("Vol", "legal", &["VR05"], 1));
    assert_eq!(assign(&app, &full, 1).status, 200);
    let mut tied: Vec<String> =
        (0..3).map(|i| create(&app, expert(&format!("Gelijk{i}"), "security", &["VR05"], 2))).collect();
    tied.sort();

    let m = matches(&app, "VR05", "enschede", &["peer", "legal", "prevention"]);
    assert_eq!(ids(&m, 0), [region, province, national], "region, then province, then national");
    let text = m.to_string();
    assert!(!text.contains(&own_town) && !text.contains(&away) && !text.contains(&full));
    assert!(ids(&m, 1).is_empty(), "the only legal expert is at capacity");
    assert_eq!(ids(&m, 2), tied, "equal scores in member-id order");
    assert!(!app.logs_text().to_lowercase().contains("enschede"), "the case's municipality is never logged");
}

#[test]
fn twenty_parallel_assignments_to_capacity_three_let_exactly_three_through() {
    {
        let app = start();
        let member = create(&app, expert("Rand", "aftercare", &["VR17"], 3));
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..20)
                .map(|i| {
                    let (app, member) = (&app, &member);
                    s.spawn(move || assign(app, member, i).status)
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 17, "{statuses:?}");
        let read = admin(
            &app,
            "GET",
            &format!("/directory/members/{member}?reason=network_maintenance"),
            "/directory/members/{member_id}",
            None,
        );
        assert_eq!(read.body["open_cases"], 3);
        let first_winner = statuses.iter().position(|s| *s == 200).unwrap() as u32;
        let repeat = assign(&app, &member, first_winner);
        assert_eq!(repeat.status, 200);
        assert_eq!(repeat.body["open_cases"], 3, "assigning a case it has counts once");
    }
}

#[test]
fn only_admins_reach_the_admin_api_and_only_components_the_internal_one() {
    let app = start();
    let member = create(&app, peer("Toegang", "mayor", "VR20", "Breda"));
    let path = format!("/directory/members/{member}");
    let template = "/directory/members/{member_id}";
    assert_eq!(call(&app, "GET", &path, template, &[], None).status, 401);
    assert_eq!(call(&app, "GET", &path, template, &[("authorization", "Bearer wbt_nope")], None).status, 401);
    assert_eq!(call(&app, "GET", &path, template, &[("weerbaar-internal-secret", INTERNAL)], None).status, 401);
    let list = call(&app, "GET", "/directory/members", "/directory/members", &[("authorization", "Bearer nope")], None);
    assert_eq!(list.status, 401);
    let request =
        json!({ "role": "mayor", "region": "VR20", "municipality": "Tilburg", "needs": ["peer"], "language": "nl" });
    let as_admin = call(
        &app,
        "POST",
        "/directory/internal/match",
        "/directory/internal/match",
        &[("authorization", &format!("Bearer {ADMIN}"))],
        Some(&request),
    );
    assert_eq!(as_admin.status, 401, "the internal path wants the internal secret");
    let twin = admin(&app, "POST", "/directory/match", "/directory/match", Some(&request));
    assert_eq!((twin.status, ids(&twin.body, 0)), (200, vec![member.clone()]));
    let no_secret = call(
        &app,
        "POST",
        &format!("/directory/internal/members/{member}/assign"),
        "/directory/internal/members/{member_id}/assign",
        &[],
        Some(&json!({"case_id": format!("case_{:026}", 1)})),
    );
    assert_eq!(no_secret.status, 401);
}

/// Matching over 10,000 members through the real `.wasm` over HTTP, next to a request that
/// costs one key-value operation (`/directory/health`: one `exists`) in the same run.
/// Prints figures, asserts none: `cargo test -p weerbaar-tests --release --test suite directory_e2e:: -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn benchmark_matching_over_ten_thousand_members_over_http() {
    let app = start();
    let regions: Vec<&str> = shared::domain::RegionCode::ALL.iter().map(|r| r.as_str()).collect();
    let kinds = ["security", "legal", "aftercare"];
    let started = std::time::Instant::now();
    // The members of tests/bench, one expert in fifty covering the whole country instead.
    let members: Vec<Value> = (0..10_000usize)
        .map(|i| match i % 50 {
            3 => expert(&format!("N{i}"), kinds[i % 3], &["national"], 1 + (i % 5) as u32),
            _ => crate::bench::member(i),
        })
        .collect();
    for batch in members.chunks(150) {
        let r = admin(&app, "POST", "/directory/members/import", "/directory/members/import", Some(&json!(batch)));
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let load_time = started.elapsed();
    let rounds = 300;
    let time = |f: &dyn Fn(usize)| {
        let t = std::time::Instant::now();
        for i in 0..rounds {
            f(i);
        }
        t.elapsed().as_secs_f64() * 1000.0 / rounds as f64
    };
    let health_ms =
        time(&|_| assert_eq!(call(&app, "GET", "/directory/health", "/directory/health", &[], None).status, 200));
    println!();
    println!("directory over HTTP on the test host: 10,000 members loaded in {load_time:.1?} (67 imports)");
    println!("  GET /directory/health (1 KV op)              {health_ms:>8.2} ms/request   (= 1.0)");
    for needs in [vec!["peer"], vec!["peer", "security", "legal", "aftercare", "prevention"]] {
        let ms = time(&|i| {
            matches(&app, regions[i % 25], "Gemeente 1", &needs);
        });
        println!(
            "  POST /directory/internal/match {:<14} {ms:>8.2} ms/request   (= {:.1} health requests)",
            needs.len().to_string() + " need(s)",
            ms / health_ms
        );
    }
}

/// Growth of the match of `tests/bench` (peer + security, region varying) with the
/// directory, through the real `.wasm`: store operations per match as the host counts
/// them, and time per match (the host's time to the component's answer, and the client's),
/// at 100, 1,000 and 10,000 members in one run. Prints figures, asserts none:
/// `cargo test -p weerbaar-tests --test suite directory_e2e::match_growth -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn match_growth_with_the_directory_over_http() {
    use weerbaar_tests::OpKind;
    let app = start();
    let regions: Vec<&str> = shared::domain::RegionCode::ALL.iter().map(|r| r.as_str()).collect();
    let rounds = 200;
    println!();
    println!("directory match growth over HTTP (peer + security, limit 5), {rounds} matches a size");
    println!("  members   reads  ctr rd  writes   cas   incr   host ms p50   client ms/match");
    let mut have = 0;
    for size in [100usize, 1_000, 10_000] {
        let records: Vec<Value> = (have..size).map(crate::bench::member).collect();
        for batch in records.chunks(150) {
            let r = admin(&app, "POST", "/directory/members/import", "/directory/members/import", Some(&json!(batch)));
            assert_eq!(r.status, 201, "{}", r.body);
        }
        have = size;
        for region in &regions {
            matches(&app, region, "Gemeente 1", &["peer", "security"]);
        }
        app.record(true);
        let started = std::time::Instant::now();
        for i in 0..rounds {
            matches(&app, regions[i % 25], "Gemeente 1", &["peer", "security"]);
        }
        let client_ms = started.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
        let ops = app.take_store_ops();
        let mut took: Vec<f64> = app
            .take_request_timings()
            .into_iter()
            .filter(|t| t.component == "directory")
            .map(|t| t.took.as_secs_f64() * 1000.0)
            .collect();
        app.record(false);
        took.sort_by(f64::total_cmp);
        let per = |kind: OpKind| ops.iter().filter(|o| o.kind == kind).count() as f64 / rounds as f64;
        println!(
            "  {size:>7}  {:>6.1}  {:>6.1}  {:>6.1}  {:>4.1}  {:>5.1}   {:>11.2}   {client_ms:>15.2}",
            per(OpKind::Read),
            per(OpKind::CounterRead),
            per(OpKind::Write),
            per(OpKind::Cas),
            per(OpKind::Increment),
            took.get(took.len() / 2).copied().unwrap_or(0.0)
        );
    }
}
