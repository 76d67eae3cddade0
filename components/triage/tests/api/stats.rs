//! Programme figures: counters kept as cases change, checked against counts the test
//! makes itself from the cases it filed; small cells withheld so that no answer, nor
//! any pair of answers, gives one away; counters outlive the cases; the cost of a query
//! does not grow with the number of cases.

use crate::common::*;
use serde_json::{json, Value};
use shared::case::ReportFacts;
use shared::domain::*;
use shared::id::CaseId;
use shared::kv::{read_counter, KeyValue};
use shared::time::{Duration, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use triage::core::stats::layout::{self, Month, Table};

/// One case as the test filed it, and what the test did with it.
struct Filed {
    id: CaseId,
    org: &'static str,
    priority: String,
    role: Role,
    region: RegionCode,
    request: RequestKind,
    incidents: Vec<IncidentKind>,
    triaged_at: Timestamp,
    acknowledged_at: Option<Timestamp>,
}

/// The routing table of `domain.md`, written out by the test.
fn organisation_of(role: Role) -> &'static str {
    match role {
        Role::Mayor => "ngb",
        Role::Alderman => "wethoudersvereniging",
        Role::CouncilMember => "nvvr",
        _ => "bzk",
    }
}

/// The deadlines of `domain.md`, in minutes.
fn sla_minutes(priority: &str) -> i64 {
    match priority {
        "P1" => 15,
        "P2" => 240,
        "P3" => 1440,
        _ => 4320,
    }
}

fn month_text(t: Timestamp) -> String {
    t.to_string()[..7].to_string()
}

/// A small deterministic generator, so the spread is the same every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

const DELAYS: &[i64] = &[0, 3, 10, 14, 15, 16, 25, 45, 90, 200, 239, 241, 600, 1439, 1441, 3000, 4319, 4321, 6000];

/// Files `per_month` cases in each of three months from 2026-12, acknowledges most of
/// them after varied delays, and returns what it did.
fn file_cases(w: &World, per_month: usize) -> Vec<Filed> {
    let tokens: BTreeMap<&str, String> =
        ["ngb", "wethoudersvereniging", "nvvr", "bzk"].into_iter().map(|o| (o, w.token(o, "confidant"))).collect();
    let mut rng = Lcg(7);
    // Roles weighted so that some cells clear the threshold and many do not.
    let roles = [Role::Mayor, Role::Mayor, Role::Alderman, Role::Alderman, Role::CouncilMember, Role::CouncilMember];
    let mut plan: Vec<(Timestamp, usize, Option<i64>)> = Vec::new();
    let mut facts_of: Vec<ReportFacts> = Vec::new();
    for month in 0..3 {
        let start =
            Timestamp::parse(&format!("{}T06:00:00Z", ["2026-12-01", "2027-01-01", "2027-02-01"][month])).unwrap();
        for i in 0..per_month {
            let role =
                if rng.next(5) == 0 { Role::ALL[rng.next(Role::ALL.len())] } else { roles[rng.next(roles.len())] };
            let kinds: Vec<IncidentKind> =
                (0..rng.next(3)).map(|_| IncidentKind::ALL[rng.next(IncidentKind::ALL.len())]).collect();
            let facts = ReportFacts {
                role,
                region: RegionCode::ALL[rng.next(6) * 3 + rng.next(2)],
                request_kind: RequestKind::ALL[rng.next(3)],
                immediate_danger: rng.next(6) == 0,
                threat_to_life: rng.next(9) == 0,
                recurrence: if rng.next(2) == 0 { Recurrence::First } else { Recurrence::Repeated },
                ..incident(&kinds)
            };
            let at = start + Duration::minutes((i as i64) * 26 * 60 * 24 / per_month as i64);
            let delay = (rng.next(8) != 0).then(|| DELAYS[rng.next(DELAYS.len())]);
            facts_of.push(facts);
            plan.push((at, facts_of.len() - 1, delay));
        }
    }
    // Every step in time order, since the clock only moves forward.
    let mut steps: Vec<(Timestamp, usize, bool)> = Vec::new();
    for (at, n, delay) in &plan {
        steps.push((*at, *n, false));
        if let Some(d) = delay {
            steps.push((*at + Duration::minutes(*d) + Duration::seconds(20), *n, true));
        }
    }
    steps.sort_by_key(|(at, n, ack)| (*at, *n, *ack));
    let mut filed: Vec<Option<Filed>> = (0..facts_of.len()).map(|_| None).collect();
    let mut ids: Vec<Option<CaseId>> = vec![None; facts_of.len()];
    for (at, n, ack) in steps {
        let now = w.clock_now();
        if at > now {
            w.advance(now.until(at));
        }
        let f = &facts_of[n];
        if !ack {
            let id = w.file(f.clone());
            let reply = w.handover(&id);
            assert_eq!(reply.status, 200, "{}", reply.body);
            filed[n] = Some(Filed {
                id: id.clone(),
                org: organisation_of(f.role),
                priority: reply.body["priority"].as_str().unwrap().to_string(),
                role: f.role,
                region: f.region,
                request: f.request_kind,
                incidents: f.incident_kinds.clone(),
                triaged_at: w.clock_now(),
                acknowledged_at: None,
            });
            ids[n] = Some(id);
        } else {
            let id = ids[n].clone().unwrap();
            let case = filed[n].as_mut().unwrap();
            let token = &tokens[case.org];
            let path = format!("/triage/cases/{id}");
            let etag = w.staff(token, "GET", &path, &[], None).etag();
            let reply = w.staff(token, "POST", &format!("{path}/acknowledge"), &[("if-match", &etag)], None);
            assert_eq!(reply.status, 200, "{}", reply.body);
            case.acknowledged_at = Some(w.clock_now());
        }
    }
    filed.into_iter().map(Option::unwrap).collect()
}

