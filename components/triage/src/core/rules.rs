//! The triage decision: priority rules, needs, routing and deadlines, as data in one
//! place (the baseline of `docs/domain.md`, "Priority" and "Routing"; see `docs/triage.md` for the choices
//! made where it is silent).

use shared::case::{FollowUpFacts, ReportFacts};
use shared::domain::{IncidentKind, Organisation, Priority, Recurrence, RequestKind, Role, SupportNeed};
use shared::time::{Duration, Timestamp};

/// One priority rule: when it fires, the case is at least `priority`.
pub struct Rule {
    /// Stable name, shown in the reasons and used in tests.
    pub name: &'static str,
    pub priority: Priority,
    /// In a confidant's words.
    pub says: &'static str,
    /// Whether the rule fires for a report received at `received_at`.
    pub fires: fn(&ReportFacts, Timestamp) -> bool,
}

fn has(facts: &ReportFacts, kind: IncidentKind) -> bool {
    facts.incident_kinds.contains(&kind)
}

/// Physical violence counts as "in the last 24 hours" when it happened within a day of
/// the report, or when the reporter did not say when (we never assume it is old).
fn recent_violence(facts: &ReportFacts, received_at: Timestamp) -> bool {
    has(facts, IncidentKind::PhysicalViolence)
        && facts.occurred_at.is_none_or(|at| at + Duration::hours(24) >= received_at)
}

/// The baseline rules of `docs/domain.md` ("Priority"), most urgent first. The priority of a case is the
/// most urgent rule that fires; [`REPEATED_RAISES`] then applies.
pub const RULES: &[Rule] = &[
    Rule {
        name: "immediate_danger",
        priority: Priority::P1,
        says: "immediate danger now",
        fires: |f, _| f.immediate_danger,
    },
    Rule {
        name: "recent_physical_violence",
        priority: Priority::P1,
        says: "physical violence in the last 24 hours",
        fires: recent_violence,
    },
    Rule {
        name: "threat_to_life",
        priority: Priority::P1,
        says: "credible threat to life",
        fires: |f, _| f.threat_to_life,
    },
    Rule {
        name: "earlier_physical_violence",
        priority: Priority::P2,
        says: "physical violence more than 24 hours ago",
        fires: |f, at| has(f, IncidentKind::PhysicalViolence) && !recent_violence(f, at),
    },
    Rule {
        name: "threat_of_violence",
        priority: Priority::P2,
        says: "threat of violence",
        fires: |f, _| has(f, IncidentKind::ThreatOfViolence),
    },
    Rule { name: "stalking", priority: Priority::P2, says: "stalking", fires: |f, _| has(f, IncidentKind::Stalking) },
    Rule {
        name: "doxxing",
        priority: Priority::P2,
        says: "home address or family details published",
        fires: |f, _| has(f, IncidentKind::Doxxing),
    },
    Rule {
        name: "family_targeted",
        priority: Priority::P2,
        says: "family targeted",
        fires: |f, _| has(f, IncidentKind::FamilyTargeted),
    },
    Rule {
        name: "intimidation",
        priority: Priority::P3,
        says: "intimidation",
        fires: |f, _| has(f, IncidentKind::Intimidation),
    },
    Rule {
        name: "online_harassment",
        priority: Priority::P3,
        says: "online harassment",
        fires: |f, _| has(f, IncidentKind::OnlineHarassment),
    },
    Rule {
        name: "verbal_aggression",
        priority: Priority::P3,
        says: "verbal aggression",
        fires: |f, _| has(f, IncidentKind::VerbalAggression),
    },
    Rule {
        name: "property_damage",
        priority: Priority::P3,
        says: "property damage",
        fires: |f, _| has(f, IncidentKind::PropertyDamage),
    },
    Rule {
        name: "other_incident",
        priority: Priority::P3,
        says: "an incident of another kind",
        fires: |f, _| {
            has(f, IncidentKind::Other) || (f.request_kind == RequestKind::Incident && f.incident_kinds.is_empty())
        },
    },
    Rule {
        name: "prevention_question",
        priority: Priority::P4,
        says: "prevention question",
        fires: |f, _| f.request_kind == RequestKind::Prevention,
    },
    Rule {
        name: "aftercare_without_new_incident",
        priority: Priority::P4,
        says: "aftercare without a new incident",
        fires: |f, _| f.request_kind == RequestKind::Aftercare && f.incident_kinds.is_empty(),
    },
];

