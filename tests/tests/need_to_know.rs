//! Need to know, end to end (issue 13): every staff endpoint of notification, called
//! as each of four callers, answers only what that caller may know. Another
//! organisation's admin gets 404 wherever the object is not theirs, never 403.

use serde_json::{json, Value};
use weerbaar_tests::TestApp;

mod e2e;

use e2e::receiver::Receiver;
use e2e::{call, get, options, staff, start, Reply, ADMIN_TOKEN, INTERNAL_SECRET};

/// The four callers, in the order of every row's expected statuses.
struct Callers {
    /// A confidant of NGB.
    confidant: String,
    /// An admin of NGB, the organisation that owns the object.
    owner: String,
    /// An admin of NVvR.
    other: String,
    /// A BZK admin with the programme scope.
    programme: String,
}

impl Callers {
    fn each(&self) -> [(&'static str, &str); 4] {
        [
            ("confidant", &self.confidant),
            ("owning admin", &self.owner),
            ("other organisation's admin", &self.other),
            ("programme admin", &self.programme),
        ]
    }
}

fn issue(app: &TestApp, by: &str, body: Value) -> String {
    let r = staff(app, by, "POST", "/triage/tokens", &[], Some(body));
    r.conforms("POST", "/triage/tokens");
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["token"].as_str().unwrap().to_string()
}

fn callers(app: &TestApp) -> Callers {
    let programme = issue(
        app,
        ADMIN_TOKEN,
        json!({"organisation": "bzk", "role": "admin", "holder": "Programme desk", "scope": "programme"}),
    );
    Callers {
        confidant: issue(app, ADMIN_TOKEN, json!({"organisation": "ngb", "role": "confidant", "holder": "NGB desk"})),
        owner: issue(app, ADMIN_TOKEN, json!({"organisation": "ngb", "role": "admin", "holder": "NGB admin"})),
        other: issue(app, ADMIN_TOKEN, json!({"organisation": "nvvr", "role": "admin", "holder": "NVvR admin"})),
        // Issued by a programme admin, who may grant the scope too.
        programme: issue(
            app,
            &programme,
            json!({"organisation": "bzk", "role": "admin", "holder": "Programme lead", "scope": "programme"}),
        ),
    }
}

fn subscribe(app: &TestApp, token: &str, body: Value) -> Reply {
    let r = staff(app, token, "POST", "/notification/subscriptions", &[], Some(body));
    r.conforms("POST", "/notification/subscriptions");
    r
}

fn case_event(n: u32, organisation: &str) -> Value {
    let id = |prefix: &str| format!("{prefix}{:0>26}", format!("ntk{n}"));
    let case = id("case_");
    json!({
        "id": id("evt_"), "type": "case.triaged", "timestamp": "2026-11-28T12:00:00Z",
        "data": {"case_reference": case, "priority": "P2", "organisation": organisation, "region": "VR09",
                 "status": "triaged", "first_contact_due": "2026-11-28T16:00:00Z", "escalation_level": null,
                 "api_link": format!("/triage/cases/{case}")}
    })
}

fn post_event(app: &TestApp, event: &Value) {
    let r = e2e::call(
        app,
        "POST",
        "/notification/internal/events",
        &[("weerbaar-internal-secret", INTERNAL_SECRET), ("content-type", "application/json")],
        Some(serde_json::to_vec(event).unwrap()),
    );
    assert_eq!(r.status, 202, "{}", r.body);
}

/// A subscription and one of its messages.
struct Object {
    sub: String,
    msg: String,
}

fn message_of(app: &TestApp, sub: &str) -> String {
    let r = staff(app, ADMIN_TOKEN, "GET", &format!("/notification/subscriptions/{sub}/messages"), &[], None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["messages"][0]["id"].as_str().expect("a message").to_string()
}

/// The staff routes of notification's router, read from its route table.
fn router_staff_routes() -> Vec<(String, String)> {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../components/notification/src/routes.rs"),
    )
    .unwrap();
    source
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("(\"")?;
            let (method, rest) = rest.split_once("\", \"")?;
            let (path, _) = rest.split_once("\", Endpoint::")?;
            Some((method.to_string(), path.to_string()))
        })
        // Not staff endpoints: internal calls, the sweep and its public tick, health.
        .filter(|(_, path)| {
            !path.contains("/internal/")
                && !path.ends_with("/sweep")
                && !path.ends_with("/sweep/tick")
                && !path.ends_with("/health")
        })
        .collect()
}

