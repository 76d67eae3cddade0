//! The audit trail of a case: every read by staff and every change, who, when and why,
//! in a [`SlotLog`] beside the case (`case/<id>/audit`), so the record stays small.
//! Free text (a reason) is sealed, bound to its slot.
//!
//! The trail is two hash chains in that one log. Every entry names the slot and the
//! SHA-256 of the entry before it in its chain (`prev`), and the chain's head names
//! the latest entry:
//! - the *record* chain holds the changes. Its head is in the case record's triage
//!   bookkeeping, and its entries are prepared entries of [`crate::core::commit`]: written
//!   in the `set_many` before the case's compare-and-swap, which makes them valid.
//!   A change and its entry stand or fall together; the entry of a lost swap is an
//!   orphan no head reaches, deleted best-effort and never shown.
//! - the *activity* chain holds what changes no record version (reads, a message to
//!   the reporter): its head is a versioned document of its own
//!   (`case/<id>/audit/activity`), moved by compare-and-swap after the entry is
//!   written, before the answer. A read whose entry cannot be chained is not answered.
//!
//! A staff member's repeated plain reads (`read`) of a case are recorded once per
//! [`REPEAT_COVER`]: a read finding, among the latest [`COVER_LOOKBACK`] entries of the
//! activity chain, a `read` by the same token and holder no older than that, is covered
//! by it and writes nothing (`docs/decisions.md`, "The audit").
//!
//! Only entries reachable from a head are shown; [`Triage::verify_audit`] walks both
//! chains to their start and names the first slot that is missing or altered.
//! Entries from before the chains (no `chain` field) are shown below the first
//! chained entry, unverified.

use crate::context::{case_cipher, Ctx};
use crate::core::work::{work_of, Actor};
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::case::{case_key, CaseRecord};
use shared::case_keys::CaseCipher;
use shared::crypto::{sha256_hex, Sealed};
use shared::id::CaseId;
use shared::kv::slots::SlotLog;
use shared::kv::versioned::{self, Change, UpdateError, Versioned};
use shared::kv::{claim, to_json, KeyValue, StoreError};
use shared::outbound::Outbound;
use shared::problem::Problem;
use shared::time::{Duration, Timestamp};
use std::collections::BTreeMap;

/// How many of the latest entries the audit endpoint shows.
pub const AUDIT_SHOWN: u64 = 100;

/// How long a staff member's recorded read of a case (or list read, `org_audit`)
/// covers their next ones: within it a repeated read writes no new entry.
pub const REPEAT_COVER: Duration = Duration::minutes(5);

/// How many of the latest entries are searched for one that covers a repeated read.
pub const COVER_LOOKBACK: usize = 8;

/// The action of a plain case read, the one whose repeats are covered.
pub const READ: &str = "read";

/// The audit trail of a case.
pub fn audit_log(id: &CaseId) -> SlotLog {
    SlotLog::new(format!("case/{id}/audit"))
}

/// The head of the case's activity chain.
pub fn activity_head_key(id: &CaseId) -> String {
    format!("case/{id}/audit/activity")
}

/// Claimed once by a read that finds no activity head and creates it (see [`claim`]);
/// a case's triage creates the head without it, as the holder of audit slot 1.
pub fn activity_claim_key(id: &CaseId) -> String {
    format!("case/{id}/audit/activity-claim")
}

fn note_field(slot: u64) -> String {
    format!("audit/{slot}")
}

/// Which chain an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chain {
    /// Changes of the case record; the head is in the record.
    Record,
    /// Reads and other acts that change no record version.
    Activity,
}

/// A link of a chain: an entry's slot and the SHA-256 (hex) of its stored bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub slot: u64,
    pub hash: String,
}

/// The activity chain's head document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityHead {
    #[serde(default)]
    pub head: Option<Link>,
}

