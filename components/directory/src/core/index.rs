//! Index lists that let matching read only the members who could help, never all.
//!
//! Every member is listed in one [`SlotLog`] per (lane, area) it serves: lane is `peer`
//! or an expertise, area a safety region or `national`
//! (`dir/idx/security/VR05`, `dir/idx/peer/national`), plus once in `dir/idx/all` for
//! admin listings. Slots are reserved with atomic increments and their entries written
//! in the same `set_many` as the member, so no writer ever overwrites another's entry.
//!
//! Entries are hints, checked against the member on every read: an entry whose member
//! no longer serves that lane and area (an update moved it, or it was deactivated) is
//! skipped, and duplicates collapse. So an update adds the new entries *before* the
//! member document claims the new coverage, and removes old ones after: no reader can
//! miss a member, and a left-over entry costs a key read, never a wrong match.
//!
//! Matching reads a list through its card pages ([`crate::core::cards`]), and its slots
//! only where no page speaks for them.

use crate::core::member::{Coverage, Profile};
use crate::core::record::MemberRecord;
use shared::domain::{Expertise, RegionCode};
use shared::id::MemberId;
use shared::kv::slots::SlotLog;
use shared::kv::{KeyValue, StoreError};
use std::collections::BTreeMap;

/// Most keys asked for in one `get_many`: keeps each host call's answer well below
/// the store's value limits while still batching.
pub const GET_MANY_CHUNK: usize = 500;

/// Prefix of the list of every member.
pub const ALL_MEMBERS: &str = "dir/idx/all";

/// The list of every member, in creation order, for admin listings.
pub fn all_members() -> SlotLog {
    SlotLog::new(ALL_MEMBERS)
}

/// Which kind of help a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    Peer,
    Expert(Expertise),
}

impl Lane {
    fn as_str(self) -> &'static str {
        match self {
            Lane::Peer => "peer",
            Lane::Expert(e) => e.as_str(),
        }
    }

    /// Whether a member works in this lane.
    pub fn holds(self, profile: &Profile) -> bool {
        match (self, profile) {
            (Lane::Peer, Profile::Peer { .. }) => true,
            (Lane::Expert(e), Profile::Expert { expertise, .. }) => expertise.contains(&e),
            _ => false,
        }
    }
}

/// Where a list's members help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    Region(RegionCode),
    National,
}

impl Area {
    fn as_str(self) -> &'static str {
        match self {
            Area::Region(r) => r.as_str(),
            Area::National => "national",
        }
    }
}

/// One index list: the members of a lane in an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bucket {
    pub lane: Lane,
    pub area: Area,
}

impl Bucket {
    /// The list's slot log.
    pub fn log(self) -> SlotLog {
        SlotLog::new(self.prefix())
    }

    fn prefix(self) -> String {
        format!("dir/idx/{}", self.list_name())
    }

    /// The list's name, `<lane>/<area>` (`peer/VR01`).
    pub fn list_name(self) -> String {
        format!("{}/{}", self.lane.as_str(), self.area.as_str())
    }

    /// Whether `record` belongs in this list now.
    pub fn admits(self, record: &MemberRecord) -> bool {
        record.deactivated_at.is_none()
            && self.lane.holds(&record.profile)
            && match (self.area, &record.coverage) {
                (Area::National, Coverage::National) => true,
                (Area::Region(r), coverage) => coverage.serves(r),
                _ => false,
            }
    }
}

/// Every list a member belongs in (none once deactivated).
pub fn buckets_of(record: &MemberRecord) -> Vec<Bucket> {
    if record.deactivated_at.is_some() {
        return Vec::new();
    }
    let lanes: Vec<Lane> = match &record.profile {
        Profile::Peer { .. } => vec![Lane::Peer],
        Profile::Expert { expertise, .. } => expertise.iter().map(|e| Lane::Expert(*e)).collect(),
    };
    let areas: Vec<Area> = match &record.coverage {
        Coverage::National => vec![Area::National],
        Coverage::Regions(rs) => rs.iter().map(|r| Area::Region(*r)).collect(),
    };
    lanes.iter().flat_map(|lane| areas.iter().map(move |area| Bucket { lane: *lane, area: *area })).collect()
}