/// One endpoint: how to call it on an object, and what each caller gets.
struct Row {
    method: &'static str,
    template: &'static str,
    body: Option<Value>,
    /// confidant, owning admin, other organisation's admin, programme admin
    expect: [u16; 4],
}

fn rows(owned_by_ngb: bool) -> Vec<Row> {
    // The owning admin of a programme subscription is no owner: NGB's admin gets 404.
    let mine = |ok: u16| if owned_by_ngb { [403, ok, 404, ok] } else { [403, 404, 404, ok] };
    let row = |method, template, body, expect| Row { method, template, body, expect };
    vec![
        row("GET", "/notification/subscriptions", None, [403, 200, 200, 200]),
        row("POST", "/notification/subscriptions", Some(json!({"url": "URL"})), [403, 201, 201, 201]),
        row("GET", "/notification/subscriptions/{subscription_id}", None, mine(200)),
        row(
            "PATCH",
            "/notification/subscriptions/{subscription_id}",
            Some(json!({"description": "changed"})),
            mine(200),
        ),
        row("POST", "/notification/subscriptions/{subscription_id}/rotate-secret", None, mine(200)),
        row("POST", "/notification/subscriptions/{subscription_id}/ping", None, mine(200)),
        row("GET", "/notification/subscriptions/{subscription_id}/messages", None, mine(200)),
        row(
            "POST",
            "/notification/subscriptions/{subscription_id}/recover",
            Some(json!({"since": "2000-01-01T00:00:00Z"})),
            mine(202),
        ),
        row("GET", "/notification/messages/{message_id}", None, mine(200)),
        row("GET", "/notification/messages/{message_id}/attempts", None, mine(200)),
        row("POST", "/notification/messages/{message_id}/resend", None, mine(200)),
        // Last: each caller deletes a fresh copy.
        row("DELETE", "/notification/subscriptions/{subscription_id}", None, mine(204)),
    ]
}