/// One audit entry as stored. Its hash is the SHA-256 of exactly these bytes (serde's
/// JSON, fields in this order; a note as its ciphertext), so the chain proves the
/// stored entry without opening the note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: Actor,
    /// What happened: `read`, `acknowledged`, `status:assigned`, `priority:P1`, ...
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Sealed>,
    /// The person who did it (a staff token's holder); `None` for the system, the
    /// reporter, and entries from before holders were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// `None` only for entries written before the chains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Chain>,
    /// The entry before this one in its chain; `None` for a chain's first entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<Link>,
}

/// Who an audit entry names: the actor and, for staff, the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct By {
    pub actor: Actor,
    pub holder: Option<String>,
}

impl By {
    /// A staff member (or the bootstrap admin), by token and holder.
    pub fn staff(who: &Principal) -> By {
        By { actor: Actor::of(who), holder: Some(who.holder.clone()) }
    }

    /// Triage itself: intake's handover, the sweep.
    pub fn system() -> By {
        By { actor: Actor::System, holder: None }
    }

    /// The reporter (a follow-up message).
    pub fn reporter() -> By {
        By { actor: Actor::Reporter, holder: None }
    }
}

/// An entry as stored, with its link.
pub struct Written {
    pub key: String,
    pub bytes: Vec<u8>,
    pub link: Link,
}

/// An audit entry as a confidant sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditView {
    /// Its place in the case's audit log; entries are shown in slot order.
    pub slot: u64,
    pub at: Timestamp,
    pub actor: Actor,
    /// The person behind a staff actor.
    pub holder: Option<String>,
    pub action: String,
    pub note: Option<String>,
    /// `record`, `activity`, or `null` for an entry from before the chains.
    pub chain: Option<Chain>,
}

/// What the audit endpoint answers.
#[derive(Debug, Clone, Serialize)]
pub struct AuditTrail {
    pub case_id: CaseId,
    pub entries: Vec<AuditView>,
}

/// Where a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    pub chain: Chain,
    pub slot: u64,
    /// `missing` (a head or `prev` names a slot with no entry), `altered` (the entry's
    /// hash is not the one its successor names), `undecodable`.
    pub problem: &'static str,
}

/// What verification found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub case_id: CaseId,
    pub valid: bool,
    /// Entries verified (both chains), up to a break.
    pub entries: u64,
    /// Entries from before the chains, which cannot be verified.
    pub unchained: u64,
    pub broken: Option<Break>,
}

fn decode(bytes: &[u8]) -> Result<AuditEntry, Problem> {
    serde_json::from_slice(bytes).map_err(|e| Problem::internal(anyhow::anyhow!("undecodable audit entry: {e}")))
}

/// The entries one chain reaches from `head`, newest first, as far as `loaded` holds
/// them; stops at the first break, which it returns.
fn walk(
    chain: Chain,
    head: Option<&Link>,
    loaded: &BTreeMap<u64, Vec<u8>>,
    from: u64,
) -> (Vec<(u64, AuditEntry)>, Option<Break>) {
    let mut reached = Vec::new();
    let mut at = head.cloned();
    while let Some(link) = at {
        if link.slot < from {
            break;
        }
        let broken = |problem| Some(Break { chain, slot: link.slot, problem });
        let Some(bytes) = loaded.get(&link.slot) else { return (reached, broken("missing")) };
        if sha256_hex(bytes) != link.hash {
            return (reached, broken("altered"));
        }
        let Ok(entry) = serde_json::from_slice::<AuditEntry>(bytes) else { return (reached, broken("undecodable")) };
        at = entry.prev.clone();
        reached.push((link.slot, entry));
    }
    (reached, None)
}

