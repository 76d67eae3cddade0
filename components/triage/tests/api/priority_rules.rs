//! Each priority rule of `docs/domain.md` ("Priority"), by name, plus routing, needs and deadlines.

use crate::common::*;
use shared::case::ReportFacts;
use shared::domain::{IncidentKind::*, *};
use shared::time::Duration;
use triage::core::rules::{decide, Routing, DEFAULT_ROUTING};

fn decided(facts: ReportFacts) -> (Priority, Vec<String>) {
    let d = decide(&facts, start());
    (d.priority, d.reasons)
}

fn assert_rule(facts: ReportFacts, priority: Priority, rule: &str) {
    let (p, reasons) = decided(facts);
    assert_eq!(p, priority, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with(&format!("{rule}:"))), "{rule} not in {reasons:?}");
}

#[test]
fn immediate_danger_is_p1() {
    assert_rule(ReportFacts { immediate_danger: true, ..incident(&[Intimidation]) }, Priority::P1, "immediate_danger");
}

#[test]
fn physical_violence_in_the_last_24_hours_is_p1() {
    let at = Some(start() - Duration::hours(23));
    assert_rule(
        ReportFacts { occurred_at: at, ..incident(&[PhysicalViolence]) },
        Priority::P1,
        "recent_physical_violence",
    );
}

#[test]
fn physical_violence_without_a_time_is_treated_as_recent() {
    assert_rule(incident(&[PhysicalViolence]), Priority::P1, "recent_physical_violence");
}

#[test]
fn credible_threat_to_life_is_p1() {
    assert_rule(ReportFacts { threat_to_life: true, ..incident(&[ThreatOfViolence]) }, Priority::P1, "threat_to_life");
}

#[test]
fn physical_violence_longer_ago_is_p2() {
    let at = Some(start() - Duration::hours(30));
    assert_rule(
        ReportFacts { occurred_at: at, ..incident(&[PhysicalViolence]) },
        Priority::P2,
        "earlier_physical_violence",
    );
}

#[test]
fn threat_of_violence_is_p2() {
    assert_rule(incident(&[ThreatOfViolence]), Priority::P2, "threat_of_violence");
}

#[test]
fn stalking_is_p2() {
    assert_rule(incident(&[Stalking]), Priority::P2, "stalking");
}

#[test]
fn doxxing_is_p2() {
    assert_rule(incident(&[Doxxing]), Priority::P2, "doxxing");
}

#[test]
fn family_targeted_is_p2() {
    assert_rule(incident(&[FamilyTargeted]), Priority::P2, "family_targeted");
}

#[test]
fn an_escalating_series_of_intimidation_is_p2() {
    let facts = ReportFacts { recurrence: Recurrence::Repeated, ..incident(&[Intimidation]) };
    assert_rule(facts, Priority::P2, "repeated_raises_one_step");
}

#[test]
fn intimidation_is_p3() {
    assert_rule(incident(&[Intimidation]), Priority::P3, "intimidation");
}

#[test]
fn online_harassment_is_p3() {
    assert_rule(incident(&[OnlineHarassment]), Priority::P3, "online_harassment");
}

#[test]
fn verbal_aggression_is_p3() {
    assert_rule(incident(&[VerbalAggression]), Priority::P3, "verbal_aggression");
}

#[test]
fn property_damage_is_p3() {
    assert_rule(incident(&[PropertyDamage]), Priority::P3, "property_damage");
}

#[test]
fn prevention_question_is_p4() {
    assert_rule(ReportFacts { request_kind: RequestKind::Prevention, ..facts() }, Priority::P4, "prevention_question");
}

#[test]
fn aftercare_without_a_new_incident_is_p4() {
    let facts = ReportFacts { request_kind: RequestKind::Aftercare, ..facts() };
    assert_rule(facts, Priority::P4, "aftercare_without_new_incident");
}

#[test]
fn a_repeated_situation_raises_one_step_and_never_above_p1() {
    let repeated = |f: ReportFacts| ReportFacts { recurrence: Recurrence::Repeated, ..f };
    assert_eq!(decided(repeated(incident(&[ThreatOfViolence]))).0, Priority::P1);
    assert_eq!(decided(repeated(incident(&[OnlineHarassment]))).0, Priority::P2);
    let (p, reasons) = decided(repeated(ReportFacts { immediate_danger: true, ..incident(&[Stalking]) }));
    assert_eq!(p, Priority::P1);
    assert!(!reasons.iter().any(|r| r.starts_with("repeated")), "P1 stays P1 without a raise: {reasons:?}");
}