/// A cell of an answer: (month, organisation, table, row, column).
type CellKey = (String, String, String, String, String);

const PRIORITIES: [&str; 4] = ["P1", "P2", "P3", "P4"];

/// The test's own count of every cell, from the cases it filed.
fn expected(filed: &[Filed]) -> BTreeMap<CellKey, u64> {
    let mut counts: BTreeMap<CellKey, u64> = BTreeMap::new();
    let mut add = |month: &str, org: &str, table: &str, row: &str, p: &str| {
        for col in [p, "total"] {
            let key = (month.to_string(), org.to_string(), table.to_string(), row.to_string(), col.to_string());
            *counts.entry(key).or_default() += 1;
        }
    };
    for c in filed {
        let (m, o, p) = (month_text(c.triaged_at), c.org, c.priority.as_str());
        add(&m, o, "event", "triaged", p);
        add(&m, o, "role", c.role.as_str(), p);
        add(&m, o, "province", c.region.province().as_str(), p);
        add(&m, o, "region", c.region.as_str(), p);
        add(&m, o, "request", c.request.as_str(), p);
        let kinds: BTreeSet<_> = c.incidents.iter().collect();
        for k in kinds {
            add(&m, o, "incident", k.as_str(), p);
        }
        if let Some(at) = c.acknowledged_at {
            let m = month_text(at);
            let minutes = (at.unix_seconds() - c.triaged_at.unix_seconds()) / 60;
            let due = c.triaged_at + Duration::minutes(sla_minutes(p));
            add(&m, o, "event", "acknowledged", p);
            let within = if at <= due { "acknowledged_within_deadline" } else { "acknowledged_after_deadline" };
            add(&m, o, "event", within, p);
            let bucket = [1, 5, 15, 30, 60, 240, 1440, 4320]
                .iter()
                .find(|b| minutes <= **b)
                .map_or("over_4320".to_string(), |b| format!("le_{b}"));
            add(&m, o, "ack", &bucket, p);
        }
    }
    counts
}

fn cells_of(answer: &Value) -> BTreeMap<CellKey, Value> {
    answer["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            ((s("month"), s("organisation"), s("table"), s("row"), s("column")), c["value"].clone())
        })
        .collect()
}