/// Builds the entry for `slot` of `case`'s log, following `prev` in `chain`.
pub fn audit_entry<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    case: &CaseId,
    slot: u64,
    (chain, prev): (Chain, Option<Link>),
    by: &By,
    action: &str,
    note: Option<Sealed>,
) -> Written {
    let entry = AuditEntry {
        at: ctx.clock.now(),
        actor: by.actor.clone(),
        action: action.to_string(),
        note,
        holder: by.holder.clone(),
        chain: Some(chain),
        prev,
    };
    let bytes = to_json(&entry);
    let link = Link { slot, hash: sha256_hex(&bytes) };
    Written { key: audit_log(case).key(slot), bytes, link }
}

/// Records that `by` read (or did without changing the record) `action` on `case`,
/// on the activity chain, writing `with` in the same `set_many` as the entry. Done
/// when this returns: answer only after it. `closed`: the case was closed when the
/// caller read it, so the retention sweep may be purging it (an open case cannot be
/// purged within one request): then the case is read once more afterwards.
pub fn audit_activity<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    case: &CaseId,
    by: &By,
    action: &str,
    with: &[(String, Vec<u8>)],
    closed: bool,
) -> Result<(), Problem> {
    chain_activity(ctx, case, by, action, with, closed, None)
}

/// [`audit_activity`], and with `cover` (the oldest time an entry may have to cover
/// this one): done without an entry of its own when the chain holds, by the time our
/// swap would land, a covering one (a concurrent repeat of the same read lands once).
fn chain_activity<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    case: &CaseId,
    by: &By,
    action: &str,
    with: &[(String, Vec<u8>)],
    closed: bool,
    cover: Option<Timestamp>,
) -> Result<(), Problem> {
    let key = activity_head_key(case);
    let slot = audit_log(case).reserve(ctx.store)?;
    let mut written = Vec::new();
    for attempt in 0..3 {
        // The entry is rewritten (same slot, only ours) when another read moved the
        // head first; `update` re-runs this only when our swap did not land.
        let moved = versioned::update(ctx.store, &key, ctx.random, |doc: &mut ActivityHead, _| {
            if let Some(since) = cover {
                if covered(ctx.store, case, doc.head.as_ref(), by, action, since)? {
                    return Ok(Change::Keep(false));
                }
            }
            let entry = audit_entry(ctx, case, slot, (Chain::Activity, doc.head.clone()), by, action, None);
            let mut entries = vec![(entry.key.clone(), entry.bytes)];
            entries.extend(with.iter().cloned());
            ctx.store.set_many(&entries)?;
            written = entries.into_iter().map(|(k, _)| k).collect();
            doc.head = Some(entry.link);
            Ok::<_, StoreError>(Change::Write(true))
        });
        let failed = match moved {
            Ok((_, false)) => {
                // Covered after all: an entry of an earlier attempt is an orphan.
                if !written.is_empty() {
                    let _ = ctx.store.delete_many(&written);
                }
                return Ok(());
            }
            Ok(_) if closed => return unless_purged(ctx, case, &written),
            Ok(_) => return Ok(()),
            Err(UpdateError::NotFound) => {
                // The case's first activity: whoever claims it creates the head.
                // A claim whose write failed leaves no head: the second try writes it.
                if claim(ctx.store, &activity_claim_key(case))? || attempt > 0 {
                    ctx.store.set(&key, &Versioned::first(ActivityHead::default(), ctx.random).encode())?;
                }
                continue;
            }
            Err(UpdateError::Rejected(e) | UpdateError::Store(e)) => e.into(),
            Err(other) => Problem::internal(anyhow::anyhow!("audit activity head: {other}")),
        };
        // Nothing of it counts (no head names it): remove what was written.
        let _ = ctx.store.delete_many(&written);
        return Err(failed);
    }
    Err(Problem::internal(anyhow::anyhow!("audit activity head missing after its claim")))
}

