//! The store operations of triage's part of the P1 chain (issue 16), counted exactly:
//! a store wrapper notes every call, the outbound wrapper every event sent, and the
//! answer to intake is marked where it goes out. Run with `--nocapture` to see them:
//! `cargo test -p triage --test api store_ops:: -- --nocapture`.
//!
//! A commit is one store transaction (each increment, compare-and-swap swap, set,
//! delete, `set_many`, `delete_many`); a quota write is each key written or deleted,
//! each increment and each swap. The figures are printed, never asserted; what is
//! asserted is the order durability needs.

use crate::common::*;
use shared::case::{case_key, pending_triage_log, ReportFacts};
use shared::domain::IncidentKind;
use shared::id::CaseId;
use shared::kv::memory::MemoryStore;
use shared::kv::{KeyValue, StoreError, Swap};
use shared::outbound::{Outbound, OutboundError};
use shared::time::Duration;
use shared::web::Ports;
use std::sync::Mutex;

/// One thing that happened while triage served the request, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Read(String),
    /// A store transaction: what it was and the keys it wrote.
    Commit(&'static str, Vec<String>),
    /// An event went to notification (or a call to the directory).
    Sent(String),
    /// The answer to intake went out.
    Answer(u16),
}

struct Counting<'a> {
    inner: &'a MemoryStore,
    steps: &'a Mutex<Vec<Step>>,
}

impl Counting<'_> {
    fn note(&self, step: Step) {
        self.steps.lock().unwrap().push(step);
    }
}

impl KeyValue for Counting<'_> {
    type Cas = <MemoryStore as KeyValue>::Cas;
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.note(Step::Read(key.into()));
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.note(Step::Commit("set", vec![key.into()]));
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.note(Step::Commit("delete", vec![key.into()]));
        self.inner.delete(key)
    }
    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.note(Step::Read(key.into()));
        self.inner.exists(key)
    }
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        for key in keys {
            self.note(Step::Read(key.clone()));
        }
        self.inner.get_many(keys)
    }
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.note(Step::Commit("set_many", entries.iter().map(|(k, _)| k.clone()).collect()));
        self.inner.set_many(entries)
    }
    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.note(Step::Commit("delete_many", keys.to_vec()));
        self.inner.delete_many(keys)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.note(Step::Commit("increment", vec![key.into()]));
        self.inner.increment(key, delta)
    }
    fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), StoreError> {
        self.note(Step::Read(key.into()));
        self.inner.cas_begin(key)
    }
    fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<Swap, StoreError> {
        self.note(Step::Commit("cas", vec!["(the key read by cas_begin)".into()]));
        self.inner.cas_swap(cas, value)
    }
}

struct Noting<'a, O> {
    inner: &'a O,
    steps: &'a Mutex<Vec<Step>>,
}

impl<O: Outbound> Outbound for Noting<'_, O> {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: std::time::Duration,
    ) -> Result<http::Response<Vec<u8>>, OutboundError> {
        let what = format!("{}{}", request.uri().host().unwrap_or(""), request.uri().path());
        self.steps.lock().unwrap().push(Step::Sent(what));
        self.inner.send(request, timeout)
    }
}

/// Intake's handover of case `id`, every step noted.
fn handover_steps(w: &World, id: &CaseId) -> Vec<Step> {
    let steps = Mutex::new(Vec::new());
    let store = Counting { inner: &w.store, steps: &steps };
    let outbound = Noting { inner: &w.outbound, steps: &steps };
    let ports = Ports { outbound: &outbound, clock: &w.clock, random: &w.random, variables: &w.vars };
    let req = http::Request::builder()
        .method("POST")
        .uri("/triage/internal/cases")
        .header("weerbaar-internal-secret", INTERNAL)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&serde_json::json!({ "case_id": id })).unwrap())
        .unwrap();
    shared::service::serve::<triage::routes::Triage, _, _>(
        req,
        || Ok(&store),
        ports,
        |answer| steps.lock().unwrap().push(Step::Answer(answer.status().as_u16())),
    );
    steps.into_inner().unwrap()
}

/// Commits and quota writes of `steps`.
fn tally(steps: &[Step]) -> (usize, usize) {
    steps.iter().fold((0, 0), |(commits, writes), step| match step {
        Step::Commit(_, keys) => (commits + 1, writes + keys.len()),
        _ => (commits, writes),
    })
}

/// A key with the case id, slot numbers and hashes written as placeholders.
fn shape(key: &str, id: &CaseId) -> String {
    key.replace(id.as_str(), "<case>")
        .split('/')
        .map(|part| if part.len() == 12 && part.bytes().all(|b| b.is_ascii_digit()) { "<n>" } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn a_new_p1_case_commits_before_and_after_its_events() {
    let w = World::new();
    let id = w.file(ReportFacts { immediate_danger: true, ..incident(&[IncidentKind::ThreatOfViolence]) });
    let steps = handover_steps(&w, &id);

    let first_event = steps
        .iter()
        .position(|s| matches!(s, Step::Sent(to) if to.starts_with("notification.test")))
        .expect("the P1's events go out within the handover");
    let answer = steps.iter().position(|s| matches!(s, Step::Answer(_))).expect("an answer");
    assert_eq!(steps[answer], Step::Answer(200));
    let case_swap = steps.iter().position(|s| matches!(s, Step::Commit("cas", _))).expect("the case is swapped");
    assert!(case_swap < first_event, "the triaged case is stored before any event goes out");
    let pending = pending_triage_log().key(1);
    let forgotten = steps
        .iter()
        .position(|s| matches!(s, Step::Commit(_, keys) if keys.contains(&pending)))
        .expect("the pending entry is removed");
    assert!(forgotten > first_event, "the pending entry goes in the clean-up after the events");
    assert!(!w.store.dump().contains_key(&pending));
    assert!(w.outbox().is_empty(), "sent events leave the outbox");
    assert_eq!(w.event_types(&id), vec!["case.created", "case.triaged"]);
    assert!(w.store.dump().contains_key(&case_key(&id)));

    let (before_send, _) = steps.split_at(first_event);
    let (before_answer, after_answer) = steps.split_at(answer);
    let reads = steps.iter().filter(|s| matches!(s, Step::Read(_))).count();
    let case_reads = steps.iter().filter(|s| matches!(s, Step::Read(k) if *k == case_key(&id))).count();
    println!("triage's part of one new P1 case (POST /triage/internal/cases):");
    for step in &steps {
        match step {
            Step::Read(key) => println!("  read         {}", shape(key, &id)),
            Step::Commit(kind, keys) => {
                let keys: Vec<String> = keys.iter().map(|k| shape(k, &id)).collect();
                println!("  {kind:<12} {} ({} quota write{})", keys.join(", "), keys.len(), plural(keys.len()));
            }
            Step::Sent(to) => println!("  -> send     {to}"),
            Step::Answer(status) => println!("  -- answer   {status} to intake"),
        }
    }
    for (phase, part) in [
        ("before the first event is sent", before_send),
        ("before the answer to intake", before_answer),
        ("after the answer to intake", after_answer),
        ("in total", &steps[..]),
    ] {
        let (commits, writes) = tally(part);
        println!("  {phase:<32} {commits:>3} commits {writes:>3} quota writes");
    }
    println!("  reads in total {reads}, of the case record {case_reads}");

    // The same case again: already triaged, nothing to do.
    w.advance(Duration::seconds(1));
    let again = handover_steps(&w, &id);
    let (commits, writes) = tally(&again);
    println!("  a second handover of the same case: {commits} commits {writes} quota writes");
    assert_eq!(commits, 0, "a triaged case is not written again");
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
