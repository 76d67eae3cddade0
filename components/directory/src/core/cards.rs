//! Match cards: what matching needs of a member, kept in a few pages per index list, so
//! a match reads one or two documents per list instead of one key per member.
//!
//! Every index list (`dir/idx/<lane>/<area>`) has card pages
//! `dir/cards/<lane>/<area>/<page>`: page `p` speaks for the list's slots
//! `p * PAGE_SLOTS + 1 ..= (p + 1) * PAGE_SLOTS`. For each of its slots a page says one of
//! three things:
//!
//! - a **card**: the member listed there, with an *upper bound* of what matching could
//!   make of them (roles, languages, leave; never the municipality, the name or the
//!   contact details, which stay in the member document);
//! - **gone**: the slot's entry was removed (an update moved the member away, or they
//!   were deactivated), so there is nothing to read;
//! - nothing: the page does not know (a write that did not reach the page, a store
//!   written before pages existed, or a page lost to a race): the reader reads that
//!   slot's entry and member the old way, and folds what it found into the page.
//!
//! Pages are hints, never the truth: a match re-reads the member document and load of
//! every candidate it returns and applies every rule to them (see
//! [`crate::core::matching`]). What must hold is only that a card never *under*-states
//! a member: an update first widens the card to cover both the old and the new profile
//! ([`Edit::Widen`]), then writes the member, then settles the card to the new profile
//! ([`Edit::Settle`]); if it stops in between, the widened card still bounds whichever
//! version is stored. So losing a page, or any of its entries, costs reads, never a
//! wrong or missing match.
//!
//! Pages are changed with `versioned::update` (Redis's ambiguous `cas-failed` settled by
//! re-reading), one compare-and-swap per page per request, so an import of hundreds of
//! members changes each touched page once. A page is created by the writer that claims
//! it (`increment == 1`); since a page is only a hint, a writer that finds a claim but no
//! page after a few tries writes one itself rather than wait for a claimer that died.

use crate::core::index::Bucket;
use crate::core::member::{LeaveUntil, Profile};
use crate::core::record::MemberRecord;
use serde::{Deserialize, Serialize};
use shared::domain::{Language, Role};
use shared::id::MemberId;
use shared::kv::versioned::{self, Change, UpdateError, Versioned};
use shared::kv::{KeyValue, StoreError};
use shared::random::Random;
use std::collections::{BTreeMap, BTreeSet};

/// Slots one card page speaks for. A card is about 70 bytes, so a full page stays near
/// 20 KB, and a list of up to 256 members (a region's peers at 10,000 members is about
/// 160) is one read.
pub const PAGE_SLOTS: u64 = 256;

/// How often a writer finds a page claimed but not yet written before it writes one.
const CREATE_TRIES: i64 = 4;

/// What matching may assume about one member: every field an upper bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    /// The member.
    #[serde(rename = "m")]
    pub member: MemberId,
    /// The member version this card was made from (the highest, once widened).
    #[serde(rename = "v")]
    pub version: u64,
    /// The roles the member may have (a peer's one role; two while an update is under
    /// way; none for experts).
    #[serde(rename = "r", default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    /// The languages the member may speak.
    #[serde(rename = "l", default)]
    pub languages: Vec<Language>,
    /// On leave until at least this day (the earliest, once widened); none: maybe not on leave.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub leave_until: Option<LeaveUntil>,
}

impl Card {
    /// The card of `record` as stored at `version`.
    pub fn of(record: &MemberRecord, version: u64) -> Card {
        let roles = match &record.profile {
            Profile::Peer { role, .. } => vec![*role],
            Profile::Expert { .. } => Vec::new(),
        };
        Card {
            member: record.id.clone(),
            version,
            roles,
            languages: record.languages.clone(),
            leave_until: record.on_leave_until,
        }
    }

