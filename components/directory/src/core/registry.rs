//! The member register: create, import, update, deactivate, read and list members,
//! keeping the index lists in step.

use crate::context::{Ctx, COMPONENT};
use crate::core::cards::{self, Card, Edit};
use crate::core::index::{self, all_members, buckets_of, reserve_entries, slot_in};
use crate::core::member::{MemberKind, MemberProfile};
use crate::core::record::{claim_key, load_key, member_key, Availability, Load, MemberRecord};
use shared::domain::{Expertise, RegionCode};
use shared::id::MemberId;
use shared::kv::slots::SlotLog;
use shared::kv::versioned::{self, Change, Versioned};
use shared::kv::{claim, KeyValue, StoreError};
use shared::problem::{FieldError, Problem, ProblemKind};
use shared::web::stale;
use std::collections::BTreeSet;

/// Most records one import may hold (they are written in one `set_many`).
pub const MAX_IMPORT: usize = 500;
/// Most members on one page of a listing.
pub const MAX_PAGE: usize = 100;
/// Most index slots one listing request walks: a filter that matches little returns a
/// short page with a cursor instead of reading the whole register in one request.
const SCAN_PER_PAGE: u64 = 1000;

/// A member with its open cases, as read.
pub struct Stored {
    pub member: Versioned<MemberRecord>,
    pub load: Load,
}

/// What a listing may filter on.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub kind: Option<MemberKind>,
    pub expertise: Option<Expertise>,
    /// `Some(None)`: national members; `Some(Some(r))`: members serving region `r`.
    pub region: Option<Option<RegionCode>>,
    pub availability: Option<Availability>,
}

/// One page of a listing.
pub struct Page {
    pub members: Vec<(MemberRecord, Load)>,
    pub next_cursor: Option<u64>,
}

/// Creates a member with a fresh id: the member, its load and its index entries in
/// one `set_many`.
pub fn create<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, profile: MemberProfile) -> Result<Versioned<MemberRecord>, Problem> {
    let id = MemberId::generate(ctx.random);
    let mut created = write_new(ctx, vec![(id, profile)])?;
    Ok(created.remove(0))
}

/// Imports members all-or-nothing. Records were parsed before; here only ids given
/// in the import can still clash (with each other or with existing members).
pub fn import<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    records: Vec<(Option<MemberId>, MemberProfile)>,
) -> Result<Vec<MemberId>, Problem> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, (id, _)) in records.iter().enumerate() {
        if let Some(id) = id {
            if !seen.insert(id.clone()) {
                errors.push(FieldError { field: format!("/{i}/id"), detail: "appears twice in this import".into() });
            }
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid_fields(errors));
    }
    // Look first, so refusing a repeated import writes nothing; then claim, so two
    // imports racing for one id cannot both win.
    let given: Vec<(usize, &MemberId)> =
        records.iter().enumerate().filter_map(|(i, (id, _))| id.as_ref().map(|id| (i, id))).collect();
    let keys: Vec<String> = given.iter().map(|(_, id)| member_key(id)).collect();
    let mut existing = Vec::new();
    for chunk in keys.chunks(index::GET_MANY_CHUNK) {
        existing.extend(ctx.store.get_many(chunk)?);
    }
    for ((i, id), value) in given.iter().zip(&existing) {
        if value.is_some() {
            errors.push(FieldError { field: format!("/{i}/id"), detail: format!("member {id} already exists") });
        }
    }
    if !errors.is_empty() {
        return Err(already_exist(errors));
    }
    let mut won = Vec::new();
    for (i, (id, _)) in records.iter().enumerate() {
        if let Some(id) = id {
            match claim(ctx.store, &claim_key(id)) {
                Ok(true) => won.push(claim_key(id)),
                Ok(false) => {
                    errors.push(FieldError { field: format!("/{i}/id"), detail: format!("member {id} already exists") })
                }
                Err(e) => {
                    release_claims(ctx, &won);
                    return Err(e.into());
                }
            }
        }
    }
    if !errors.is_empty() {
        release_claims(ctx, &won);
        return Err(already_exist(errors));
    }
    let with_ids =
        records.into_iter().map(|(id, p)| (id.unwrap_or_else(|| MemberId::generate(ctx.random)), p)).collect();
    match write_new(ctx, with_ids) {
        Ok(created) => Ok(created.into_iter().map(|m| m.data.id).collect()),
        Err(problem) => {
            release_claims(ctx, &won);
            Err(problem)
        }
    }
}