/// After an activity entry (and what came with it) was written: if the retention
/// sweep has begun purging the case since the caller read it, what was written could
/// outlive the case (the purge may have read the lists already). Takes it out again,
/// once the purge is done also the list counter and chain head it recreated, and
/// answers 404 as for a purged case.
fn unless_purged<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, case: &CaseId, written: &[String]) -> Result<(), Problem> {
    let record: Option<Versioned<CaseRecord>> = versioned::read(ctx.store, &case_key(case))?;
    if record.as_ref().is_some_and(|doc| work_of(&doc.data).purging.is_none()) {
        return Ok(());
    }
    let mut leftovers = written.to_vec();
    if record.is_none() {
        leftovers.extend(audit_log(case).all_keys(0));
        leftovers.extend([activity_head_key(case), activity_claim_key(case)]);
        leftovers.extend(shared::case::messages_log(case).all_keys(0));
    }
    ctx.store.delete_many(&leftovers)?;
    Err(Problem::not_found())
}

/// Records a staff read of a case (`action`: `read`, `audit_read`, ...). `read`: the
/// case as the caller read it (see [`audit_activity`]).
pub fn audit_read<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    read: &CaseRecord,
    who: &Principal,
    action: &str,
) -> Result<(), Problem> {
    // A case being purged is gone for its readers already.
    if work_of(read).purging.is_some() {
        return Err(Problem::not_found());
    }
    let closed = read.status == shared::domain::CaseStatus::Closed;
    let by = By::staff(who);
    if action != READ {
        return audit_activity(ctx, &read.id, &by, action, &[], closed);
    }
    // A repeated read: covered by the reader's own recent entry, nothing is written.
    let since = ctx.clock.now() - REPEAT_COVER;
    if covered(ctx.store, &read.id, activity_head(ctx, &read.id)?.as_ref(), &by, action, since)? {
        return Ok(());
    }
    chain_activity(ctx, &read.id, &by, action, &[], closed, Some(since))
}

/// Whether the activity chain from `head` holds, among its latest [`COVER_LOOKBACK`]
/// entries, an entry of `action` by `by` written at or after `since`. Walked newest
/// first, one `get` per entry, each checked against its link's hash (an orphan or an
/// altered entry covers nothing); stops at the first entry older than `since`.
fn covered<S: KeyValue>(
    store: &S,
    case: &CaseId,
    head: Option<&Link>,
    by: &By,
    action: &str,
    since: Timestamp,
) -> Result<bool, StoreError> {
    let log = audit_log(case);
    let mut at = head.cloned();
    for _ in 0..COVER_LOOKBACK {
        let Some(link) = at else { return Ok(false) };
        let Some(bytes) = store.get(&log.key(link.slot))? else { return Ok(false) };
        if sha256_hex(&bytes) != link.hash {
            return Ok(false);
        }
        let Ok(entry) = serde_json::from_slice::<AuditEntry>(&bytes) else { return Ok(false) };
        if entry.at < since {
            return Ok(false);
        }
        if entry.action == action && entry.actor == by.actor && entry.holder == by.holder {
            return Ok(true);
        }
        at = entry.prev;
    }
    Ok(false)
}

fn activity_head<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, case: &CaseId) -> Result<Option<Link>, Problem> {
    let doc: Option<Versioned<ActivityHead>> = versioned::read(ctx.store, &activity_head_key(case))?;
    Ok(doc.and_then(|d| d.data.head))
}

fn record_head<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, case: &CaseId) -> Result<Option<Link>, Problem> {
    let doc: Option<Versioned<CaseRecord>> = versioned::read(ctx.store, &case_key(case))?;
    Ok(doc.and_then(|d| work_of(&d.data).audit_head))
}

/// Seals the note of the entry in `slot` of `case`'s log with the case's data key.
pub fn seal_note<S: KeyValue, O: Outbound>(
    ctx: &Ctx<'_, S, O>,
    case: &CaseId,
    slot: u64,
    note: &str,
) -> Result<Sealed, Problem> {
    Ok(case_cipher(ctx, case)?.seal(note.as_bytes(), case.as_str(), &note_field(slot), ctx.random))
}