#[test]
fn the_most_urgent_rule_wins_and_every_fired_rule_is_a_reason() {
    let (p, reasons) = decided(incident(&[Intimidation, Doxxing]));
    assert_eq!(p, Priority::P2);
    assert!(reasons[0].starts_with("doxxing:") && reasons[1].starts_with("intimidation:"), "{reasons:?}");
}

#[test]
fn routing_follows_the_domain_table_and_is_configurable() {
    let routing = Routing::parse(DEFAULT_ROUTING).unwrap();
    assert_eq!(routing.organisation(Role::Mayor), Organisation::Ngb);
    assert_eq!(routing.organisation(Role::Alderman), Organisation::Wethoudersvereniging);
    assert_eq!(routing.organisation(Role::CouncilMember), Organisation::Nvvr);
    assert_eq!(routing.organisation(Role::KingsCommissioner), Organisation::Bzk);
    let custom = Routing::parse("water_board_member=nvvr,*=bzk").unwrap();
    assert_eq!(custom.organisation(Role::WaterBoardMember), Organisation::Nvvr);
    assert!(Routing::parse("mayor=ngb").is_err(), "a default is required");
}

#[test]
fn needs_combine_the_request_with_what_the_situation_calls_for() {
    let d =
        decide(&ReportFacts { support_requested: vec![SupportNeed::Peer], ..incident(&[PhysicalViolence]) }, start());
    assert_eq!(d.needs, vec![SupportNeed::Security, SupportNeed::Aftercare, SupportNeed::Peer]);
    let prevention = decide(&ReportFacts { request_kind: RequestKind::Prevention, ..facts() }, start());
    assert_eq!(prevention.needs, vec![SupportNeed::Prevention]);
}

#[test]
fn a_triaged_case_carries_priority_reasons_organisation_and_deadline() {
    let w = World::new();
    let id = w.triaged(ReportFacts { role: Role::Alderman, ..incident(&[Stalking]) });
    let a = w.record(&id).data.assessment.unwrap();
    assert_eq!(a.priority, Priority::P2);
    assert_eq!(a.organisation, Organisation::Wethoudersvereniging);
    assert_eq!(a.first_contact_due, start() + Duration::hours(4));
    assert!(a.reasons.iter().any(|r| r.starts_with("stalking:")));
}

#[test]
fn deadlines_follow_the_configured_sla() {
    let mut w = World::new();
    w.vars.set("first_contact_sla_minutes", "P1=5,P2=60,P3=600,P4=6000");
    let id = w.triaged(ReportFacts { immediate_danger: true, ..facts() });
    assert_eq!(w.record(&id).data.assessment.unwrap().first_contact_due, start() + Duration::minutes(5));
    w.vars.set("first_contact_sla_minutes", "P1=5");
    let reply = w.handover(&w.file(facts()));
    assert_eq!((reply.status, reply.body["type"].as_str()), (503, Some("urn:weerbaar:problem:misconfigured")));
    assert!(reply.body["detail"].as_str().unwrap().contains("first_contact_sla_minutes"));
}

/// The manifest's default of an application variable (split manifests are held equal to
/// it by `tests/tests/suite/deploy_manifests.rs`).
fn manifest_default(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spin.toml");
    let manifest: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let variable = &manifest["variables"][name];
    variable["default"].as_str().unwrap_or_else(|| panic!("spin.toml: `{name}` has no default")).to_string()
}

/// The rules hold their defaults in code (for a deployment that leaves the variable out)
/// and spin.toml states them again for operators: both must say the same.
#[test]
fn the_rule_defaults_in_code_are_the_manifests_defaults() {
    use triage::core::rules::{PerPriority, DEFAULT_ESCALATION, DEFAULT_SLA};
    let routing = manifest_default("routing");
    assert_eq!(Routing::parse(&routing).unwrap(), Routing::parse(DEFAULT_ROUTING).unwrap(), "routing: {routing}");
    for (name, in_code) in
        [("first_contact_sla_minutes", DEFAULT_SLA), ("escalation_interval_minutes", DEFAULT_ESCALATION)]
    {
        let in_manifest = manifest_default(name);
        assert_eq!(
            PerPriority::parse_minutes(&in_manifest).unwrap(),
            PerPriority::parse_minutes(in_code).unwrap(),
            "{name}: spin.toml says {in_manifest}, the code {in_code}"
        );
    }
}
