//! Need to know, as one table (issue 13): every endpoint of directory and notification,
//! called by each of six callers against objects NGB owns (a subscription, its message
//! and that message's attempts, an NGB member of the network), answers exactly the
//! status in its cell. A refused call writes nothing. The rows that name a subscription
//! or message run again on the programme's (a cross-organisation subscription), and those
//! that name a message on one whose NGB subscription was deleted (the programme's now):
//! neither is NGB's, so there NGB's admin gets the 404 NVvR's gets.
//!
//! The table is complete by construction: its (method, path) set must equal both the
//! operations `openapi.yaml` documents under `/directory/` and `/notification/` and the
//! route tables of the two components, so a new route without a row fails here.

use crate::e2e::callers::{case_event, message_of, post_event, subscribe, Callers};
use crate::e2e::receiver::Receiver;
use crate::e2e::{call, staff, Reply, ADMIN_TOKEN, INTERNAL_SECRET};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use weerbaar_tests::TestApp;

/// The columns of the table, in the order of every row's expected statuses.
const COLUMNS: [&str; 6] =
    ["no credential", "internal secret", "NGB confidant", "NGB admin", "NVvR admin", "programme admin"];

/// Who calls, as request headers.
enum Credential<'a> {
    None,
    Internal,
    Bearer(&'a str),
}

/// What a call acts on; a `Fresh` object is made again before each call, because a
/// call that succeeds removes it for good.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Shared,
    Fresh,
}

/// One endpoint: how to call it, and what each column gets.
struct Row {
    method: &'static str,
    template: &'static str,
    query: &'static str,
    body: Option<Value>,
    target: Target,
    expect: [u16; 6],
}

fn row(method: &'static str, template: &'static str, body: Option<Value>, expect: [u16; 6]) -> Row {
    Row { method, template, query: "", body, target: Target::Shared, expect }
}

