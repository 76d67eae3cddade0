//! Property tests (issue 15): triage's query and cursor parsers take any query
//! string to a valid query or a 400 naming the parameter, never a panic; cursors
//! round-trip; and the priority rules are monotone in the danger flags: adding
//! immediate danger, a threat to life, an incident kind or a repetition never makes a
//! case less urgent. 256 cases each: `cargo test -p triage --test api props::`.

use proptest::prelude::*;
use shared::case::{FollowUpFacts, ReportFacts};
use shared::domain::{
    IncidentKind, Language, Priority, Recurrence, RegionCode, Relation, RequestKind, Role, SupportNeed,
};
use shared::text::Paragraphs;
use shared::time::{Duration, Timestamp};
use shared::web::parse_query;
use triage::core::conversation::MessagesQuery;
use triage::core::listing::{Cursor, Query};
use triage::core::rules::{decide, decide_follow_up, PerPriority, Routing, MAX_MINUTES};
use triage::core::stats::layout::Month;
use triage::http::forms::{AgendaForm, StatsForm};

const NAMES: &[&str] = &[
    "status",
    "priority",
    "region",
    "overdue",
    "unread",
    "sort",
    "limit",
    "cursor",
    "due_before",
    "from",
    "to",
    "organisation",
    "x",
    "",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_:.+-]{0,24}",
        "l[0-9+-]{0,21}s[0-9+-]{0,21}",
        "l-?[0-9]{1,20}d-?[0-9]{1,20}s[0-9]{1,20}",
        "2[0-9]{3}-[0-9]{2}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",
        any::<String>(),
    ]
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(
        (prop_oneof![proptest::sample::select(NAMES).prop_map(String::from), any::<String>()], value()),
        0..5,
    )
}

fn now() -> Timestamp {
    Timestamp::parse("2026-11-28T12:00:00Z").unwrap()
}

fn is_400_naming_a_parameter(p: &shared::problem::Problem, pairs: &[(String, String)]) -> bool {
    p.kind.status() == 400 && p.field.as_ref().is_some_and(|f| pairs.iter().any(|(n, _)| n == f) || f == "from")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn case_list_queries_parse_or_are_400(pairs in pairs()) {
        match parse_query::<Query>(&pairs) {
            Ok(q) => {
                prop_assert!((1..=100).contains(&q.limit), "limit {}", q.limit);
                if let Some(c) = q.cursor {
                    prop_assert_eq!(Cursor::parse(&c.encode()), Some(c));
                }
            }
            Err(p) => prop_assert!(is_400_naming_a_parameter(&p, &pairs), "{:?} {:?}", p.kind, p.field),
        }
    }

    #[test]
    fn agenda_queries_parse_or_are_400(pairs in pairs()) {
        match parse_query::<AgendaForm>(&pairs).and_then(|form| form.at(now())) {
            Ok(q) => {
                prop_assert!((1..=100).contains(&q.limit));
                prop_assert!(q.due_before <= now() + Duration::days(92));
            }
            Err(p) => prop_assert!(is_400_naming_a_parameter(&p, &pairs), "{:?} {:?}", p.kind, p.field),
        }
    }

    #[test]
    fn message_queries_parse_or_are_400(pairs in pairs()) {
        match parse_query::<MessagesQuery>(&pairs) {
            Ok(q) => {
                prop_assert!((1..=100).contains(&q.limit));
                prop_assert!(q.from >= 1);
            }
            Err(p) => prop_assert!(is_400_naming_a_parameter(&p, &pairs), "{:?} {:?}", p.kind, p.field),
        }
    }

    #[test]
    fn stats_queries_parse_or_are_400(pairs in pairs()) {
        match parse_query::<StatsForm>(&pairs).and_then(|form| form.at(Month::of(now()))) {
            Ok(q) => {
                prop_assert!(q.from <= q.to);
                prop_assert!(q.from.through(q.to).len() <= 12);
                prop_assert_eq!(Month::parse(&q.from.to_string()), Ok(q.from));
            }
            Err(p) => prop_assert!(is_400_naming_a_parameter(&p, &pairs), "{:?} {:?}", p.kind, p.field),
        }
    }

    #[test]
    fn cursors_round_trip(text in value(), list in any::<usize>(), slot in any::<u64>()) {
        let c = Cursor { list, slot };
        prop_assert_eq!(Cursor::parse(&c.encode()), Some(c));
        if let Some(parsed) = Cursor::parse(&text) {
            prop_assert_eq!(Cursor::parse(&parsed.encode()), Some(parsed));
        }
    }
}

fn select<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