/// The sums the published tables obey, per month and organisation, as the docs state
/// them: each row's priorities add up to its total; the rows of role, geography and
/// request add up to the triaged cases of each column; the histogram's buckets add up
/// to the acknowledgements; within and after the deadline add up to acknowledged.
fn lines(cells: &BTreeMap<CellKey, Value>) -> Vec<Vec<CellKey>> {
    let units: BTreeSet<(String, String)> = cells.keys().map(|k| (k.0.clone(), k.1.clone())).collect();
    let rows_of = |m: &str, o: &str, t: &str| -> Vec<String> {
        let rows: BTreeSet<String> =
            cells.keys().filter(|k| k.0 == m && k.1 == o && k.2 == t).map(|k| k.3.clone()).collect();
        rows.into_iter().collect()
    };
    let key = |m: &str, o: &str, t: &str, r: &str, c: &str| (m.into(), o.into(), t.into(), r.into(), c.into());
    let mut all = Vec::new();
    for (m, o) in &units {
        for t in ["event", "role", "province", "region", "request", "incident", "ack", "reply"] {
            for r in rows_of(m, o, t) {
                all.push(PRIORITIES.iter().chain(&["total"]).map(|c| key(m, o, t, &r, c)).collect());
            }
        }
        for c in PRIORITIES.iter().chain(&["total"]) {
            for t in ["role", "province", "region", "request"] {
                let rows = rows_of(m, o, t);
                if !rows.is_empty() {
                    let mut line: Vec<CellKey> = rows.iter().map(|r| key(m, o, t, r, c)).collect();
                    line.push(key(m, o, "event", "triaged", c));
                    all.push(line);
                }
            }
            for (histogram, events) in [("ack", "acknowledged"), ("reply", "replied")] {
                let mut line: Vec<CellKey> =
                    rows_of(m, o, histogram).iter().map(|r| key(m, o, histogram, r, c)).collect();
                line.push(key(m, o, "event", events, c));
                all.push(line);
            }
            all.push(
                ["acknowledged_within_deadline", "acknowledged_after_deadline", "acknowledged"]
                    .iter()
                    .map(|r| key(m, o, "event", r, c))
                    .collect(),
            );
        }
    }
    all
}

fn stats(w: &World, token: &str, query: &str) -> Value {
    let reply = w.staff(token, "GET", &format!("/triage/stats{query}"), &[], None);
    assert_eq!(reply.status, 200, "{query}: {}", reply.body);
    reply.body
}

#[test]
fn every_published_count_matches_the_cases_filed_and_small_ones_are_withheld() {
    let w = World::new();
    let filed = file_cases(&w, 120);
    let want = expected(&filed);
    let answer = stats(&w, ADMIN, "?from=2026-12&to=2027-02");
    assert_eq!(answer["threshold"], 5);
    assert_eq!(answer["geography"], "province", "few cases: regions would show small cells");
    let cells = cells_of(&answer);
    // 3 months × 4 organisations × rows × (4 priorities + total).
    let rows = 11 + 8 + 12 + 3 + 10 + 9 + 9;
    assert_eq!(cells.len(), 3 * 4 * rows * 5);
    let (mut shown, mut withheld, mut complementary) = (0, 0, 0);
    for (key, value) in &cells {
        let n = want.get(key).copied().unwrap_or(0);
        match value {
            Value::Number(v) => {
                assert_eq!(v.as_u64(), Some(n), "{key:?}");
                assert!(n >= 5, "{key:?}: {n} published");
                shown += 1;
            }
            Value::String(s) => {
                assert_eq!(s, "<5", "{key:?}");
                withheld += 1;
                if n >= 5 {
                    complementary += 1;
                }
            }
            other => panic!("{key:?}: {other}"),
        }
    }
    assert!(shown > 50 && withheld > 50 && complementary > 0, "{shown} {withheld} {complementary}");
    // Nothing counts what the test did not file: every filed case is in its month.
    let triaged: u64 = filed.len() as u64;
    let counted: u64 =
        want.iter().filter(|(k, _)| k.2 == "event" && k.3 == "triaged" && k.4 == "total").map(|(_, v)| v).sum();
    assert_eq!(triaged, counted);

    // First contact: the same counts, and percentages from the published ones only.
    for f in answer["first_contact"].as_array().unwrap() {
        let (m, o, p) =
            (f["month"].as_str().unwrap(), f["organisation"].as_str().unwrap(), f["priority"].as_str().unwrap());
        let get =
            |row: &str| want.get(&(m.into(), o.into(), "event".into(), row.into(), p.into())).copied().unwrap_or(0);
        for (field, row) in [
            ("triaged", "triaged"),
            ("acknowledged", "acknowledged"),
            ("acknowledged_within_deadline", "acknowledged_within_deadline"),
        ] {
            match &f[field] {
                Value::Number(n) => assert_eq!(n.as_u64(), Some(get(row)), "{m} {o} {p} {field}"),
                v => assert_eq!(v, "<5", "{m} {o} {p} {field}"),
            }
        }
        match (&f["acknowledged_within_deadline"], &f["acknowledged"]) {
            (Value::Number(wi), Value::Number(a)) if a.as_u64() > Some(0) => {
                let pct = (wi.as_f64().unwrap() * 1000.0 / a.as_f64().unwrap()).round() / 10.0;
                assert_eq!(f["within_deadline_percent"].as_f64(), Some(pct));
            }
            _ => assert!(f["within_deadline_percent"].is_null(), "{f}"),
        }
    }

    // CSV: the same cells, one row each.
    let csv = w.staff(ADMIN, "GET", "/triage/stats?from=2026-12&to=2027-02", &[("accept", "text/csv")], None);
    assert_eq!(csv.status, 200);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = String::from_utf8(csv.raw).unwrap();
    let mut lines_csv = text.lines();
    assert_eq!(lines_csv.next(), Some("month,organisation,table,row,column,value"));
    let rows_csv: Vec<&str> = lines_csv.collect();
    assert_eq!(rows_csv.len(), cells.len());
    for row in rows_csv {
        let f: Vec<&str> = row.split(',').collect();
        let key = (f[0].into(), f[1].into(), f[2].into(), f[3].into(), f[4].into());
        let json_value = &cells[&key];
        assert_eq!(
            json_value.as_u64().map_or_else(|| json_value.as_str().unwrap().to_string(), |n| n.to_string()),
            f[5]
        );
    }
}

