//! The four staff callers of the need-to-know tests (issue 13), each holding a token
//! issued through triage as a client would: a confidant and an admin of NGB (the
//! organisation that owns the objects under test), an admin of NVvR (another
//! organisation) and a BZK admin with the programme scope.

use super::{call, staff, Reply, ADMIN_TOKEN, INTERNAL_SECRET};
use serde_json::{json, Value};
use weerbaar_tests::TestApp;

/// The four callers, in the order of every row's expected statuses.
pub struct Callers {
    /// A confidant of NGB.
    pub confidant: String,
    /// An admin of NGB, the organisation that owns the object.
    pub owner: String,
    /// An admin of NVvR.
    pub other: String,
    /// A BZK admin with the programme scope.
    pub programme: String,
}

impl Callers {
    /// Issues the four tokens; the programme admin's is issued by another programme
    /// admin, who may grant the scope too.
    pub fn issue(app: &TestApp) -> Callers {
        let programme = issue(
            app,
            ADMIN_TOKEN,
            json!({"organisation": "bzk", "role": "admin", "holder": "Programme desk", "scope": "programme"}),
        );
        Callers {
            confidant: issue(
                app,
                ADMIN_TOKEN,
                json!({"organisation": "ngb", "role": "confidant", "holder": "NGB desk"}),
            ),
            owner: issue(app, ADMIN_TOKEN, json!({"organisation": "ngb", "role": "admin", "holder": "NGB admin"})),
            other: issue(app, ADMIN_TOKEN, json!({"organisation": "nvvr", "role": "admin", "holder": "NVvR admin"})),
            programme: issue(
                app,
                &programme,
                json!({"organisation": "bzk", "role": "admin", "holder": "Programme lead", "scope": "programme"}),
            ),
        }
    }

    pub fn each(&self) -> [(&'static str, &str); 4] {
        [
            ("confidant", &self.confidant),
            ("owning admin", &self.owner),
            ("other organisation's admin", &self.other),
            ("programme admin", &self.programme),
        ]
    }
}

/// Issues a staff token as `by`; returns its secret.
pub fn issue(app: &TestApp, by: &str, body: Value) -> String {
    let r = staff(app, by, "POST", "/triage/tokens", &[], Some(body));
    r.conforms("POST", "/triage/tokens");
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["token"].as_str().unwrap().to_string()
}

/// Subscribes as `token`, held to the spec.
pub fn subscribe(app: &TestApp, token: &str, body: Value) -> Reply {
    let r = staff(app, token, "POST", "/notification/subscriptions", &[], Some(body));
    r.conforms("POST", "/notification/subscriptions");
    r
}

/// A `case.triaged` event of `organisation`'s case number `n`.
pub fn case_event(n: u32, organisation: &str) -> Value {
    let id = |prefix: &str| format!("{prefix}{:0>26}", format!("ntk{n}"));
    let case = id("case_");
    json!({
        "id": id("evt_"), "type": "case.triaged", "timestamp": "2026-11-28T12:00:00Z",
        "data": {"case_reference": case, "priority": "P2", "organisation": organisation, "region": "VR09",
                 "status": "triaged", "first_contact_due": "2026-11-28T16:00:00Z", "escalation_level": null,
                 "api_link": format!("/triage/cases/{case}")}
    })
}

/// Posts a case event as triage does.
pub fn post_event(app: &TestApp, event: &Value) {
    let r = call(
        app,
        "POST",
        "/notification/internal/events",
        &[("weerbaar-internal-secret", INTERNAL_SECRET), ("content-type", "application/json")],
        Some(serde_json::to_vec(event).unwrap()),
    );
    assert_eq!(r.status, 202, "{}", r.body);
}

/// The first message of a subscription, read as the bootstrap admin.
pub fn message_of(app: &TestApp, sub: &str) -> String {
    let r = staff(app, ADMIN_TOKEN, "GET", &format!("/notification/subscriptions/{sub}/messages"), &[], None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["messages"][0]["id"].as_str().expect("a message").to_string()
}