    /// A card that bounds both `self` and `other` (same member).
    pub fn widened(&self, other: &Card) -> Card {
        let mut roles = self.roles.clone();
        roles.extend(other.roles.iter().filter(|r| !self.roles.contains(r)));
        let mut languages = self.languages.clone();
        languages.extend(other.languages.iter().filter(|l| !self.languages.contains(l)));
        let leave_until = match (self.leave_until, other.leave_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            _ => None,
        };
        Card { member: self.member.clone(), version: self.version.max(other.version), roles, languages, leave_until }
    }
}

/// The cards of one page of an index list.
///
/// Stored compactly, one line per card (`<slot> <member> <version> <roles> <languages>
/// <leave>`, `-` for none, separated by `|`), so a match scans a page of hundreds of cards without decoding
/// a JSON object per card ([`CardLines`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CardPage {
    /// Slot → card.
    #[serde(rename = "c", default, with = "as_lines")]
    pub cards: BTreeMap<u64, Card>,
    /// Slots whose entries were removed.
    #[serde(rename = "g", default, skip_serializing_if = "BTreeSet::is_empty")]
    pub gone: BTreeSet<u64>,
}

/// A page as a match reads it: the card lines undecoded.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CardLines {
    /// The card lines, as stored.
    #[serde(rename = "c", default)]
    pub lines: String,
    /// Slots whose entries were removed.
    #[serde(rename = "g", default)]
    pub gone: BTreeSet<u64>,
}

/// Ends each card line of a page: a character JSON need not escape, so a page reads
/// as one plain string.
const LINE_END: &str = "|";

/// The card lines of a page's text, split but not decoded.
pub fn card_lines(text: &str) -> impl Iterator<Item = CardLine<'_>> {
    text.split(LINE_END).filter_map(CardLine::split)
}

/// The slots of a page's text, nothing else decoded.
pub fn card_slots(text: &str) -> impl Iterator<Item = u64> + '_ {
    text.split(LINE_END).filter_map(|l| l.split(' ').next()?.parse().ok())
}

/// One card line, split but not decoded.
#[derive(Debug, Clone, Copy)]
pub struct CardLine<'a> {
    pub slot: u64,
    pub member: &'a str,
    roles: &'a str,
    languages: &'a str,
    leave: &'a str,
}