#[test]
fn every_notification_endpoint_answers_only_what_the_caller_may_know() {
    let app = e2e::start(e2e::webhook_options());
    let receiver = Receiver::start();
    let who = callers(&app);
    let url = receiver.url("/hook");

    // NGB's admin subscribes without a filter: it is set to NGB.
    let ngb = subscribe(&app, &who.owner, json!({"url": url}));
    assert_eq!(ngb.status, 201, "{}", ngb.body);
    assert_eq!((ngb.body["organisations"].clone(), ngb.body["owner"].clone()), (json!(["ngb"]), json!("ngb")));
    // Another organisation's cases are not NGB's to subscribe to; the programme's are.
    let cross = subscribe(&app, &who.owner, json!({"url": url, "organisations": ["nvvr"]}));
    assert_eq!((cross.status, cross.body["field"].clone()), (422, json!("/organisations")), "{}", cross.body);
    let programme = subscribe(&app, &who.programme, json!({"url": url}));
    assert_eq!(programme.status, 201, "{}", programme.body);
    assert_eq!(
        (programme.body["organisations"].clone(), programme.body["owner"].clone()),
        (json!([]), json!("programme"))
    );

    post_event(&app, &case_event(1, "ngb"));
    let id = |r: &Reply| r.body["id"].as_str().unwrap().to_string();
    let objects = [
        (true, Object { sub: id(&ngb), msg: message_of(&app, &id(&ngb)) }),
        (false, Object { sub: id(&programme), msg: message_of(&app, &id(&programme)) }),
    ];

    // The table covers exactly the router's staff endpoints.
    let mut covered: Vec<(String, String)> =
        rows(true).iter().map(|r| (r.method.to_string(), r.template.to_string())).collect();
    let mut routed = router_staff_routes();
    covered.sort();
    routed.sort();
    assert_eq!(covered, routed, "the table must call every staff endpoint of notification's router");

    let mut failures = Vec::new();
    for (owned_by_ngb, object) in &objects {
        for row in rows(*owned_by_ngb) {
            for ((caller, token), expected) in who.each().into_iter().zip(row.expect) {
                let sub = if row.method == "DELETE" {
                    // A fresh copy per caller, owned like the object.
                    let by = if *owned_by_ngb { &who.owner } else { &who.programme };
                    id(&subscribe(&app, by, json!({"url": url})))
                } else {
                    object.sub.clone()
                };
                let path = row.template.replace("{subscription_id}", &sub).replace("{message_id}", &object.msg);
                let mut headers = Vec::new();
                let etag;
                if row.method == "PATCH" {
                    let read = staff(&app, ADMIN_TOKEN, "GET", &path, &[], None);
                    etag = read.header("etag").unwrap().to_string();
                    headers.push(("if-match", etag.as_str()));
                }
                let body = row.body.clone().map(|mut b| {
                    if b.get("url").is_some() {
                        b["url"] = json!(url);
                    }
                    b
                });
                let r = staff(&app, token, row.method, &path, &headers, body);
                r.conforms(row.method, row.template);
                if r.status != expected {
                    failures.push(format!(
                        "{} {} ({}) as {caller}: {} instead of {expected}: {}",
                        row.method,
                        row.template,
                        if *owned_by_ngb { "NGB's" } else { "the programme's" },
                        r.status,
                        r.body
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} wrong answers:\n{}", failures.len(), failures.join("\n"));

    // Lists show only what the caller may manage.
    let listed = |token: &str| -> Vec<String> {
        let r = staff(&app, token, "GET", "/notification/subscriptions", &[], None);
        r.body["subscriptions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
    };
    let (ngb_id, programme_id) = (&objects[0].1.sub, &objects[1].1.sub);
    assert!(listed(&who.owner).contains(ngb_id) && !listed(&who.owner).contains(programme_id));
    assert!(!listed(&who.other).contains(ngb_id) && !listed(&who.other).contains(programme_id));
    assert!(listed(&who.programme).contains(ngb_id) && listed(&who.programme).contains(programme_id));
    // An admin cannot widen their own subscription's filter to another organisation.
    let read = staff(&app, &who.owner, "GET", &format!("/notification/subscriptions/{ngb_id}"), &[], None);
    let widen = staff(
        &app,
        &who.owner,
        "PATCH",
        &format!("/notification/subscriptions/{ngb_id}"),
        &[("if-match", read.header("etag").unwrap())],
        Some(json!({"organisations": []})),
    );
    assert_eq!(widen.status, 200, "{}", widen.body);
    assert_eq!(widen.body["organisations"], json!(["ngb"]));
}

#[test]
fn operator_events_reach_the_programme_and_the_owning_organisation_only() {
    let app = e2e::start(e2e::webhook_options());
    let operators = Receiver::start();
    let gone = Receiver::start();
    gone.answer(410, None);
    let who = callers(&app);
    let operator = |token: &str, path: &str| {
        let r = subscribe(
            &app,
            token,
            json!({"url": operators.url(path), "operator_events": true, "event_types": ["case.closed"]}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    };
    operator(&who.owner, "/ngb");
    operator(&who.other, "/nvvr");
    operator(&who.programme, "/programme");
    // NGB's endpoint answers 410 Gone: the subscription is disabled, and operators told.
    let failing = subscribe(&app, &who.owner, json!({"url": gone.url("/hook"), "event_types": ["case.triaged"]}));
    assert_eq!(failing.status, 201, "{}", failing.body);
    post_event(&app, &case_event(2, "ngb"));

    let disabled = |path: &str| {
        operators.hits_at(path).iter().filter(|h| h.json()["type"] == "operator.endpoint_disabled").count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while (disabled("/ngb") == 0 || disabled("/programme") == 0) && std::time::Instant::now() < deadline {
        let r = e2e::call(&app, "POST", "/notification/sweep", &[("weerbaar-internal-secret", INTERNAL_SECRET)], None);
        assert_eq!(r.status, 200, "{}", r.body);
        app.advance_clock(std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!((disabled("/ngb"), disabled("/programme"), disabled("/nvvr")), (1, 1, 0));
}

#[test]
fn staff_tokens_name_a_holder_expire_and_are_listed_and_revoked_on_the_record() {
    let app = e2e::start(e2e::options());
    let ngb_admin = issue(&app, ADMIN_TOKEN, json!({"organisation": "ngb", "role": "admin", "holder": "Els Bos"}));
    let body = json!({"organisation": "ngb", "role": "confidant", "holder": "Karin Smit", "expires_in_days": 7});
    let r = staff(&app, &ngb_admin, "POST", "/triage/tokens", &[], Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
    let (secret, id) = (r.body["token"].as_str().unwrap().to_string(), r.body["id"].as_str().unwrap().to_string());
    // A holder is required, and no token outlives token_max_days.
    let r = staff(
        &app,
        &ngb_admin,
        "POST",
        "/triage/tokens",
        &[],
        Some(json!({"organisation": "ngb", "role": "confidant"})),
    );
    assert_eq!((r.status, r.body["field"].clone()), (422, json!("/holder")), "{}", r.body);
    let too_long = json!({"organisation": "ngb", "role": "confidant", "holder": "X", "expires_in_days": 366});
    let r = staff(&app, &ngb_admin, "POST", "/triage/tokens", &[], Some(too_long));
    assert_eq!((r.status, r.body["field"].clone()), (422, json!("/expires_in_days")), "{}", r.body);

    // The listing: the organisation's tokens, never a secret or its hash.
    let other = issue(&app, ADMIN_TOKEN, json!({"organisation": "nvvr", "role": "admin", "holder": "Jan Kok"}));
    let listing = staff(&app, &ngb_admin, "GET", "/triage/tokens", &[], None);
    listing.conforms("GET", "/triage/tokens");
    assert_eq!(listing.status, 200, "{}", listing.body);
    let holders: Vec<&str> =
        listing.body["tokens"].as_array().unwrap().iter().map(|t| t["holder"].as_str().unwrap()).collect();
    assert_eq!(holders, ["Els Bos", "Karin Smit"]);
    let text = String::from_utf8_lossy(&listing.raw).to_string();
    let hash = shared::crypto::sha256_hex(secret.as_bytes());
    assert!(!text.contains(&secret) && !text.contains(&hash) && !text.contains("wbt_"), "{text}");
    assert!(!text.contains("Jan Kok"));

    // The token works, then expires: the same 401 as an unknown token.
    let cases = |token: &str| staff(&app, token, "GET", "/triage/cases", &[], None);
    assert_eq!(cases(&secret).status, 200);
    app.advance_clock(std::time::Duration::from_secs(7 * 24 * 3600));
    let (expired, unknown) = (cases(&secret), cases("wbt_0000000000000000"));
    assert_eq!((expired.status, &expired.body["detail"]), (401, &unknown.body["detail"]), "{}", expired.body);

    // Revoking: another organisation's admin gets 404; the owner's revocation is audited with who.
    let path = format!("/triage/tokens/{id}");
    assert_eq!(staff(&app, &other, "DELETE", &path, &[], None).status, 404);
    let revoked = staff(&app, &ngb_admin, "DELETE", &path, &[], None);
    revoked.conforms("DELETE", "/triage/tokens/{token_id}");
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.body["revoked_at"].is_string());
    let audit = staff(&app, &ngb_admin, "GET", "/triage/tokens/audit", &[], None);
    audit.conforms("GET", "/triage/tokens/audit");
    let entries = audit.body["entries"].as_array().unwrap();
    let who_did = |action: &str| -> Vec<(String, String)> {
        entries
            .iter()
            .filter(|e| e["action"] == action)
            .map(|e| (e["token_holder"].as_str().unwrap().to_string(), e["holder"].as_str().unwrap().to_string()))
            .collect()
    };
    assert_eq!(
        who_did("token_issued"),
        [("Els Bos".to_string(), "bootstrap admin".to_string()), ("Karin Smit".into(), "Els Bos".into())]
    );
    assert_eq!(who_did("token_revoked"), [("Karin Smit".to_string(), "Els Bos".to_string())]);
    assert!(!audit.body.to_string().contains("Jan Kok"));
}

#[test]
fn the_bootstrap_admin_can_be_switched_off() {
    let app = e2e::start(e2e::options().variable("bootstrap_admin_enabled", "false"));
    let r = staff(&app, ADMIN_TOKEN, "GET", "/triage/cases", &[], None);
    assert_eq!(r.status, 401, "{}", r.body);
    let r = staff(&app, ADMIN_TOKEN, "GET", "/notification/subscriptions", &[], None);
    assert_eq!(r.status, 401, "{}", r.body);
}

/// A secret too short to protect anything is refused at use: every request of the
/// components that read it answers 503 `misconfigured` naming the variable, never its
/// value, and their health says so (a probe takes them out); intake, which does not
/// read `admin_token`, stays up.
#[test]
fn a_short_admin_token_makes_its_components_answer_misconfigured() {
    let short = "admin-short-0123";
    let mut o = options().variable("admin_token", short);
    o.echo_logs = false;
    let app = start(o);
    let bearer = format!("Bearer {short}");
    let r = call(&app, "GET", "/notification/subscriptions", &[("authorization", bearer.as_str())], None);
    r.conforms("GET", "/notification/subscriptions");
    assert_eq!((r.status, r.body["type"].as_str()), (503, Some("urn:weerbaar:problem:misconfigured")));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("admin_token") && detail.contains("32"), "{detail}");
    for component in ["triage", "notification", "directory"] {
        let path = format!("/{component}/health");
        let health = get(&app, &path);
        health.conforms("GET", &path);
        assert_eq!((health.status, health.body["status"].as_str()), (503, Some("misconfigured")), "{component}");
        assert_eq!(health.body["misconfigured"]["variable"], "admin_token", "{component}");
        assert!(!String::from_utf8_lossy(&health.raw).contains(short));
    }
    assert_eq!(get(&app, "/intake/health").status, 200);
    assert!(!app.logs_text().contains(short), "never logged");
}

fn member(name: &str) -> Value {
    json!({
        "name": name, "kind": "peer", "role": "mayor", "organisation": "ngb", "municipality": "Sneek",
        "regions": ["VR02"], "languages": ["nl"], "capacity": 2, "contact": {"email": "demo-peer@example.org"}
    })
}

/// The directory has owners (issue 13, point 2): only programme admins change the
/// network; other admins and confidants search and match; every contact read is
/// audited with who, why and the case, and a read without a reason writes nothing.
#[test]
fn the_network_is_the_programmes_and_contact_reads_are_audited() {
    let app = start(options());
    let who = callers(&app);
    let created = staff(&app, &who.programme, "POST", "/directory/members", &[], Some(member("Demo-Anna")));
    created.conforms("POST", "/directory/members");
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("/directory/members/{id}");
    let template = "/directory/members/{member_id}";

    for (name, token) in [("confidant", &who.confidant), ("owning admin", &who.owner), ("other admin", &who.other)] {
        let before = app.kv_dump("default");
        let tries = [
            ("POST", "/directory/members".to_string(), "/directory/members", Some(member("Demo-Bert"))),
            (
                "POST",
                "/directory/members/import".into(),
                "/directory/members/import",
                Some(json!([member("Demo-Cor")])),
            ),
            ("PUT", path.clone(), template, Some(member("Demo-Anna"))),
            ("POST", format!("{path}/deactivate"), "/directory/members/{member_id}/deactivate", None),
            ("GET", "/directory/audit/contact-reads".into(), "/directory/audit/contact-reads", None),
            ("GET", "/directory/audit/log-reads".into(), "/directory/audit/log-reads", None),
        ];
        for (method, p, t, body) in tries {
            let r = staff(&app, token, method, &p, &[("if-match", "\"1\"")], body);
            r.conforms(method, t);
            assert_eq!(r.status, 403, "{name} {method} {p}: {}", r.body);
        }
        assert_eq!(app.kv_dump("default"), before, "{name}: a refused change writes nothing");
        let list = staff(&app, token, "GET", "/directory/members", &[], None);
        list.conforms("GET", "/directory/members");
        assert_eq!(list.status, 200, "{name} searches");
        let request = json!({"role": "mayor", "region": "VR02", "municipality": "Leeuwarden", "needs": ["peer"], "language": "nl"});
        let m = staff(&app, token, "POST", "/directory/match", &[], Some(request));
        m.conforms("POST", "/directory/match");
        assert_eq!(m.status, 200, "{name} matches: {}", m.body);
    }

    let before = app.kv_dump("default");
    let refused = staff(&app, &who.other, "GET", &path, &[], None);
    refused.conforms("GET", template);
    assert_eq!((refused.status, refused.body["field"].as_str()), (400, Some("reason")));
    assert_eq!(app.kv_dump("default"), before, "a read without a reason writes nothing");

    let case = format!("case_{:026}", 5);
    let read = staff(&app, &who.other, "GET", &format!("{path}?reason=case_contact&case_id={case}"), &[], None);
    read.conforms("GET", template);
    assert_eq!((read.status, read.body["contact"]["email"].as_str()), (200, Some("demo-peer@example.org")));
    let log = staff(&app, &who.programme, "GET", "/directory/audit/contact-reads", &[], None);
    log.conforms("GET", "/directory/audit/contact-reads");
    let entries = log.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", log.body);
    assert_eq!(
        (&entries[0]["holder"], &entries[0]["reason"], &entries[0]["case_id"], &entries[0]["member_id"]),
        (&json!("NVvR admin"), &json!("case_contact"), &json!(case), &json!(id))
    );
    assert!(!log.body.to_string().contains("demo-peer@example.org"), "no contact details in the audit");
    // Reading the contact-read log was recorded before it was answered.
    let reads = staff(&app, &who.programme, "GET", "/directory/audit/log-reads", &[], None);
    reads.conforms("GET", "/directory/audit/log-reads");
    let logs: Vec<&str> =
        reads.body["entries"].as_array().unwrap().iter().map(|e| e["log"].as_str().unwrap()).collect();
    assert_eq!(logs, ["contact_reads", "log_reads"], "{}", reads.body);
}