/// Claims are released when an import fails, so it can be sent again.
fn release_claims<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, claims: &[String]) {
    if let Err(e) = ctx.store.delete_many(claims) {
        shared::log::warn(COMPONENT, ctx.correlation_id, "claim-release", &e.to_string());
    }
}

fn write_new<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    members: Vec<(MemberId, MemberProfile)>,
) -> Result<Vec<Versioned<MemberRecord>>, Problem> {
    let now = ctx.now();
    let mut records: Vec<MemberRecord> = members
        .into_iter()
        .map(|(id, profile)| MemberRecord::new(id, profile, now, &ctx.config.keyring, ctx.random))
        .collect();
    let mut wanted: Vec<(SlotLog, MemberId)> = Vec::new();
    for record in &records {
        wanted.push((all_members(), record.id.clone()));
        wanted.extend(buckets_of(record).into_iter().map(|b| (b.log(), record.id.clone())));
    }
    let entries = reserve_entries(ctx.store, &wanted)?;
    let mut batch = Vec::with_capacity(entries.len() + 2 * records.len());
    let mut entry_iter = entries.into_iter().zip(wanted.iter().map(|(_, id)| id));
    let mut docs = Vec::with_capacity(records.len());
    for record in records.iter_mut() {
        let mut slots = Vec::new();
        for ((key, value), _) in entry_iter.by_ref().take(1 + buckets_of(record).len()) {
            slots.push(key.clone());
            batch.push((key, value));
        }
        record.index_slots = slots;
        let doc = Versioned::first(record.clone(), ctx.random);
        batch.push((member_key(&record.id), doc.encode()));
        batch.push((load_key(&record.id), Versioned::first(Load::default(), ctx.random).encode()));
        docs.push(doc);
    }
    ctx.store.set_many(&batch)?;
    // The members are stored; their cards make matching cheap but are only hints: a
    // page this does not reach is folded in by the next match that reads the list.
    let cards: Vec<(String, Edit)> = docs
        .iter()
        .flat_map(|doc| {
            doc.data.index_slots.iter().map(|k| (k.clone(), Edit::Insert(Card::of(&doc.data, doc.version))))
        })
        .collect();
    edit_cards(ctx, &cards);
    Ok(docs)
}

/// Card page edits whose failure costs reads, never a wrong match: logged, not returned.
fn edit_cards<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, edits: &[(String, Edit)]) {
    if let Err(e) = cards::edit(ctx.store, ctx.random, edits) {
        shared::log::warn(COMPONENT, ctx.correlation_id, "card-pages", &e.to_string());
    }
}

/// A member with its load; 404 if there is none.
pub fn read<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, id: &MemberId) -> Result<Stored, Problem> {
    let mut values = ctx.store.get_many(&[member_key(id), load_key(id)])?.into_iter();
    let member: Versioned<MemberRecord> = match values.next().flatten() {
        None => return Err(Problem::not_found()),
        Some(bytes) => decode(&bytes)?,
    };
    let load = match values.next().flatten() {
        Some(bytes) => decode::<Versioned<Load>>(&bytes)?.data,
        None => Load::default(),
    };
    Ok(Stored { member, load })
}