#[test]
fn no_pair_of_answers_gives_a_withheld_cell_away() {
    let w = World::new();
    file_cases(&w, 90);
    let admins: Vec<(String, String)> =
        ["ngb", "wethoudersvereniging", "nvvr", "bzk"].iter().map(|o| (o.to_string(), w.token(o, "admin"))).collect();
    let months = ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03"];
    let mut periods = Vec::new();
    for (i, from) in months.iter().enumerate() {
        for to in &months[i..] {
            periods.push(format!("from={from}&to={to}"));
        }
    }
    // Every query a user can make: the programme admin with or without an
    // organisation, and each organisation's admin, over every period.
    let mut answers: Vec<(String, Value)> = Vec::new();
    for period in &periods {
        answers.push((format!("programme {period}"), stats(&w, ADMIN, &format!("?{period}"))));
        for (org, token) in &admins {
            answers.push((
                format!("programme {org} {period}"),
                stats(&w, ADMIN, &format!("?{period}&organisation={org}")),
            ));
            answers.push((format!("{org} admin {period}"), stats(&w, token, &format!("?{period}"))));
        }
    }
    // What any pair of answers tells is within what all of them tell together, as long
    // as no cell is published in one answer and withheld (or different) in another:
    // so check that first, then that no sum over everything published gives a withheld
    // cell away. That covers every pair, and every larger combination too.
    let mut known: BTreeMap<CellKey, (Value, &str)> = BTreeMap::new();
    for (query, answer) in &answers {
        for (k, v) in cells_of(answer) {
            match known.get(&k) {
                Some((before, other)) => assert_eq!(before, &v, "{query} / {other}: {k:?} differs"),
                None => {
                    known.insert(k, (v, query));
                }
            }
        }
    }
    let all: BTreeMap<CellKey, Value> = known.into_iter().map(|(k, (v, _))| (k, v)).collect();
    let mut lines_checked = 0;
    for line in lines(&all) {
        let hidden: Vec<&CellKey> = line.iter().filter(|k| all.get(*k).is_none_or(|v| !v.is_number())).collect();
        assert!(line.iter().all(|k| all.contains_key(k)), "{line:?}: a line of cells the answers do not hold");
        assert_ne!(hidden.len(), 1, "{:?} follows from its line {line:?}", hidden[0]);
        lines_checked += 1;
    }
    assert!(lines_checked > 1000, "{lines_checked}");
    // A subtraction that would give a cell away: a published sum minus published parts.
    let subtraction = lines(&all).into_iter().find(|line| line.iter().all(|k| all[k].is_number()));
    assert!(subtraction.is_some(), "some lines are fully published, so the check above could find a leak");
    assert!(answers.iter().any(|(_, a)| cells_of(a).values().any(|v| v == "<5")), "the attack had something to find");
}

