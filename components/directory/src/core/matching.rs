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
//! yield `limit` candidates. Each tier's lists are read as card pages
//! ([`crate::core::cards`]): a match reads a few pages and the few members it proposes,
//! never every member of a list.

use crate::context::{Ctx, COMPONENT};
use crate::core::cards::{self, Card, CardLine, Edit, PAGE_SLOTS};
use crate::core::index::{Area, Bucket, Lane, GET_MANY_CHUNK};
use crate::core::member::{Municipality, Profile};
use crate::core::record::{Availability, Load, MemberRecord};
use crate::core::registry::{read_members, read_stored};
use shared::calls::{Candidate, MatchAnswer, MatchRequest, NeedMatches};
use shared::domain::{Expertise, Language, RegionCode, Role, SupportNeed};
use shared::id::MemberId;
use shared::kv::versioned::Versioned;
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

/// The highest score the member of `card` could get in `lane` at `tier` on `today`
/// (`YYYY-MM-DD`), or `None` if the card alone excludes them (on leave in every version
/// it stands for). Never below what [`evaluate`] gives the member's stored document and
/// load: the card is an upper bound, the spare-capacity part counted as if no case were
/// open, and the municipality rule (which needs the member document) left to [`evaluate`].
pub fn bound(card: &CardLine<'_>, tier: Tier, lane: Lane, request: &Criteria, today: &str) -> Option<f64> {
    if card.surely_on_leave(today) {
        return None;
    }
    let mut score = match tier {
        Tier::Region => TIER_REGION,
        Tier::Province => TIER_PROVINCE,
        Tier::National => TIER_NATIONAL,
    };
    if lane == Lane::Peer && card.may_have(request.role) {
        score += SAME_ROLE;
    }
    if card.may_speak(request.language) {
        score += SPEAKS_LANGUAGE;
    }
    score += SPARE_CAPACITY;
    Some((score * 100.0).round() / 100.0)
}

/// Whether `(score, id)` is ranked before `(other_score, other_id)`.
fn ranks_before(score: f64, id: &str, other_score: f64, other_id: &str) -> bool {
    score > other_score || (score == other_score && id < other_id)
}

/// The card lines of the members listed in `buckets`, each with its list, and the
/// members the pages did not know about, read the old way (entry, then member and load)
/// and folded into the pages, so the next match reads a page.
struct Listing {
    lines: Vec<(Bucket, String)>,
    read: Vec<(MemberRecord, Load)>,
}

/// One counter read per list, one `get_many` of their card pages; then, only for slots
/// no page speaks for, one `get_many` of those entries and one of their members.
fn read_lists<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, buckets: &[Bucket]) -> Result<Listing, StoreError> {
    let store = ctx.store;
    let mut lasts = Vec::with_capacity(buckets.len());
    for bucket in buckets {
        lasts.push((*bucket, bucket.log().last_slot(store)?));
    }
    let keys: Vec<String> = lasts.iter().flat_map(|(b, last)| cards::page_keys(*b, *last)).collect();
    let mut pages = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(GET_MANY_CHUNK) {
        pages.extend(store.get_many(chunk)?);
    }
    let mut pages = pages.into_iter();
    let mut listing = Listing { lines: Vec::new(), read: Vec::new() };
    let mut unfolded: Vec<(Bucket, String)> = Vec::new();
    for (bucket, last) in lasts {
        let log = bucket.log();
        for p in 0..last.div_ceil(PAGE_SLOTS) {
            let page = cards::decode_lines(pages.next().flatten().as_deref());
            let first = p * PAGE_SLOTS + 1;
            let mut carded = vec![false; PAGE_SLOTS as usize];
            for slot in cards::card_slots(&page.lines) {
                if let Some(seen) = slot.checked_sub(first).and_then(|i| carded.get_mut(i as usize)) {
                    *seen = true;
                }
            }
            for slot in first..=last.min(first + PAGE_SLOTS - 1) {
                if !carded[(slot - first) as usize] && !page.gone.contains(&slot) {
                    unfolded.push((bucket, log.key(slot)));
                }
            }
            listing.lines.push((bucket, page.lines));
        }
    }
    if unfolded.is_empty() {
        return Ok(listing);
    }
    // Slots no page speaks for: read as before pages existed, then fold them in.
    let keys: Vec<String> = unfolded.iter().map(|(_, k)| k.clone()).collect();
    let mut entries = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(GET_MANY_CHUNK) {
        entries.extend(store.get_many(chunk)?);
    }
    let listed: Vec<(Bucket, String, MemberId)> = unfolded
        .into_iter()
        .zip(entries)
        .filter_map(|((bucket, key), value)| {
            // Empty: removed, or reserved by a write still under way: nothing to fold.
            let id = value.and_then(|v| String::from_utf8(v).ok()).and_then(|t| MemberId::parse(&t).ok())?;
            Some((bucket, key, id))
        })
        .collect();
    let ids: BTreeSet<&MemberId> = listed.iter().map(|(_, _, id)| id).collect();
    let members: BTreeMap<MemberId, (Versioned<MemberRecord>, Load)> =
        read_stored(store, ids.into_iter())?.into_iter().map(|(m, l)| (m.data.id.clone(), (m, l))).collect();
    let mut repairs = Vec::new();
    for (bucket, key, id) in listed {
        let Some((member, _)) = members.get(&id) else { continue };
        // Records from before members kept their slot keys list none: for them the
        // list itself decides, as it did before pages.
        let lists_it = member.data.index_slots.contains(&key)
            || (member.data.index_slots.is_empty() && bucket.admits(&member.data));
        if lists_it {
            let card = Card::of(&member.data, member.version);
            if let Some((_, slot)) = cards::page_of_slot_key(&key) {
                listing.lines.push((bucket, card.line(slot)));
            }
            repairs.push((key, Edit::Insert(card)));
        } else {
            repairs.push((key, Edit::Stale));
        }
    }
    listing.read = members.into_values().map(|(m, l)| (m.data, l)).collect();
    if let Err(e) = cards::edit(store, ctx.random, &repairs) {
        shared::log::warn(COMPONENT, ctx.correlation_id, "card-fold", &e.to_string());
    }
    Ok(listing)
}