/// The answers issue 13 and `docs/directory.md` / `docs/notification.md` call for.
/// Staff endpoints refuse the internal secret and internal endpoints refuse a staff
/// token: neither accepts the other's credential (401). An object NGB owns is a 404 to
/// NVvR's admin. The network is the programme's: only programme admins change it and
/// read its audit; any admin reads a member's contact details (audited); all staff
/// search and match.
fn rows(receiver_url: &str, case_id: &str) -> Vec<Row> {
    // Columns: no credential, internal secret, NGB confidant, NGB admin, NVvR admin, programme admin.
    const ANYONE: [u16; 6] = [200; 6];
    let internal = |ok| [401, ok, 401, 401, 401, 401];
    let staff = |ok| [401, 401, ok, ok, ok, ok];
    let admins = |ok| [401, 401, 403, ok, ok, ok];
    let programme = |ok| [401, 401, 403, 403, 403, ok];
    let ngbs = |ok| [401, 401, 403, ok, 404, ok];
    let member = member("Demo-Table");
    let matching =
        json!({"role": "mayor", "region": "VR02", "municipality": "Leeuwarden", "needs": ["peer"], "language": "nl"});
    let case = json!({ "case_id": case_id });
    vec![
        // directory
        row("GET", "/directory/health", None, ANYONE),
        row("POST", "/directory/members/import", Some(json!([member.clone()])), programme(201)),
        row("POST", "/directory/members", Some(member.clone()), programme(201)),
        row("GET", "/directory/members", None, staff(200)),
        Row { query: "?reason=network_maintenance", ..row("GET", "/directory/members/{member_id}", None, admins(200)) },
        row("PUT", "/directory/members/{member_id}", Some(member), programme(200)),
        Row { target: Target::Fresh, ..row("POST", "/directory/members/{member_id}/deactivate", None, programme(200)) },
        row("POST", "/directory/match", Some(matching.clone()), staff(200)),
        row("GET", "/directory/audit/contact-reads", None, programme(200)),
        row("GET", "/directory/audit/log-reads", None, programme(200)),
        row("POST", "/directory/internal/match", Some(matching), internal(200)),
        row("POST", "/directory/internal/members/{member_id}/assign", Some(case.clone()), internal(200)),
        row("POST", "/directory/internal/members/{member_id}/release", Some(case), internal(200)),
        // notification
        row("GET", "/notification/health", None, ANYONE),
        row("POST", "/notification/internal/events", Some(case_event(90, "ngb")), internal(202)),
        row(
            "POST",
            "/notification/internal/events/batch",
            Some(json!({ "events": [case_event(91, "ngb"), case_event(92, "ngb")] })),
            internal(202),
        ),
        // The sweep reports on every organisation's webhooks: the programme's to run.
        row("POST", "/notification/sweep", None, [401, 200, 403, 403, 403, 200]),
        // A platform scheduler's tick: no credential, and it tells only whether it ran.
        row("GET", "/notification/sweep/tick", None, ANYONE),
        row("GET", "/notification/subscriptions", None, admins(200)),
        row("POST", "/notification/subscriptions", Some(json!({"url": receiver_url})), admins(201)),
        row("GET", "/notification/subscriptions/{subscription_id}", None, ngbs(200)),
        row(
            "PATCH",
            "/notification/subscriptions/{subscription_id}",
            Some(json!({"description": "changed"})),
            ngbs(200),
        ),
        Row {
            target: Target::Fresh,
            ..row("DELETE", "/notification/subscriptions/{subscription_id}", None, ngbs(204))
        },
        row("POST", "/notification/subscriptions/{subscription_id}/rotate-secret", None, ngbs(200)),
        row("POST", "/notification/subscriptions/{subscription_id}/ping", None, ngbs(200)),
        row("GET", "/notification/subscriptions/{subscription_id}/messages", None, ngbs(200)),
        row(
            "POST",
            "/notification/subscriptions/{subscription_id}/recover",
            Some(json!({"since": "2000-01-01T00:00:00Z"})),
            ngbs(202),
        ),
        row("GET", "/notification/messages/{message_id}", None, ngbs(200)),
        row("GET", "/notification/messages/{message_id}/attempts", None, ngbs(200)),
        row("POST", "/notification/messages/{message_id}/resend", None, ngbs(200)),
    ]
}

fn member(name: &str) -> Value {
    json!({
        "name": name, "kind": "peer", "role": "mayor", "organisation": "ngb", "municipality": "Sneek",
        "regions": ["VR02"], "languages": ["nl"], "capacity": 2, "contact": {"email": "demo-peer@example.org"}
    })
}

/// Who owns a subscription and its messages.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Owner {
    Ngb,
    Programme,
    /// A message of an NGB subscription since deleted: the programme's.
    Deleted,
}

impl Owner {
    fn objects(self) -> &'static str {
        match self {
            Owner::Ngb => "NGB's objects",
            Owner::Programme => "the programme's subscription",
            Owner::Deleted => "a deleted subscription's message",
        }
    }
}

/// The objects a row acts on, made by their owners.
struct Objects {
    owner: Owner,
    member: String,
    subscription: String,
    message: String,
}