/// The list prefix a slot key belongs to (`dir/idx/peer/VR01/s/…` → `dir/idx/peer/VR01`).
pub fn log_of_slot_key(key: &str) -> &str {
    key.rsplit_once("/s/").map(|(prefix, _)| prefix).unwrap_or(key)
}

/// Whether a slot key belongs to the list of `bucket`.
pub fn slot_in(key: &str, bucket: Bucket) -> bool {
    log_of_slot_key(key) == bucket.prefix()
}

/// Reserves one slot per `(list, member)` entry, with one increment per distinct list,
/// and returns the entries to write (slot key, member id), in the order asked.
pub fn reserve_entries<S: KeyValue>(
    store: &S,
    wanted: &[(SlotLog, MemberId)],
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let mut per_log: BTreeMap<String, (SlotLog, u64)> = BTreeMap::new();
    for (log, _) in wanted {
        per_log.entry(log.key(0)).or_insert_with(|| (log.clone(), 0)).1 += 1;
    }
    let mut next: BTreeMap<String, u64> = BTreeMap::new();
    for (name, (log, count)) in &per_log {
        next.insert(name.clone(), log.reserve_many(store, *count)?);
    }
    Ok(wanted
        .iter()
        .map(|(log, id)| {
            let slot = next.get_mut(&log.key(0)).expect("reserved above");
            let key = log.key(*slot);
            *slot += 1;
            (key, id.as_str().as_bytes().to_vec())
        })
        .collect())
}

/// The member ids listed in `buckets`, each with the bucket it was found in, in list
/// order. One counter read per list, then one `get_many` per [`GET_MANY_CHUNK`] slots.
pub fn listed<S: KeyValue>(store: &S, buckets: &[Bucket]) -> Result<Vec<(Bucket, MemberId)>, StoreError> {
    let mut slots: Vec<(Bucket, String)> = Vec::new();
    for bucket in buckets {
        let log = bucket.log();
        let last = log.last_slot(store)?;
        slots.extend((1..=last).map(|s| (*bucket, log.key(s))));
    }
    let mut found = Vec::new();
    for chunk in slots.chunks(GET_MANY_CHUNK) {
        let keys: Vec<String> = chunk.iter().map(|(_, k)| k.clone()).collect();
        for ((bucket, _), value) in chunk.iter().zip(store.get_many(&keys)?) {
            // An empty slot was removed, or reserved by a write that failed.
            if let Some(id) = value.and_then(|v| String::from_utf8(v).ok()).and_then(|t| MemberId::parse(&t).ok()) {
                found.push((*bucket, id));
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::kv::memory::MemoryStore;
    use shared::random::SeededRandom;

    #[test]
    fn entries_of_one_list_get_consecutive_distinct_slots() {
        let s = MemoryStore::new();
        let r = SeededRandom::new(1);
        let a = Bucket { lane: Lane::Peer, area: Area::Region(RegionCode::Vr01) };
        let b = Bucket { lane: Lane::Expert(Expertise::Legal), area: Area::National };
        let (m1, m2) = (MemberId::generate(&r), MemberId::generate(&r));
        let wanted = vec![(a.log(), m1.clone()), (b.log(), m1.clone()), (a.log(), m2.clone())];
        let entries = reserve_entries(&s, &wanted).unwrap();
        assert_eq!(entries[0].0, "dir/idx/peer/VR01/s/000000000001");
        assert_eq!(entries[1].0, "dir/idx/legal/national/s/000000000001");
        assert_eq!(entries[2].0, "dir/idx/peer/VR01/s/000000000002");
        s.set_many(&entries).unwrap();
        let got = listed(&s, &[a]).unwrap();
        assert_eq!(got, vec![(a, m1), (a, m2)]);
        assert!(slot_in(&entries[1].0, b) && !slot_in(&entries[1].0, a));
    }
}
