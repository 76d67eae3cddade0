//! Who should help with a case, and why.
//!
//! Rules (see `docs/directory.md`):
//! - a `peer` need is answered by peers; `security`, `legal` and `aftercare` by experts
//!   with that expertise; `prevention` by security experts (prevention advice, training
//!   and security scans are what the security experts of the network give);
//! - never a peer from the reporter's own municipality (conflict of interest); nobody
//!   on leave, deactivated or at capacity;
//! - same region first, then the rest of the province, then national members: the tier
//!   dominates the score, so no bonus lifts a province member above a regional one;
//! - within a tier: same role (peers), speaking the case's language, and spare capacity
//!   add to the score; equal scores are ordered by member id, so answers are stable.
//!
//! Tiers are read one at a time, and the next only when the earlier ones did not
//! yield `limit` candidates: a match reads a few index lists, never every member.

use crate::context::Ctx;
use crate::core::index::{listed, Area, Bucket, Lane};
use crate::core::member::{Municipality, Profile};
use crate::core::record::{Availability, Load, MemberRecord};
use crate::core::registry::read_members;
use shared::calls::{Candidate, MatchAnswer, MatchRequest, NeedMatches};
use shared::domain::{Expertise, Language, RegionCode, Role, SupportNeed};
use shared::id::MemberId;
use shared::kv::{KeyValue, StoreError};
use shared::problem::Problem;
use shared::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// Candidates per need when the caller does not say.
pub const DEFAULT_LIMIT: usize = 5;
/// Most candidates per need.
pub const MAX_LIMIT: usize = 20;

const TIER_REGION: f64 = 300.0;
const TIER_PROVINCE: f64 = 200.0;
const TIER_NATIONAL: f64 = 100.0;
const SAME_ROLE: f64 = 20.0;
const SPEAKS_LANGUAGE: f64 = 15.0;
const SPARE_CAPACITY: f64 = 10.0;

/// What a match request asks, parsed: the criteria every candidate is held to.
#[derive(Debug, Clone)]
pub struct Criteria {
    pub role: Role,
    pub region: RegionCode,
    /// Personal-ish: used for the conflict-of-interest rule, never logged.
    pub municipality: Municipality,
    pub needs: Vec<SupportNeed>,
    pub language: Language,
    pub limit: usize,
}

impl Criteria {
    /// Parses a request: 422 naming the field at fault.
    pub fn parse(form: MatchRequest) -> Result<Self, Problem> {
        let municipality =
            Municipality::parse(&form.municipality).map_err(|e| Problem::invalid_field("/municipality", e))?;
        let limit = match form.limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT as u32).contains(&n) => n as usize,
            Some(_) => return Err(Problem::invalid_field("/limit", format!("must be 1 to {MAX_LIMIT}"))),
        };
        let mut needs = Vec::new();
        for need in form.needs {
            if !needs.contains(&need) {
                needs.push(need);
            }
        }
        Ok(Criteria { role: form.role, region: form.region, municipality, needs, language: form.language, limit })
    }
}

/// Which lane answers a need.
pub fn lane_for(need: SupportNeed) -> Lane {
    match need {
        SupportNeed::Peer => Lane::Peer,
        SupportNeed::Security | SupportNeed::Prevention => Lane::Expert(Expertise::Security),
        SupportNeed::Legal => Lane::Expert(Expertise::Legal),
        SupportNeed::Aftercare => Lane::Expert(Expertise::Aftercare),
    }
}

/// How close a member is to the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Region,
    Province,
    National,
}

impl Tier {
    const ALL: [Tier; 3] = [Tier::Region, Tier::Province, Tier::National];

    /// The index lists of `lane` this tier reads for a case in `region`.
    fn buckets(self, lane: Lane, region: RegionCode) -> Vec<Bucket> {
        match self {
            Tier::Region => vec![Bucket { lane, area: Area::Region(region) }],
            Tier::Province => RegionCode::ALL
                .iter()
                .filter(|r| **r != region && r.province() == region.province())
                .map(|r| Bucket { lane, area: Area::Region(*r) })
                .collect(),
            Tier::National => vec![Bucket { lane, area: Area::National }],
        }
    }
}

