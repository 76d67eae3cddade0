//! Need to know, end to end (issue 13): who owns subscriptions, operator events, staff
//! tokens, and the directory network. Every endpoint of directory and notification as
//! each caller, with the answer it must get, is the table in `access_table.rs`.

use serde_json::{json, Value};

use crate::e2e::callers::{case_event, issue, post_event, subscribe, Callers};
use crate::e2e::receiver::Receiver;
use crate::e2e::{call, get, options, staff, start, Reply, ADMIN_TOKEN, INTERNAL_SECRET};

/// Subscriptions belong to an organisation (issue 13, point 1): the creator's, whose
/// filter is forced to it, or the programme's when a programme admin subscribes across
/// organisations; lists show only what the caller may manage. What every endpoint
/// answers each caller is the table in `access_table.rs`.
#[test]
fn subscriptions_belong_to_their_creators_organisation() {
    let app = crate::e2e::start(crate::e2e::webhook_options());
    let receiver = Receiver::start();
    let who = Callers::issue(&app);
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

    let id = |r: &Reply| r.body["id"].as_str().unwrap().to_string();
    let (ngb_id, programme_id) = (&id(&ngb), &id(&programme));

    // Lists show only what the caller may manage.
    let listed = |token: &str| -> Vec<String> {
        let r = staff(&app, token, "GET", "/notification/subscriptions", &[], None);
        r.body["subscriptions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
    };
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
    let app = crate::e2e::start(crate::e2e::webhook_options());
    let operators = Receiver::start();
    let gone = Receiver::start();
    gone.answer(410, None);
    let who = Callers::issue(&app);
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
        let r = crate::e2e::call(
            &app,
            "POST",
            "/notification/sweep",
            &[("weerbaar-internal-secret", INTERNAL_SECRET)],
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        app.advance_clock(std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!((disabled("/ngb"), disabled("/programme"), disabled("/nvvr")), (1, 1, 0));
}

#[test]
fn staff_tokens_name_a_holder_expire_and_are_listed_and_revoked_on_the_record() {
    let app = crate::e2e::start(crate::e2e::options());
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
    let app = crate::e2e::start(crate::e2e::options().variable("bootstrap_admin_enabled", "false"));
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
    let who = Callers::issue(&app);
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