#[test]
fn who_may_see_what() {
    let w = World::new();
    w.triaged(facts());
    let confidant = w.token("ngb", "confidant");
    let reply = w.staff(&confidant, "GET", "/triage/stats", &[], None);
    assert_eq!(reply.status, 403, "{}", reply.body);
    let ngb_admin = w.token("ngb", "admin");
    let own = stats(&w, &ngb_admin, "");
    assert_eq!(own["organisations"], json!(["ngb"]));
    let other = w.staff(&ngb_admin, "GET", "/triage/stats?organisation=nvvr", &[], None);
    assert_eq!(other.status, 403, "{}", other.body);
    assert_eq!(stats(&w, ADMIN, "")["organisations"].as_array().unwrap().len(), 4);
    let none = w.call("GET", "/triage/stats", &[], None);
    assert_eq!(none.status, 401);
    for (query, pointer) in [
        ("?from=2026-13", "from"),
        ("?to=yesterday", "to"),
        ("?from=2026-11&to=2026-10", "from"),
        ("?from=2025-01&to=2026-11", "from"),
        ("?organisation=acme", "organisation"),
        ("?colour=red", "colour"),
    ] {
        let reply = w.staff(ADMIN, "GET", &format!("/triage/stats{query}"), &[], None);
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert_eq!(reply.headers["content-type"], "application/problem+json", "{query}");
        assert!(reply.body.to_string().contains(pointer), "{query}: {}", reply.body);
    }
}

fn counter(w: &World, month: &str, org: Organisation, table: Table, row: &str, p: Priority) -> i64 {
    read_counter(&w.store, &layout::key(Month::parse(month).unwrap(), org, table, row, p)).unwrap()
}