/// The name of the rule that raises a repeated or ongoing situation one step.
pub const REPEATED_RAISES: &str = "repeated_raises_one_step";

/// What the rules decided, with every reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub priority: Priority,
    /// `rule_name: words`, every rule that fired, most urgent first.
    pub reasons: Vec<String>,
    pub needs: Vec<SupportNeed>,
}

/// Applies [`RULES`] to a report. A repeated or ongoing incident is raised one step
/// (never above P1); an "escalating series" is exactly that (e.g. repeated intimidation
/// is P2). A report no rule covers is P3, so nothing is ever triaged as mere advice by
/// accident.
pub fn decide(facts: &ReportFacts, received_at: Timestamp) -> Decision {
    let fired: Vec<&Rule> = RULES.iter().filter(|r| (r.fires)(facts, received_at)).collect();
    let mut reasons: Vec<String> = fired.iter().map(|r| format!("{}: {}", r.name, r.says)).collect();
    let mut priority = fired.iter().map(|r| r.priority).min().unwrap_or_else(|| {
        reasons.push("no_rule_fired: handled as standard".into());
        Priority::P3
    });
    let incident = facts.request_kind == RequestKind::Incident || !facts.incident_kinds.is_empty();
    if facts.recurrence == Recurrence::Repeated && incident && priority != Priority::P1 {
        priority = priority.raised();
        reasons.push(format!("{REPEATED_RAISES}: repeated or ongoing situation, raised to {priority}"));
    }
    Decision { priority, reasons, needs: needs(facts, priority) }
}

/// The name of the reason a follow-up adds to a case's assessment.
pub const FOLLOW_UP: &str = "reporter_follow_up";

/// Applies [`RULES`] to what a reporter's follow-up (message `slot`, sent `at`)
/// reports, on top of the case's own facts: danger now, and the new incident kinds as
/// a repeated situation of this case (so [`REPEATED_RAISES`] applies; an incident told
/// in a follow-up has just happened, so physical violence counts as recent). The
/// priority never drops below `current`; every reason names the follow-up.
pub fn decide_follow_up(
    case: &ReportFacts,
    follow_up: &FollowUpFacts,
    slot: u64,
    at: Timestamp,
    current: Priority,
) -> Decision {
    let facts = ReportFacts {
        request_kind: RequestKind::Incident,
        incident_kinds: follow_up.incident_kinds.clone(),
        immediate_danger: follow_up.immediate_danger,
        threat_to_life: follow_up.threat_to_life,
        recurrence: Recurrence::Repeated,
        occurred_at: None,
        ..case.clone()
    };
    let decided = decide(&facts, at);
    let priority = decided.priority.min(current);
    let mut reasons: Vec<String> =
        decided.reasons.iter().map(|r| format!("{FOLLOW_UP}: message {slot}: {r}")).collect();
    if priority != decided.priority {
        reasons.push(format!("{FOLLOW_UP}: message {slot}: stays {current}, never lowered by a follow-up"));
    }
    Decision { priority, reasons, needs: decided.needs }
}