impl Objects {
    fn new_member(app: &TestApp) -> String {
        let r = staff(app, ADMIN_TOKEN, "POST", "/directory/members", &[], Some(member("Demo-Anna")));
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// NGB's admin subscribes (the filter is forced to NGB), or a programme admin
    /// subscribes without a filter (to every organisation's cases, the programme's).
    fn new_subscription(app: &TestApp, who: &Callers, url: &str, owner: Owner) -> String {
        let (token, expected) = match owner {
            Owner::Ngb | Owner::Deleted => (&who.owner, json!({"owner": "ngb", "organisations": ["ngb"]})),
            Owner::Programme => (&who.programme, json!({"owner": "programme", "organisations": []})),
        };
        let r = subscribe(app, token, json!({"url": url}));
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(json!({"owner": r.body["owner"], "organisations": r.body["organisations"]}), expected);
        r.body["id"].as_str().unwrap().to_string()
    }

    fn path(&self, row: &Row, app: &TestApp, who: &Callers, url: &str) -> String {
        let (member, subscription) = match row.target {
            Target::Shared => (self.member.clone(), self.subscription.clone()),
            Target::Fresh if row.template.contains("{member_id}") => (Self::new_member(app), String::new()),
            Target::Fresh => (String::new(), Self::new_subscription(app, who, url, self.owner)),
        };
        let path = row
            .template
            .replace("{member_id}", &member)
            .replace("{subscription_id}", &subscription)
            .replace("{message_id}", &self.message);
        format!("{path}{}", row.query)
    }
}

/// `path` with every id in it replaced by a well-formed id of the same kind that names
/// nothing.
fn ghost(path: &str) -> String {
    let (path, query) = path.split_once('?').map_or((path, String::new()), |(p, q)| (p, format!("?{q}")));
    let path = path
        .split('/')
        .map(|part| match part.split_once('_') {
            Some((kind, body)) if body.len() == 26 => format!("{kind}_{}", "0".repeat(26)),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/");
    format!("{path}{query}")
}

/// The current `ETag` of what `path` names, for the rows that need `If-Match`.
fn etag(app: &TestApp, method: &str, path: &str) -> Option<String> {
    let read = match method {
        "PUT" => format!("{path}?reason=network_maintenance"),
        "PATCH" => path.to_string(),
        _ => return None,
    };
    let r = staff(app, ADMIN_TOKEN, "GET", &read, &[], None);
    assert_eq!(r.status, 200, "{read}: {}", r.body);
    Some(r.header("etag").expect("an ETag").to_string())
}

fn send(
    app: &TestApp,
    credential: &Credential<'_>,
    method: &str,
    path: &str,
    etag: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let bearer;
    let mut headers: Vec<(&str, &str)> = Vec::new();
    match credential {
        Credential::None => {}
        Credential::Internal => headers.push(("weerbaar-internal-secret", INTERNAL_SECRET)),
        Credential::Bearer(token) => {
            bearer = format!("Bearer {token}");
            headers.push(("authorization", &bearer));
        }
    }
    if let Some(etag) = etag {
        headers.push(("if-match", etag));
    }
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    call(app, method, path, &headers, body.map(|b| serde_json::to_vec(b).unwrap()))
}

/// Every operation `openapi.yaml` documents under `prefix`.
fn documented(prefix: &str) -> BTreeSet<(String, String)> {
    let paths = shared::contract::openapi()["paths"].as_object().expect("openapi.yaml has paths");
    let methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
    paths
        .iter()
        .filter(|(path, _)| path.starts_with(prefix))
        .flat_map(|(path, item)| {
            methods.iter().filter(|m| item.get(**m).is_some()).map(|m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

/// Every route of a component's route table, read from its `routes.rs`.
fn routed(component: &str) -> BTreeSet<(String, String)> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../components/{component}/src/routes.rs"));
    let source = std::fs::read_to_string(path).unwrap();
    let table = source.split_once("pub const ROUTES").expect("a route table").1;
    let table = table.split_once("];").expect("the table ends").0;
    let routes: BTreeSet<(String, String)> = table
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("(\"")?;
            let (method, rest) = rest.split_once("\", \"")?;
            let (path, _) = rest.split_once("\", Endpoint::")?;
            Some((method.to_string(), path.to_string()))
        })
        .collect();
    assert_eq!(routes.len(), table.matches("Endpoint::").count(), "every route of {component} was read");
    routes
}

/// The row as it runs on `objects`: all of them on NGB's; on the programme's those that
/// name a subscription or message, and on a deleted subscription's those that name a
/// message, where NGB's admin is a stranger too.
fn run_on(objects: &Objects, mut row: Row) -> Option<Row> {
    let names = |placeholder: &str| row.template.contains(placeholder);
    let runs = match objects.owner {
        Owner::Ngb => return Some(row),
        Owner::Programme => names("{subscription_id}") || names("{message_id}"),
        Owner::Deleted => names("{message_id}"),
    };
    runs.then(|| {
        row.expect[3] = row.expect[4];
        row
    })
}

#[test]
fn the_table_has_a_row_for_every_route_of_directory_and_notification() {
    let rows: BTreeSet<(String, String)> = rows("http://127.0.0.1:1/hook", "case_00000000000000000000000001")
        .iter()
        .map(|r| (r.method.to_string(), r.template.to_string()))
        .collect();
    let mut documented_ops = documented("/directory/");
    documented_ops.extend(documented("/notification/"));
    assert_eq!(rows, documented_ops, "the table and openapi.yaml must list the same operations");
    let mut routes = routed("directory");
    routes.extend(routed("notification"));
    assert_eq!(rows, routes, "the table and the route tables must list the same routes");
}

#[test]
fn every_endpoint_of_directory_and_notification_answers_each_caller_as_the_table_says() {
    let app = crate::e2e::start(crate::e2e::webhook_options());
    let receiver = Receiver::start();
    let url = receiver.url("/hook");
    let who = Callers::issue(&app);

    // A member of the network from NGB; NGB's and the programme's subscriptions, each
    // with a message of an NGB case that has an attempt.
    let member = Objects::new_member(&app);
    let subscriptions = [Owner::Ngb, Owner::Programme, Owner::Deleted]
        .map(|owner| (owner, Objects::new_subscription(&app, &who, &url, owner)));
    post_event(&app, &case_event(1, "ngb"));
    let objects = subscriptions.map(|(owner, subscription)| {
        let message = message_of(&app, &subscription);
        let attempts =
            staff(&app, ADMIN_TOKEN, "GET", &format!("/notification/messages/{message}/attempts"), &[], None);
        assert!(!attempts.body["attempts"].as_array().expect("attempts").is_empty(), "{}", attempts.body);
        if owner == Owner::Deleted {
            let path = format!("/notification/subscriptions/{subscription}");
            assert_eq!(staff(&app, &who.owner, "DELETE", &path, &[], None).status, 204);
        }
        Objects { owner, member: member.clone(), subscription, message }
    });
    let case_id = format!("case_{:026}", 7);

    let credentials = [
        Credential::None,
        Credential::Internal,
        Credential::Bearer(&who.confidant),
        Credential::Bearer(&who.owner),
        Credential::Bearer(&who.other),
        Credential::Bearer(&who.programme),
    ];
    let mut failures = Vec::new();
    let runs = objects
        .iter()
        .flat_map(|o| rows(&url, &case_id).into_iter().filter_map(|row| run_on(o, row)).map(move |row| (o, row)));
    for (objects, row) in runs {
        for ((column, credential), expected) in COLUMNS.iter().zip(&credentials).zip(row.expect) {
            let path = objects.path(&row, &app, &who, &url);
            let etag = etag(&app, row.method, &path);
            let before = app.kv_dump("default");
            let r = send(&app, credential, row.method, &path, etag.as_deref(), row.body.as_ref());
            r.conforms(row.method, row.template);
            let cell = format!("{} {} on {} as {column}", row.method, row.template, objects.owner.objects());
            if r.status != expected {
                failures.push(format!("{cell}: {} instead of {expected}: {}", r.status, r.body));
            }
            if !(200..300).contains(&r.status) && app.kv_dump("default") != before {
                failures.push(format!("{cell}: refused with {}, yet the store changed", r.status));
            }
            // A stranger's 404 must not tell the object exists: it reads as no object at all.
            if r.status == 404 {
                let ghost = send(&app, credential, row.method, &ghost(&path), etag.as_deref(), row.body.as_ref());
                let problem = |r: &Reply| json!([r.status, r.body["type"], r.body["title"], r.body["detail"]]);
                if problem(&ghost) != problem(&r) {
                    failures.push(format!("{cell}: {} for a stranger, {} for no object", problem(&r), problem(&ghost)));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} wrong cells:\n{}", failures.len(), failures.join("\n"));
}