/// Replaces a member's profile if it is still at version `expected` (412 if not).
/// Index entries for new lanes and areas are written first, the stale ones removed
/// after (see [`crate::core::index`]).
pub fn update<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    id: &MemberId,
    expected: u64,
    profile: MemberProfile,
) -> Result<Versioned<MemberRecord>, Problem> {
    let current = read(ctx, id)?.member;
    check_updatable(&current.data, current.version, expected)?;
    let now = ctx.now();
    let draft = current.data.replaced_by(profile.clone(), now, &ctx.config.keyring, ctx.random);
    let needed = buckets_of(&draft);
    let missing: Vec<_> =
        needed.iter().filter(|b| !current.data.index_slots.iter().any(|k| slot_in(k, **b))).copied().collect();
    let added = reserve_entries(ctx.store, &missing.iter().map(|b| (b.log(), id.clone())).collect::<Vec<_>>())?;
    ctx.store.set_many(&added)?;
    let added_keys: Vec<String> = added.into_iter().map(|(k, _)| k).collect();
    // Before the member changes, its cards must bound the new profile as well as the
    // stored one, so no match misses it whichever it reads: widen them, or give up.
    let widened = Card::of(&current.data, current.version).widened(&Card::of(&draft, expected + 1));
    let widen: Vec<(String, Edit)> =
        current.data.index_slots.iter().chain(&added_keys).map(|k| (k.clone(), Edit::Widen(widened.clone()))).collect();
    if let Err(e) = cards::edit(ctx.store, ctx.random, &widen) {
        remove_entries(ctx, &added_keys);
        edit_cards(ctx, &gone(&added_keys));
        return Err(e.into());
    }
    let outcome = versioned::update(ctx.store, &member_key(id), ctx.random, |data: &mut MemberRecord, version| {
        check_updatable(data, version, expected)?;
        let mut next = data.replaced_by(profile.clone(), now, &ctx.config.keyring, ctx.random);
        let (kept, dropped): (Vec<String>, Vec<String>) =
            data.index_slots.iter().cloned().partition(|k| keeps(k, &needed));
        next.index_slots = kept.into_iter().chain(added_keys.iter().cloned()).collect();
        *data = next;
        Ok(Change::Write(dropped))
    });
    match outcome {
        Ok((doc, dropped)) => {
            remove_entries(ctx, &dropped);
            let settled = Card::of(&doc.data, doc.version);
            let mut edits: Vec<(String, Edit)> =
                doc.data.index_slots.iter().map(|k| (k.clone(), Edit::Settle(settled.clone()))).collect();
            edits.extend(gone(&dropped));
            edit_cards(ctx, &edits);
            Ok(doc)
        }
        Err(e) => {
            remove_entries(ctx, &added_keys);
            edit_cards(ctx, &gone(&added_keys));
            Err(Problem::from(e))
        }
    }
}

/// Deactivates a member (idempotent): kept for history, never matched or assigned
/// again. Its index entries go, except its place in the listing of all members.
pub fn deactivate<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, id: &MemberId) -> Result<Versioned<MemberRecord>, Problem> {
    let now = ctx.now();
    let outcome = versioned::update(ctx.store, &member_key(id), ctx.random, |data: &mut MemberRecord, _| {
        if data.deactivated_at.is_some() {
            return Ok::<_, Problem>(Change::Keep(Vec::new()));
        }
        let (kept, dropped): (Vec<String>, Vec<String>) = data.index_slots.iter().cloned().partition(|k| keeps(k, &[]));
        data.deactivated_at = Some(now);
        data.updated_at = now;
        data.index_slots = kept;
        Ok(Change::Write(dropped))
    });
    let (doc, dropped) = outcome.map_err(Problem::from)?;
    remove_entries(ctx, &dropped);
    edit_cards(ctx, &gone(&dropped));
    Ok(doc)
}

/// The card page edits for removed index entries.
fn gone(keys: &[String]) -> Vec<(String, Edit)> {
    keys.iter().map(|k| (k.clone(), Edit::Gone)).collect()
}

/// Left-over entries are harmless (readers check them), so failing to remove them
/// is a warning, not an error.
fn remove_entries<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, keys: &[String]) {
    if keys.is_empty() {
        return;
    }
    if let Err(e) = ctx.store.delete_many(keys) {
        shared::log::warn(COMPONENT, ctx.correlation_id, "index-cleanup", &e.to_string());
    }
}