#[test]
fn transitions_count_once_and_the_counters_outlive_the_purged_case() {
    let w = World::new();
    let token = w.token("ngb", "confidant");
    let id = w.triaged(ReportFacts { immediate_danger: true, ..incident(&[IncidentKind::Stalking]) });
    // Intake hands a case over again after a lost answer: triaged once.
    assert_eq!(w.handover(&id).status, 200);
    let month = "2026-11";
    let count = |table, row: &str| counter(&w, month, Organisation::Ngb, table, row, Priority::P1);
    assert_eq!(count(Table::Event, "triaged"), 1);
    assert_eq!(count(Table::Role, "mayor"), 1);
    assert_eq!(count(Table::Region, "VR09"), 1);
    assert_eq!(count(Table::Incident, "stalking"), 1);
    // Unacknowledged past the P1 deadline: the sweep escalates.
    w.advance(Duration::minutes(16));
    w.sweep();
    assert_eq!(count(Table::Event, "escalated"), 1);
    let path = format!("/triage/cases/{id}");
    let etag = w.staff(&token, "GET", &path, &[], None).etag();
    let acked = w.staff(&token, "POST", &format!("{path}/acknowledge"), &[("if-match", &etag)], None);
    assert_eq!(acked.status, 200);
    let again = w.staff(&token, "POST", &format!("{path}/acknowledge"), &[("if-match", &acked.etag())], None);
    assert_eq!(again.status, 200);
    assert_eq!(count(Table::Event, "acknowledged_after_deadline"), 1);
    assert_eq!(count(Table::Event, "acknowledged_within_deadline"), 0);
    assert_eq!(count(Table::Ack, "le_30"), 1);
    // The first confidant message counts, from the assignment; later ones do not.
    let assigned = w.staff(
        &token,
        "POST",
        &format!("{path}/assign"),
        &[("if-match", &again.etag())],
        Some(json!({"confidant": "Desk Noord", "members": []})),
    );
    assert_eq!(assigned.status, 200, "{}", assigned.body);
    w.advance(Duration::minutes(50));
    for text in ["Ik bel u zo.", "Nog een bericht."] {
        let sent = w.staff(&token, "POST", &format!("{path}/messages"), &[], Some(json!({ "text": text })));
        assert_eq!(sent.status, 201, "{}", sent.body);
    }
    assert_eq!(count(Table::Reply, "le_60"), 1);
    let total_replies: i64 = layout::rows(Table::Reply).iter().map(|b| count(Table::Reply, b)).sum();
    assert_eq!(total_replies, 1);
    // A check-in planned and done counts as done once.
    let etag = w.staff(&token, "GET", &path, &[], None).etag();
    let due_at = (w.clock_now() + Duration::hours(1)).to_string();
    let body = json!({"due_at": due_at, "purpose": "aftercare_call", "note": "nabellen"});
    let planned = w.staff(&token, "POST", &format!("{path}/check-ins"), &[("if-match", &etag)], Some(body));
    assert_eq!(planned.status, 201, "{}", planned.body);
    let check_in = planned.body["check_in"]["check_in_id"].as_str().unwrap().to_string();
    let done = w.staff(
        &token,
        "POST",
        &format!("{path}/check-ins/{check_in}/complete"),
        &[("if-match", &planned.etag())],
        Some(json!({"outcome": "reached", "note": "gaat goed"})),
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(count(Table::Event, "check_in_completed"), 1);
    let again = w.staff(&token, "GET", &path, &[], None);
    let closed = w.staff(
        &token,
        "POST",
        &format!("{path}/status"),
        &[("if-match", &again.etag())],
        Some(json!({"status": "closed", "reason": "klaar"})),
    );
    assert_eq!(closed.status, 200, "{}", closed.body);
    assert_eq!(count(Table::Event, "closed"), 1);
    let before: BTreeMap<String, Vec<u8>> =
        w.store.dump().into_iter().filter(|(k, _)| k.starts_with("stats/")).collect();
    w.advance(Duration::days(366));
    assert_eq!(w.sweep().body["cases_purged"], 1);
    assert!(!w.store.exists(&shared::case::case_key(&id)).unwrap(), "the case is gone");
    let after: BTreeMap<String, Vec<u8>> =
        w.store.dump().into_iter().filter(|(k, _)| k.starts_with("stats/")).collect();
    assert_eq!(before, after, "the counters are kept");
    assert!(after.keys().all(|k| !k.contains(id.as_str())), "no counter names the case");
}

#[test]
fn a_handover_counts_out_for_one_organisation_and_in_for_the_other() {
    let w = World::new();
    let id = w.triaged(facts());
    let ngb = w.token("ngb", "confidant");
    let path = format!("/triage/cases/{id}");
    let etag = w.staff(&ngb, "GET", &path, &[], None).etag();
    let reply = w.staff(
        &ngb,
        "POST",
        &format!("{path}/handover"),
        &[("if-match", &etag)],
        Some(json!({"organisation": "bzk", "reason": "past de burgemeester niet"})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let p = w.record(&id).data.assessment.unwrap().priority;
    let month = "2026-11";
    assert_eq!(counter(&w, month, Organisation::Ngb, Table::Event, "handed_over_out", p), 1);
    assert_eq!(counter(&w, month, Organisation::Bzk, Table::Event, "handed_over_in", p), 1);
}

#[test]
fn with_nothing_counted_every_cell_is_withheld_and_the_answer_is_by_province() {
    let mut w = World::new();
    w.vars.set("stats_min_cell", "2");
    let one = stats(&w, ADMIN, "?organisation=ngb");
    // Nothing filed: every cell is 0, below the threshold.
    assert_eq!(one["geography"], "province");
    assert!(cells_of(&one).values().all(|v| v == "<2"));
}

#[test]
fn the_threshold_is_a_checked_variable() {
    let mut w = World::new();
    w.vars.set("stats_min_cell", "1");
    let reply = w.staff(ADMIN, "GET", "/triage/stats", &[], None);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(reply.body.to_string().contains("stats_min_cell"), "{}", reply.body);
}

#[test]
fn the_cost_of_a_query_does_not_grow_with_the_cases() {
    let w = World::new();
    file_cases(&w, 334);
    let query = "/triage/stats?from=2026-12&to=2027-02";
    let measure = || {
        w.store.reset_ops();
        let reply = w.staff(ADMIN, "GET", query, &[], None);
        assert_eq!(reply.status, 200);
        w.store.ops()
    };
    let at_1000 = measure();
    // Grow to 100,000 cases: real records of triaged cases, counted as triage counts them.
    let template = w.record(&w.triaged(facts()));
    let bytes = shared::kv::versioned::Versioned::first(template.data.clone(), &w.random).encode();
    let mut counted = Vec::new();
    for n in 1_002..=100_000u32 {
        let id = CaseId::generate(&w.random);
        w.store.set(&shared::case::case_key(&id), &bytes).unwrap();
        if n.is_multiple_of(10) {
            let mut before = template.data.clone();
            before.assessment = None;
            counted.extend(triage::core::stats::tallies(&before, &template.data, &[], w.clock_now()));
        }
        if n == 10_000 {
            let at_10000 = measure();
            assert_eq!(at_1000, at_10000, "1,000 vs 10,000 cases");
        }
    }
    for key in counted {
        w.store.increment(&key, 1).unwrap();
    }
    let at_100000 = measure();
    eprintln!("store operations of one query: {at_1000} at 1,000 cases, {at_100000} at 100,000 cases");
    assert_eq!(at_1000, at_100000, "1,000 vs 100,000 cases");
    let reads = 3 * 4 * triage::core::stats::CELLS_PER_UNIT as u64;
    assert!(at_1000 >= reads && at_1000 < reads + 10, "{at_1000}: the cells and the token, nothing else");
}

/// Two answers hold the same cells; the first few that differ are named.
fn assert_same(got: &Value, want: &Value) {
    let (got, want) = (cells_of(got), cells_of(want));
    let differ: Vec<_> = want.iter().filter(|(k, v)| got.get(*k) != Some(*v)).take(8).collect();
    assert!(differ.is_empty() && got.len() == want.len(), "expected, differing: {differ:?}");
}

#[test]
fn the_rebuild_gives_the_same_figures_as_live_counting() {
    let w = World::new();
    let filed = file_cases(&w, 60);
    // Some cases closed, in the month the clock has reached.
    for case in filed.iter().step_by(7) {
        let token = w.token(case.org, "confidant");
        let path = format!("/triage/cases/{}", case.id);
        let etag = w.staff(&token, "GET", &path, &[], None).etag();
        let body = json!({"status": "closed", "reason": "klaar"});
        let closed = w.staff(&token, "POST", &format!("{path}/status"), &[("if-match", &etag)], Some(body));
        assert_eq!(closed.status, 200, "{}", closed.body);
    }
    let query = "?from=2026-12&to=2027-03";
    let live = stats(&w, ADMIN, query);
    assert!(cells_of(&live).iter().any(|(k, v)| k.3 == "closed" && k.4 == "total" && v.is_number()), "closes show");

    // The same cases as a release without figures left them: no counters, no marks.
    for key in w.store.dump().into_keys() {
        if key.starts_with("stats/") {
            w.store.delete(&key).unwrap();
        }
    }
    for case in &filed {
        let key = shared::case::case_key(&case.id);
        shared::kv::versioned::update(&w.store, &key, &w.random, |record: &mut shared::case::CaseRecord, _| {
            record.work.as_mut().unwrap().as_object_mut().unwrap().remove("stats");
            Ok::<_, ()>(shared::kv::versioned::Change::Write(()))
        })
        .unwrap();
    }
    assert!(cells_of(&stats(&w, ADMIN, query)).values().all(|v| v == "<5"), "nothing counted now");

    let mut calls = 0;
    let mut counted = 0;
    loop {
        let reply = w.staff(ADMIN, "POST", "/triage/stats/rebuild", &[], None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(reply.body["entries_read"].as_u64().unwrap() <= 100, "bounded: {}", reply.body);
        counted += reply.body["cases_counted"].as_u64().unwrap();
        calls += 1;
        if reply.body["done"] == true {
            break;
        }
        assert!(calls < 20, "the rebuild ends");
    }
    assert_eq!(counted, filed.len() as u64, "each case once");
    assert!(calls > 1, "{} cases take more than one call", filed.len());
    let rebuilt = stats(&w, ADMIN, query);
    assert_same(&rebuilt, &live);
    assert_eq!(rebuilt["first_contact"], live["first_contact"]);

    // Again: nothing is counted twice, and live counting goes on from there.
    let again = w.staff(ADMIN, "POST", "/triage/stats/rebuild", &[], None);
    assert_eq!(again.body["cases_counted"], 0, "{}", again.body);
    assert_same(&stats(&w, ADMIN, query), &live);
    let confidant = w.token("ngb", "admin");
    let refused = w.staff(&confidant, "POST", "/triage/stats/rebuild", &[], None);
    assert_eq!(refused.status, 403);
}