/// Finds and ranks candidates for every need of `request`, tier by tier.
///
/// Per tier and lane: the cards of the tier's lists, ordered by their upper bound
/// ([`bound`]); then the member documents and loads of the best few, judged exactly
/// by [`evaluate`], in small batches, until `limit` judged candidates rank before every
/// card not yet read. A match thus reads the lists' pages plus about `limit` members
/// per need, however long the lists are.
pub fn match_members<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, request: &Criteria) -> Result<MatchAnswer, StoreError> {
    let (store, now) = (ctx.store, ctx.now());
    let lanes: BTreeSet<Lane> = request.needs.iter().map(|n| lane_for(*n)).collect();
    // Per lane: the candidates found so far (all tiers), and the members already judged
    // at a closer tier.
    let mut found: BTreeMap<Lane, Vec<(f64, MemberId)>> = BTreeMap::new();
    let mut placed: BTreeMap<Lane, BTreeSet<String>> = BTreeMap::new();
    let today = now.to_string()[..10].to_string();
    let mut known: BTreeMap<MemberId, (MemberRecord, Load)> = BTreeMap::new();
    let mut per_need: BTreeMap<SupportNeed, Vec<Candidate>> = BTreeMap::new();
    for tier in Tier::ALL {
        let wanting: Vec<Lane> =
            lanes.iter().copied().filter(|lane| found.get(lane).map_or(0, Vec::len) < request.limit).collect();
        if wanting.is_empty() {
            break;
        }
        let buckets: Vec<Bucket> = wanting.iter().flat_map(|lane| tier.buckets(*lane, request.region)).collect();
        let listing = read_lists(ctx, &buckets)?;
        for (member, load) in listing.read {
            known.insert(member.id.clone(), (member, load));
        }
        for lane in wanting {
            let need = *request.needs.iter().find(|n| lane_for(**n) == lane).expect("a lane comes from a need");
            let placed_before = placed.entry(lane).or_default();
            let mut queue: Vec<(f64, Bucket, &str)> = Vec::new();
            for (bucket, lines) in listing.lines.iter().filter(|(b, _)| b.lane == lane) {
                for card in cards::card_lines(lines) {
                    if placed_before.contains(card.member) {
                        continue;
                    }
                    if let Some(score) = bound(&card, tier, lane, request, &today) {
                        queue.push((score, *bucket, card.member));
                    }
                }
            }
            // Only the head of the queue is ever walked (about `limit` cards): order
            // that, and the rest only if the walk gets there.
            let order =
                |a: &(f64, Bucket, &str), b: &(f64, Bucket, &str)| b.0.total_cmp(&a.0).then_with(|| a.2.cmp(b.2));
            let mut ordered = queue.len().min(2 * request.limit + 2);
            if ordered < queue.len() {
                queue.select_nth_unstable_by(ordered, order);
            }
            queue[..ordered].sort_unstable_by(order);
            let wanted = request.limit - found.get(&lane).map_or(0, Vec::len);
            let mut judged: Vec<(f64, MemberId)> = Vec::new();
            let mut here: BTreeSet<String> = BTreeSet::new();
            let mut next = 0;
            while next < queue.len() {
                if next + request.limit >= ordered {
                    queue[ordered..].sort_unstable_by(order);
                    ordered = queue.len();
                }
                let (top, _, top_id) = queue[next];
                let sure = judged.iter().filter(|(s, id)| ranks_before(*s, id.as_str(), top, top_id)).count();
                if sure >= wanted {
                    break;
                }
                let batch = &queue[next..queue.len().min(next + wanted - sure)];
                next += batch.len();
                let ids: Vec<(Bucket, MemberId)> =
                    batch.iter().filter_map(|(_, b, id)| MemberId::parse(id).ok().map(|id| (*b, id))).collect();
                let unread: BTreeSet<&MemberId> =
                    ids.iter().map(|(_, id)| id).filter(|id| !known.contains_key(*id)).collect();
                for (member, load) in read_members(store, unread.into_iter())? {
                    known.insert(member.id.clone(), (member, load));
                }
                for (bucket, id) in &ids {
                    let Some((member, load)) = known.get(id) else { continue };
                    // The card is a hint: the member must still belong in that list.
                    if !bucket.admits(member) || !here.insert(id.as_str().to_string()) {
                        continue;
                    }
                    if let Some(c) = evaluate(member, load, tier, lane, need, request, now) {
                        judged.push((c.score, id.clone()));
                    }
                }
            }
            judged.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            judged.truncate(wanted);
            placed_before.extend(here);
            for (_, id) in &judged {
                let (member, load) = &known[id];
                for n in request.needs.iter().filter(|n| lane_for(**n) == lane) {
                    if let Some(c) = evaluate(member, load, tier, lane, *n, request, now) {
                        per_need.entry(*n).or_default().push(c);
                    }
                }
            }
            found.entry(lane).or_default().extend(judged);
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