/// One page of members in creation order, after slot `cursor`.
pub fn list<S: KeyValue, O>(
    ctx: &Ctx<'_, S, O>,
    filters: &Filters,
    cursor: u64,
    limit: usize,
) -> Result<Page, Problem> {
    let log = all_members();
    let last = log.last_slot(ctx.store)?;
    let now = ctx.now();
    let mut members = Vec::new();
    let mut from = cursor + 1;
    let stop = last.min(cursor.saturating_add(SCAN_PER_PAGE));
    while from <= stop {
        let to = stop.min(from + index::GET_MANY_CHUNK as u64 / 2 - 1);
        let entries = log.read(ctx.store, from, to)?;
        let ids: Vec<(u64, MemberId)> = entries
            .into_iter()
            .filter_map(|(slot, v)| {
                String::from_utf8(v).ok().and_then(|t| MemberId::parse(&t).ok()).map(|id| (slot, id))
            })
            .collect();
        for (slot, (member, load)) in
            ids.iter().map(|(s, _)| *s).zip(read_members(ctx.store, ids.iter().map(|(_, id)| id))?)
        {
            if filters.admit(&member, now) {
                members.push((member, load));
                if members.len() == limit {
                    return Ok(Page { members, next_cursor: (slot < last).then_some(slot) });
                }
            }
        }
        from = to + 1;
    }
    Ok(Page { members, next_cursor: (stop < last).then_some(stop) })
}

/// Members and their loads in one `get_many`; missing or undecodable members are skipped.
pub fn read_members<'i, S: KeyValue>(
    store: &S,
    ids: impl Iterator<Item = &'i MemberId>,
) -> Result<Vec<(MemberRecord, Load)>, StoreError> {
    Ok(read_stored(store, ids)?.into_iter().map(|(m, l)| (m.data, l)).collect())
}

/// [`read_members`] with each member's version.
pub fn read_stored<'i, S: KeyValue>(
    store: &S,
    ids: impl Iterator<Item = &'i MemberId>,
) -> Result<Vec<(Versioned<MemberRecord>, Load)>, StoreError> {
    let keys: Vec<String> = ids.flat_map(|id| [member_key(id), load_key(id)]).collect();
    let mut out = Vec::with_capacity(keys.len() / 2);
    for chunk in keys.chunks(index::GET_MANY_CHUNK) {
        let values = store.get_many(chunk)?;
        for pair in values.chunks(2) {
            let member = pair[0].as_deref().and_then(|b| serde_json::from_slice::<Versioned<MemberRecord>>(b).ok());
            let load = pair[1].as_deref().and_then(|b| serde_json::from_slice::<Versioned<Load>>(b).ok());
            if let Some(member) = member {
                out.push((member, load.map(|l| l.data).unwrap_or_default()));
            }
        }
    }
    Ok(out)
}

impl Filters {
    fn admit(&self, m: &MemberRecord, now: shared::time::Timestamp) -> bool {
        self.kind.is_none_or(|k| m.kind() == k)
            && self.expertise.is_none_or(|e| m.profile.expertise().contains(&e))
            && self.region.is_none_or(|r| match r {
                None => m.coverage == crate::core::member::Coverage::National,
                Some(r) => m.coverage.serves(r),
            })
            && self.availability.is_none_or(|a| m.availability(now) == a)
    }
}

fn already_exist(errors: Vec<FieldError>) -> Problem {
    let detail = format!("{} record(s) name a member that already exists; nothing was imported", errors.len());
    Problem { errors, ..Problem::new(ProblemKind::Conflict, detail) }
}

/// Whether an index entry stays: the listing entry always, a lane entry while needed.
fn keeps(key: &str, needed: &[index::Bucket]) -> bool {
    index::log_of_slot_key(key) == index::ALL_MEMBERS || needed.iter().any(|b| slot_in(key, *b))
}

fn check_updatable(data: &MemberRecord, version: u64, expected: u64) -> Result<(), Problem> {
    if version != expected {
        return Err(stale(version));
    }
    if data.deactivated_at.is_some() {
        return Err(Problem::new(
            ProblemKind::Conflict,
            "a deactivated member is kept for history and cannot be changed",
        ));
    }
    Ok(())
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes).map_err(|e| Problem::internal(anyhow::anyhow!("undecodable directory document: {e}")))
}