fn facts() -> impl Strategy<Value = ReportFacts> {
    (
        (select(Role::ALL), select(Relation::ALL), select(RegionCode::ALL), select(RequestKind::ALL)),
        proptest::sample::subsequence(IncidentKind::ALL, 0..=IncidentKind::ALL.len()),
        (any::<bool>(), any::<bool>(), select(Recurrence::ALL)),
        // When it happened: up to 40 days before the report, or not said.
        proptest::option::of(0..(40 * 24 * 60i64)),
        (any::<bool>(), any::<bool>()),
        proptest::sample::subsequence(SupportNeed::ALL, 0..=SupportNeed::ALL.len()),
        select(Language::ALL),
    )
        .prop_map(
            |(
                (role, relation, region, request_kind),
                kinds,
                (danger, threat, recurrence),
                ago,
                (informed, filed),
                support,
                language,
            )| {
                ReportFacts {
                    role,
                    relation,
                    region,
                    request_kind,
                    incident_kinds: kinds.to_vec(),
                    immediate_danger: danger,
                    threat_to_life: threat,
                    recurrence,
                    occurred_at: ago.map(|m| now() - Duration::minutes(m)),
                    police_informed: informed || filed,
                    police_report_filed: filed,
                    support_requested: support.to_vec(),
                    language,
                }
            },
        )
}

/// `a` is at least as urgent as `b` (P1 is the most urgent).
fn at_least(a: Priority, b: Priority) -> bool {
    a.at_least(b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn adding_a_danger_flag_never_lowers_the_priority(facts in facts(), kind in select(IncidentKind::ALL)) {
        let before = decide(&facts, now()).priority;
        let mut raised = Vec::new();
        raised.push(ReportFacts { immediate_danger: true, ..facts.clone() });
        raised.push(ReportFacts { threat_to_life: true, ..facts.clone() });
        raised.push(ReportFacts { recurrence: Recurrence::Repeated, ..facts.clone() });
        if !facts.incident_kinds.contains(&kind) {
            let mut more = facts.clone();
            more.incident_kinds.push(kind);
            raised.push(more);
        }
        for more in raised {
            let after = decide(&more, now()).priority;
            prop_assert!(at_least(after, before), "{:?} -> {:?} for {:?}", before, after, more);
        }
        // Immediate danger or a threat to life is always P1.
        prop_assert_eq!(decide(&ReportFacts { immediate_danger: true, ..facts.clone() }, now()).priority, Priority::P1);
        prop_assert_eq!(decide(&ReportFacts { threat_to_life: true, ..facts }, now()).priority, Priority::P1);
    }

    #[test]
    fn a_follow_up_never_lowers_and_more_danger_never_lowers_it(
        facts in facts(),
        current in select(Priority::ALL),
        danger in any::<bool>(),
        threat in any::<bool>(),
        kinds in proptest::sample::subsequence(IncidentKind::ALL, 0..=3),
        slot in 1u64..1000,
    ) {
        let follow_up = FollowUpFacts { immediate_danger: danger, threat_to_life: threat, incident_kinds: kinds.to_vec() };
        let decided = decide_follow_up(&facts, &follow_up, slot, now(), current).priority;
        prop_assert!(at_least(decided, current));
        let worse = FollowUpFacts { immediate_danger: true, ..follow_up.clone() };
        prop_assert_eq!(decide_follow_up(&facts, &worse, slot, now(), current).priority, Priority::P1);
        let more = FollowUpFacts { threat_to_life: true, ..follow_up };
        prop_assert!(at_least(decide_follow_up(&facts, &more, slot, now(), current).priority, decided));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn bounded_text_is_trimmed_within_bounds_and_clean_or_refused(text in prop_oneof![
        any::<String>(),
        "[ a-z\n\t\u{202e}\u{0}]{0,120}",
    ]) {
        match serde_json::from_value::<Paragraphs<100>>(serde_json::Value::String(text.clone())) {
            Ok(kept) => {
                prop_assert_eq!(kept.as_str(), text.trim());
                prop_assert!((1..=100).contains(&kept.chars().count()));
                prop_assert!(shared::text::refusal(&kept, true).is_none());
            }
            Err(_) => prop_assert!(
                text.trim().is_empty() || text.trim().chars().count() > 100 || shared::text::refusal(text.trim(), true).is_some()
            ),
        }
    }

    #[test]
    fn per_priority_minutes_parse_or_are_refused(text in prop_oneof![
        "(P[0-9]=[-+]?[0-9]{1,20},?){0,5}",
        any::<String>(),
    ]) {
        if let Ok(parsed) = PerPriority::parse_minutes(&text) {
            for p in Priority::ALL {
                if let Some(d) = parsed.get(*p) {
                    prop_assert!(d > Duration::ZERO && d <= Duration::minutes(MAX_MINUTES));
                    // A deadline from now is a time.
                    let _ = now() + d;
                }
            }
        }
    }

    #[test]
    fn routing_tables_parse_or_are_refused(text in prop_oneof![
        "((mayor|alderman|council_member|\\*|x)=(ngb|nvvr|bzk|wethoudersvereniging|y),?){0,5}",
        any::<String>(),
    ]) {
        if let Ok(routing) = Routing::parse(&text) {
            // Every role is routed somewhere.
            for role in Role::ALL {
                let _ = routing.organisation(*role);
            }
            prop_assert!(text.contains("*="));
        }
    }
}