impl<'a> CardLine<'a> {
    /// Splits a stored line; `None` for a line that is not one.
    pub fn split(line: &'a str) -> Option<CardLine<'a>> {
        let mut parts = line.split(' ');
        let slot = parts.next()?.parse().ok()?;
        let member = parts.next()?;
        let _version = parts.next()?;
        let (roles, languages, leave) = (parts.next()?, parts.next()?, parts.next()?);
        Some(CardLine { slot, member, roles, languages, leave })
    }

    /// Whether the member may have `role`.
    pub fn may_have(&self, role: Role) -> bool {
        self.roles.split(',').any(|r| r == role.as_str())
    }

    /// Whether the member may speak `language`.
    pub fn may_speak(&self, language: Language) -> bool {
        self.languages.split(',').any(|l| l == language.as_str())
    }

    /// Whether the member is surely on leave on `today` (`YYYY-MM-DD`).
    pub fn surely_on_leave(&self, today: &str) -> bool {
        self.leave != "-" && today < self.leave
    }

    /// The whole card.
    pub fn decode(&self, version: u64) -> Option<Card> {
        fn list(text: &str) -> Vec<&str> {
            if text == "-" {
                Vec::new()
            } else {
                text.split(',').collect()
            }
        }
        Some(Card {
            member: MemberId::parse(self.member).ok()?,
            version,
            roles: list(self.roles).into_iter().map(Role::parse).collect::<Result<_, _>>().ok()?,
            languages: list(self.languages).into_iter().map(Language::parse).collect::<Result<_, _>>().ok()?,
            leave_until: if self.leave == "-" { None } else { Some(LeaveUntil::parse(self.leave).ok()?) },
        })
    }
}

impl Card {
    /// The card's stored line for `slot`.
    pub fn line(&self, slot: u64) -> String {
        let list = |items: Vec<&str>| if items.is_empty() { "-".to_string() } else { items.join(",") };
        format!(
            "{slot} {} {} {} {} {}",
            self.member,
            self.version,
            list(self.roles.iter().map(|r| r.as_str()).collect()),
            list(self.languages.iter().map(|l| l.as_str()).collect()),
            self.leave_until.map_or_else(|| "-".to_string(), String::from)
        )
    }
}

mod as_lines {
    use super::{Card, CardLine, LINE_END};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(cards: &BTreeMap<u64, Card>, s: S) -> Result<S::Ok, S::Error> {
        let lines: Vec<String> = cards.iter().map(|(slot, card)| card.line(*slot)).collect();
        s.serialize_str(&lines.join(LINE_END))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<u64, Card>, D::Error> {
        let text = String::deserialize(d)?;
        let mut cards = BTreeMap::new();
        for line in text.split(LINE_END).filter(|l| !l.is_empty()) {
            let split = CardLine::split(line).ok_or_else(|| serde::de::Error::custom("not a card line"))?;
            let version = line.split(' ').nth(2).and_then(|v| v.parse().ok()).unwrap_or(0);
            let card = split.decode(version).ok_or_else(|| serde::de::Error::custom("not a card"))?;
            cards.insert(split.slot, card);
        }
        Ok(cards)
    }
}

/// How a writer changes what a page says about one slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// A new entry's card, or one a reader found unfolded: added unless the page
    /// already says something about the slot (whoever said it knew as much or more).
    Insert(Card),
    /// Before an update writes the member: the card, widened by this one (which bounds
    /// both the stored and the coming profile).
    Widen(Card),
    /// After an update wrote the member: the card of what is stored now, unless a later
    /// update has already widened the card for a newer version.
    Settle(Card),
    /// The slot's entry was removed.
    Gone,
    /// A reader found the slot's entry naming a member who no longer lists it: gone,
    /// unless the page holds a card by now (an update's widening, which knows better).
    Stale,
}

impl CardPage {
    /// Applies `edit` to `slot`; whether anything changed.
    fn apply(&mut self, slot: u64, edit: &Edit) -> bool {
        match edit {
            Edit::Insert(card) => {
                if self.gone.contains(&slot) || self.cards.contains_key(&slot) {
                    return false;
                }
                self.cards.insert(slot, card.clone());
            }
            Edit::Widen(card) => {
                self.gone.remove(&slot);
                let next = match self.cards.get(&slot) {
                    Some(old) if old.member == card.member => old.widened(card),
                    _ => card.clone(),
                };
                if self.cards.get(&slot) == Some(&next) {
                    return false;
                }
                self.cards.insert(slot, next);
            }
            Edit::Settle(card) => {
                self.gone.remove(&slot);
                match self.cards.get(&slot) {
                    Some(old) if old.member == card.member && old.version > card.version => return false,
                    Some(old) if old == card => return false,
                    _ => {
                        self.cards.insert(slot, card.clone());
                    }
                }
            }
            Edit::Stale => {
                if self.cards.contains_key(&slot) || !self.gone.insert(slot) {
                    return false;
                }
            }
            Edit::Gone => {
                let removed = self.cards.remove(&slot).is_some();
                if !self.gone.insert(slot) && !removed {
                    return false;
                }
            }
        }
        true
    }
}

/// The page key and slot number of an index slot key (`dir/idx/peer/VR01/s/000000000300`
/// → `dir/cards/peer/VR01/1`, 300); `None` for the list of all members, which has no cards.
pub fn page_of_slot_key(key: &str) -> Option<(String, u64)> {
    let (list, slot) = key.rsplit_once("/s/")?;
    let rest = list.strip_prefix("dir/idx/")?;
    if list == crate::core::index::ALL_MEMBERS {
        return None;
    }
    let slot: u64 = slot.parse().ok().filter(|s| *s >= 1)?;
    Some((format!("dir/cards/{rest}/{}", (slot - 1) / PAGE_SLOTS), slot))
}

/// The keys of the pages of `bucket` that speak for slots `1..=last`, first page first.
pub fn page_keys(bucket: Bucket, last: u64) -> Vec<String> {
    let pages = last.div_ceil(PAGE_SLOTS);
    (0..pages).map(|p| format!("dir/cards/{}/{p}", bucket.list_name())).collect()
}

/// Applies `edits` (index slot key, edit) to their pages: one compare-and-swap per page.
/// Every page is tried; the first failure is returned (the pages are hints: a caller that
/// cannot do better logs it and goes on).
pub fn edit<S: KeyValue>(store: &S, random: &dyn Random, edits: &[(String, Edit)]) -> Result<(), StoreError> {
    let mut per_page: BTreeMap<String, Vec<(u64, &Edit)>> = BTreeMap::new();
    for (key, e) in edits {
        if let Some((page, slot)) = page_of_slot_key(key) {
            per_page.entry(page).or_default().push((slot, e));
        }
    }
    let mut first_error = None;
    for (page, edits) in &per_page {
        if let Err(e) = edit_page(store, random, page, edits) {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn edit_page<S: KeyValue>(store: &S, random: &dyn Random, key: &str, edits: &[(u64, &Edit)]) -> Result<(), StoreError> {
    let apply = |page: &mut CardPage| edits.iter().fold(false, |changed, (slot, e)| page.apply(*slot, e) | changed);
    loop {
        let outcome = versioned::update(store, key, random, |page: &mut CardPage, _| {
            Ok::<_, ()>(if apply(page) { Change::Write(()) } else { Change::Keep(()) })
        });
        match outcome {
            Ok(_) => return Ok(()),
            Err(UpdateError::NotFound) => {
                let claimed = store.increment(&format!("{key}/claim"), 1)?;
                if claimed == 1 || claimed >= CREATE_TRIES {
                    let mut page = CardPage::default();
                    apply(&mut page);
                    return store.set(key, &Versioned::first(page, random).encode());
                }
                // Claimed by another writer, maybe still writing it: look again.
            }
            Err(UpdateError::Store(e)) => return Err(e),
            Err(UpdateError::Contended) => return Err(StoreError("a card page stayed contended".into())),
            Err(UpdateError::Rejected(())) => unreachable!("page edits are never refused"),
        }
    }
}

/// Reads a page as a match does; an undecodable page says nothing (its slots are read
/// the old way, and folded in again).
pub fn decode_lines(bytes: Option<&[u8]>) -> CardLines {
    bytes.and_then(|b| serde_json::from_slice::<Versioned<CardLines>>(b).ok()).map(|v| v.data).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::random::SeededRandom;

    fn card(id: &MemberId, version: u64, role: Role, languages: &[Language], leave: Option<&str>) -> Card {
        Card {
            member: id.clone(),
            version,
            roles: vec![role],
            languages: languages.to_vec(),
            leave_until: leave.map(|d| LeaveUntil::parse(d).unwrap()),
        }
    }

    #[test]
    fn a_widened_card_bounds_both_cards() {
        let id = MemberId::generate(&SeededRandom::new(1));
        let a = card(&id, 3, Role::Mayor, &[Language::Dutch], Some("2027-01-01"));
        let b = card(&id, 4, Role::Alderman, &[Language::English], None);
        let w = a.widened(&b);
        assert_eq!(w.version, 4);
        assert_eq!(w.roles, vec![Role::Mayor, Role::Alderman]);
        assert_eq!(w.languages, vec![Language::Dutch, Language::English]);
        assert_eq!(w.leave_until, None, "not on leave in one of them: maybe not on leave");
        let c = card(&id, 4, Role::Mayor, &[Language::Dutch], Some("2026-12-24"));
        assert_eq!(a.widened(&c).leave_until, Some(LeaveUntil::parse("2026-12-24").unwrap()));
    }

    #[test]
    fn a_settle_never_undoes_a_later_widening_and_gone_slots_take_no_inserts() {
        let id = MemberId::generate(&SeededRandom::new(1));
        let mut page = CardPage::default();
        let v2 = card(&id, 2, Role::Mayor, &[Language::Dutch], None);
        let v3 = card(&id, 3, Role::Mayor, &[Language::English], None);
        assert!(page.apply(7, &Edit::Insert(v2.clone())));
        assert!(page.apply(7, &Edit::Widen(v3.clone())));
        // A slow update settling version 2 must not drop the widening for version 3.
        assert!(!page.apply(7, &Edit::Settle(v2.clone())));
        assert_eq!(page.cards[&7].languages, vec![Language::Dutch, Language::English]);
        assert!(page.apply(7, &Edit::Settle(v3.clone())));
        assert_eq!(page.cards[&7], v3);
        assert!(page.apply(7, &Edit::Gone));
        assert!(!page.apply(7, &Edit::Insert(v3)), "a reader's stale find does not bring it back");
        assert!(page.cards.is_empty() && page.gone.contains(&7));
    }

    #[test]
    fn a_page_claimed_by_a_writer_that_died_is_still_written() {
        use shared::kv::memory::MemoryStore;
        let s = MemoryStore::new();
        let r = SeededRandom::new(5);
        let id = MemberId::generate(&r);
        let slot_key = "dir/idx/legal/VR03/s/000000000002".to_string();
        // Another writer claimed the page and never wrote it.
        s.increment("dir/cards/legal/VR03/0/claim", 1).unwrap();
        let c = card(&id, 1, Role::Mayor, &[Language::Dutch], None);
        edit(&s, &r, &[(slot_key.clone(), Edit::Insert(c.clone()))]).unwrap();
        let page: Versioned<CardPage> = versioned::read(&s, "dir/cards/legal/VR03/0").unwrap().unwrap();
        assert_eq!(page.data.cards[&2], c);
        // Later edits change the page by compare-and-swap.
        edit(&s, &r, &[(slot_key, Edit::Gone)]).unwrap();
        let page: Versioned<CardPage> = versioned::read(&s, "dir/cards/legal/VR03/0").unwrap().unwrap();
        assert!(page.data.cards.is_empty() && page.data.gone.contains(&2) && page.version == 2);
    }

    #[test]
    fn slot_keys_map_to_pages_of_their_list() {
        assert_eq!(page_of_slot_key("dir/idx/peer/VR01/s/000000000001"), Some(("dir/cards/peer/VR01/0".into(), 1)));
        assert_eq!(
            page_of_slot_key("dir/idx/legal/national/s/000000000257"),
            Some(("dir/cards/legal/national/1".into(), 257))
        );
        assert_eq!(page_of_slot_key("dir/idx/all/s/000000000001"), None);
    }

    #[test]
    fn a_page_round_trips_through_its_lines_and_reads_as_lines() {
        let r = SeededRandom::new(1);
        let (a, b) = (MemberId::generate(&r), MemberId::generate(&r));
        let mut page = CardPage::default();
        page.cards.insert(3, card(&a, 2, Role::Alderman, &[Language::Dutch, Language::English], Some("2027-02-01")));
        page.cards.insert(9, Card { roles: Vec::new(), ..card(&b, 1, Role::Mayor, &[Language::Dutch], None) });
        page.gone.insert(4);
        let bytes = Versioned::first(page.clone(), &r).encode();
        let back: Versioned<CardPage> = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back.data, page);
        let read = decode_lines(Some(&bytes));
        let lines: Vec<CardLine> = card_lines(&read.lines).collect();
        assert_eq!((lines[0].slot, lines[0].member), (3, a.as_str()));
        assert!(lines[0].may_have(Role::Alderman) && !lines[0].may_have(Role::Mayor));
        assert!(lines[0].may_speak(Language::English));
        assert!(lines[0].surely_on_leave("2027-01-31") && !lines[0].surely_on_leave("2027-02-01"));
        assert!(!lines[1].may_have(Role::Mayor) && !lines[1].surely_on_leave("2026-01-01"));
        assert!(read.gone.contains(&4));
        assert_eq!(decode_lines(Some(b"not json")).lines, "");
    }
}