fn open_note(cipher: &CaseCipher, case: &CaseId, slot: u64, note: &Option<Sealed>) -> Result<Option<String>, Problem> {
    note.as_ref()
        .map(|sealed| {
            cipher
                .open(sealed, case.as_str(), &note_field(slot))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .map_err(|e| Problem::internal(anyhow::anyhow!("audit note: {e:?}")))
        })
        .transpose()
}

/// The latest entries of the audit trail (those the chains reach), oldest first.
pub fn audit_trail<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, case: &CaseId) -> Result<AuditTrail, Problem> {
    let log = audit_log(case);
    let last = log.last_slot(ctx.store)?;
    let first = last.saturating_sub(AUDIT_SHOWN - 1).max(1);
    // extend, not collect: collect sorts with its own copy of the stable sort (shared::order).
    let mut loaded: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    loaded.extend(log.read(ctx.store, first, last)?);
    let heads = [(Chain::Record, record_head(ctx, case)?), (Chain::Activity, activity_head(ctx, case)?)];
    let mut shown: BTreeMap<u64, AuditEntry> = BTreeMap::new();
    let mut starts = Vec::new();
    for (chain, head) in &heads {
        let (reached, _) = walk(*chain, head.as_ref(), &loaded, first);
        starts.extend(reached.iter().filter(|(_, e)| e.prev.is_none()).map(|(slot, _)| *slot));
        shown.extend(reached);
    }
    // Entries from before the chains lie below where the chains start.
    let unchained_below = match starts.iter().min() {
        Some(start) => *start,
        None if heads.iter().all(|(_, h)| h.is_none()) => u64::MAX,
        None => 0,
    };
    for (slot, bytes) in loaded.range(..unchained_below) {
        let entry = decode(bytes)?;
        if entry.chain.is_none() {
            shown.insert(*slot, entry);
        }
    }
    let mut entries = Vec::new();
    // The data key is read only when a shown entry has a note to open.
    let cipher = match shown.values().any(|e| e.note.is_some()) {
        true => Some(case_cipher(ctx, case)?),
        false => None,
    };
    for (slot, entry) in shown {
        let note = match &cipher {
            Some(cipher) => open_note(cipher, case, slot, &entry.note)?,
            None => None,
        };
        let AuditEntry { at, actor, action, holder, chain, .. } = entry;
        entries.push(AuditView { slot, at, actor, holder, action, note, chain });
    }
    Ok(AuditTrail { case_id: case.clone(), entries })
}

/// Walks both chains of `case`'s audit from their heads to their first entries.
pub fn verify_audit<S: KeyValue, O: Outbound>(ctx: &Ctx<'_, S, O>, case: &CaseId) -> Result<Verification, Problem> {
    let log = audit_log(case);
    let last = log.last_slot(ctx.store)?;
    let mut loaded: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    loaded.extend(log.read(ctx.store, 1, last)?);
    let mut entries = 0;
    let mut broken = None;
    let mut start = u64::MAX;
    for (chain, head) in [(Chain::Record, record_head(ctx, case)?), (Chain::Activity, activity_head(ctx, case)?)] {
        let (reached, found) = walk(chain, head.as_ref(), &loaded, 1);
        entries += reached.len() as u64;
        start = start.min(reached.last().map_or(u64::MAX, |(slot, _)| *slot));
        broken = broken.or(found);
    }
    let mut unchained = 0;
    for (slot, bytes) in &loaded {
        let chained = serde_json::from_slice::<AuditEntry>(bytes).ok().and_then(|e| e.chain);
        if chained.is_some() {
            continue;
        }
        if *slot < start {
            unchained += 1;
        } else if broken.is_none() {
            // Written beside the chains, where only chained entries are.
            broken = Some(Break { chain: Chain::Record, slot: *slot, problem: "unchained" });
        }
    }
    Ok(Verification { case_id: case.clone(), valid: broken.is_none(), entries, unchained, broken })
}