/// Scores `member` for `need` in `lane` at `tier`, or `None` if a rule excludes them.
pub fn evaluate(
    member: &MemberRecord,
    load: &Load,
    tier: Tier,
    lane: Lane,
    need: SupportNeed,
    request: &Criteria,
    now: Timestamp,
) -> Option<Candidate> {
    if !lane.holds(&member.profile) || member.availability(now) != Availability::Available {
        return None;
    }
    let open = load.open_cases.len() as u32;
    if open >= member.capacity {
        return None;
    }
    let mut reasons = Vec::new();
    let mut score = match tier {
        Tier::Region => {
            reasons.push(format!("same region ({} {})", request.region, request.region.name()));
            TIER_REGION
        }
        Tier::Province => {
            reasons.push(format!("same province ({})", request.region.province()));
            TIER_PROVINCE
        }
        Tier::National => {
            reasons.push("serves nationally".to_string());
            TIER_NATIONAL
        }
    };
    match (&member.profile, lane) {
        (Profile::Peer { role, municipality, .. }, _) => {
            if municipality.same_as(&request.municipality) {
                return None;
            }
            if *role == request.role {
                score += SAME_ROLE;
                reasons.push(format!("same role ({role})"));
            } else {
                reasons.push(format!("peer ({role})"));
            }
        }
        (Profile::Expert { .. }, Lane::Expert(e)) if need == SupportNeed::Prevention => {
            reasons.push(format!("expertise: {e} (prevention advice)"));
        }
        (Profile::Expert { .. }, Lane::Expert(e)) => reasons.push(format!("expertise: {e}")),
        (Profile::Expert { .. }, Lane::Peer) => return None,
    }
    if member.languages.contains(&request.language) {
        score += SPEAKS_LANGUAGE;
        reasons.push(format!("speaks {}", request.language));
    } else {
        reasons.push(format!("does not speak {}", request.language));
    }
    score += SPARE_CAPACITY * f64::from(member.capacity - open) / f64::from(member.capacity);
    reasons.push(format!("load {open} of {} open cases", member.capacity));
    Some(Candidate {
        member_id: member.id.clone(),
        name: member.name.clone(),
        kind: member.kind().as_str().to_string(),
        score: (score * 100.0).round() / 100.0,
        reasons,
    })
}

/// Best first; equal scores by member id, so the order never depends on the store.
pub fn rank(candidates: &mut [Candidate]) {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.member_id.cmp(&b.member_id)));
}

/// Finds and ranks candidates for every need of `request`, tier by tier.
pub fn match_members<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, request: &Criteria) -> Result<MatchAnswer, StoreError> {
    let (store, now) = (ctx.store, ctx.now());
    let lanes: BTreeSet<Lane> = request.needs.iter().map(|n| lane_for(*n)).collect();
    let mut per_need: BTreeMap<SupportNeed, Vec<Candidate>> = BTreeMap::new();
    // Members already read, and per lane the members already placed at a closer tier.
    let mut known: BTreeMap<MemberId, (MemberRecord, Load)> = BTreeMap::new();
    let mut placed: BTreeMap<Lane, BTreeSet<MemberId>> = BTreeMap::new();
    for tier in Tier::ALL {
        let wanting: Vec<Lane> = lanes
            .iter()
            .copied()
            .filter(|lane| {
                request
                    .needs
                    .iter()
                    .filter(|n| lane_for(**n) == *lane)
                    .any(|n| per_need.get(n).map_or(0, Vec::len) < request.limit)
            })
            .collect();
        if wanting.is_empty() {
            break;
        }
        let buckets: Vec<Bucket> = wanting.iter().flat_map(|lane| tier.buckets(*lane, request.region)).collect();
        let found = listed(store, &buckets)?;
        let unread: BTreeSet<&MemberId> =
            found.iter().map(|(_, id)| id).filter(|id| !known.contains_key(*id)).collect();
        for (member, load) in read_members(store, unread.into_iter())? {
            known.insert(member.id.clone(), (member, load));
        }
        for (bucket, id) in &found {
            let Some((member, load)) = known.get(id) else { continue };
            // The entry is a hint: the member must still belong in that list.
            if !bucket.admits(member) || !placed.entry(bucket.lane).or_default().insert(id.clone()) {
                continue;
            }
            for need in request.needs.iter().filter(|n| lane_for(**n) == bucket.lane) {
                if let Some(c) = evaluate(member, load, tier, bucket.lane, *need, request, now) {
                    per_need.entry(*need).or_default().push(c);
                }
            }
        }
    }
    let matches = request
        .needs
        .iter()
        .map(|need| {
            let mut candidates = per_need.remove(need).unwrap_or_default();
            rank(&mut candidates);
            candidates.truncate(request.limit);
            NeedMatches { need: *need, candidates }
        })
        .collect();
    Ok(MatchAnswer { matches })
}