/// What help the case needs: what the reporter asked for, plus what the situation calls
/// for (security for urgent incidents and threats, aftercare after violence, prevention
/// for prevention questions), in a fixed order.
pub fn needs(facts: &ReportFacts, priority: Priority) -> Vec<SupportNeed> {
    let mut wanted = facts.support_requested.clone();
    let threat = [
        IncidentKind::PhysicalViolence,
        IncidentKind::ThreatOfViolence,
        IncidentKind::Stalking,
        IncidentKind::Doxxing,
        IncidentKind::FamilyTargeted,
    ]
    .iter()
    .any(|k| has(facts, *k));
    if threat || (priority.at_least(Priority::P2) && facts.request_kind == RequestKind::Incident) {
        wanted.push(SupportNeed::Security);
    }
    if has(facts, IncidentKind::PhysicalViolence) || facts.request_kind == RequestKind::Aftercare {
        wanted.push(SupportNeed::Aftercare);
    }
    if facts.request_kind == RequestKind::Prevention {
        wanted.push(SupportNeed::Prevention);
    }
    SupportNeed::ALL.iter().copied().filter(|n| wanted.contains(n)).collect()
}

/// Which organisation's confidants own a case, by the office holder's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    by_role: Vec<(Role, Organisation)>,
    otherwise: Organisation,
}

impl Routing {
    /// Parses `mayor=ngb,alderman=wethoudersvereniging,council_member=nvvr,*=bzk`.
    pub fn parse(text: &str) -> Result<Routing, String> {
        let mut by_role = Vec::new();
        let mut otherwise = None;
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (role, org) = pair.split_once('=').ok_or("entries are role=organisation")?;
            let org = Organisation::parse(org.trim())?;
            match role.trim() {
                "*" => otherwise = Some(org),
                role => by_role.push((Role::parse(role)?, org)),
            }
        }
        Ok(Routing { by_role, otherwise: otherwise.ok_or("needs a default entry *=organisation")? })
    }

    /// The owning organisation for `role`.
    pub fn organisation(&self, role: Role) -> Organisation {
        self.by_role.iter().find(|(r, _)| *r == role).map(|(_, o)| *o).unwrap_or(self.otherwise)
    }
}

/// The longest deadline or interval [`PerPriority::parse_minutes`] takes: a year.
pub const MAX_MINUTES: i64 = 366 * 24 * 60;

/// A duration per priority (first-contact deadlines, escalation intervals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerPriority(Vec<(Priority, Duration)>);

impl PerPriority {
    /// Parses `P1=15,P2=240` (minutes). Priorities left out have no entry.
    pub fn parse_minutes(text: &str) -> Result<PerPriority, String> {
        let mut entries = Vec::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (p, minutes) = pair.split_once('=').ok_or("entries are P1=minutes")?;
            let minutes: i64 = minutes.trim().parse().map_err(|_| "minutes must be whole numbers")?;
            // Above 0, and at most a year: `Duration::minutes` panics past i64::MAX / 60,
            // and a deadline added to a time must stay a time.
            if !(1..=MAX_MINUTES).contains(&minutes) {
                return Err(format!("minutes must be from 1 to {MAX_MINUTES} (a year)"));
            }
            entries.push((Priority::parse(p.trim())?, Duration::minutes(minutes)));
        }
        Ok(PerPriority(entries))
    }

    /// The duration for `priority`, if it has one.
    pub fn get(&self, priority: Priority) -> Option<Duration> {
        self.0.iter().find(|(p, _)| *p == priority).map(|(_, d)| *d)
    }

    /// Whether every priority has an entry.
    pub fn covers_all(&self) -> bool {
        Priority::ALL.iter().all(|p| self.get(*p).is_some())
    }
}

/// The default first-contact deadlines of `docs/domain.md` ("Priority").
pub const DEFAULT_SLA: &str = "P1=15,P2=240,P3=1440,P4=4320";
/// The default routing table of `docs/domain.md` ("Routing").
pub const DEFAULT_ROUTING: &str = "mayor=ngb,alderman=wethoudersvereniging,council_member=nvvr,*=bzk";
/// Every overdue case escalates until acknowledged: by default P1 every 15 minutes, P2
/// every hour, P3 every 4 hours and P4 every day.
pub const DEFAULT_ESCALATION: &str = "P1=15,P2=60,P3=240,P4=1440";
