//! A member of the support network as an admin submits it, parsed once into a
//! [`MemberProfile`] that can only hold valid values.
//!
//! Parsing collects every fault with its JSON pointer instead of stopping at the first,
//! so a bulk import can list all bad records in one answer.

use serde::{Deserialize, Serialize};
use shared::domain::{Expertise, Language, Organisation, Province, RegionCode, Role};
use shared::id::MemberId;
use shared::problem::{FieldError, Problem};
use shared::text::BoundedText;
use shared::time::Timestamp;

/// Largest capacity (open cases at once) one member may take.
pub const MAX_CAPACITY: u32 = 50;
const MAX_NAME: usize = 120;
const MAX_TEXT: usize = 200;
const MAX_SPECIALTIES: usize = 10;

shared::wire_enum!(
    /// Peer or expert.
    MemberKind {
        /// An (former) office holder offering contact as an ambtsgenoot.
        Peer => "peer",
        /// A security, legal or aftercare professional.
        Expert => "expert",
    }
);

/// The body of a create or update, and one record of an import, as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberForm {
    /// Only in imports: a fixed id (the demo network uses this to stay recognisable).
    #[serde(default)]
    pub id: Option<MemberId>,
    pub name: String,
    pub kind: MemberKind,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub organisation: Option<Organisation>,
    #[serde(default)]
    pub municipality: Option<String>,
    #[serde(default)]
    pub expertise: Option<Vec<Expertise>>,
    #[serde(default)]
    pub specialties: Option<Vec<String>>,
    /// Region codes, or `["national"]`.
    pub regions: Vec<String>,
    pub languages: Vec<Language>,
    pub capacity: u32,
    /// A date `YYYY-MM-DD`: on leave until (not including) that day.
    #[serde(default)]
    pub on_leave_until: Option<String>,
    pub contact: Contact,
}

/// How to reach a member: confidential, sealed at rest, shown to admins only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where a member helps: everywhere, or in some safety regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    National,
    Regions(Vec<RegionCode>),
}

impl Coverage {
    /// The wire form: `["national"]` or the region codes.
    pub fn to_wire(&self) -> Vec<String> {
        match self {
            Coverage::National => vec!["national".into()],
            Coverage::Regions(rs) => rs.iter().map(|r| r.as_str().to_string()).collect(),
        }
    }

    /// Whether the member serves `region` itself.
    pub fn serves(&self, region: RegionCode) -> bool {
        matches!(self, Coverage::Regions(rs) if rs.contains(&region))
    }

    /// Whether the member serves some region of `province`.
    pub fn serves_province(&self, province: Province) -> bool {
        matches!(self, Coverage::Regions(rs) if rs.iter().any(|r| r.province() == province))
    }
}

/// What kind of help a member gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Profile {
    Peer { role: Role, organisation: Organisation, municipality: Municipality },
    Expert { expertise: Vec<Expertise>, specialties: Vec<String> },
}

impl Profile {
    /// Peer or expert.
    pub fn kind(&self) -> MemberKind {
        match self {
            Profile::Peer { .. } => MemberKind::Peer,
            Profile::Expert { .. } => MemberKind::Expert,
        }
    }

    /// The member's expertise (none for peers).
    pub fn expertise(&self) -> &[Expertise] {
        match self {
            Profile::Peer { .. } => &[],
            Profile::Expert { expertise, .. } => expertise,
        }
    }
}

/// A municipality name, compared without case, accents, spaces or punctuation, so
/// "Súdwest-Fryslân" and "sudwest fryslan" are the same place (conflict of interest
/// must not be dodged by spelling).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Municipality(String);

impl Municipality {
    /// Parses a name: one line of 1 to 200 characters, not blank.
    pub fn parse(text: &str) -> Result<Self, String> {
        BoundedText::<MAX_TEXT>::parse(text).map(|name| Municipality(name.into_inner()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two names denote the same municipality.
    pub fn same_as(&self, other: &Municipality) -> bool {
        fold(&self.0) == fold(&other.0)
    }
}

fn fold(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ĳ' => 'y',
            other => other,
        })
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// A leave end date, `YYYY-MM-DD`: the member is back on that day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct LeaveUntil(Timestamp);

impl LeaveUntil {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || "must be a date YYYY-MM-DD".to_string();
        if text.len() != 10 {
            return Err(bad());
        }
        Timestamp::parse(&format!("{text}T00:00:00Z")).map(LeaveUntil).map_err(|_| bad())
    }

    /// Whether the member is still on leave at `now`.
    pub fn covers(self, now: Timestamp) -> bool {
        now < self.0
    }
}

impl From<LeaveUntil> for String {
    fn from(l: LeaveUntil) -> String {
        l.0.to_string()[..10].to_string()
    }
}

impl TryFrom<String> for LeaveUntil {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        LeaveUntil::parse(&s)
    }
}

/// A member as it may be stored: every field valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberProfile {
    pub name: String,
    pub profile: Profile,
    pub coverage: Coverage,
    pub languages: Vec<Language>,
    pub capacity: u32,
    pub on_leave_until: Option<LeaveUntil>,
    pub contact: Contact,
}

/// Collects field faults under a pointer prefix (`/3` for the fourth import record).
struct Faults<'a> {
    prefix: &'a str,
    errors: Vec<FieldError>,
}

impl Faults<'_> {
    fn add(&mut self, field: &str, detail: impl Into<String>) {
        self.errors.push(FieldError { field: format!("{}/{field}", self.prefix), detail: detail.into() });
    }
}

/// `value` as [`BoundedText`], its fault (if any) collected at `field`.
fn text<const MAX: usize>(faults: &mut Faults<'_>, field: &str, value: &str) -> String {
    BoundedText::<MAX>::parse(value).map(BoundedText::into_inner).unwrap_or_else(|e| {
        faults.add(field, e);
        value.trim().to_string()
    })
}

fn optional_text(faults: &mut Faults<'_>, field: &str, value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| text::<MAX_TEXT>(faults, field, v))
}

impl MemberProfile {
    /// Parses a form; `prefix` is prepended to every pointer (empty for a single member).
    pub fn parse(form: &MemberForm, prefix: &str) -> Result<Self, Vec<FieldError>> {
        let mut faults = Faults { prefix, errors: Vec::new() };
        let name = text::<MAX_NAME>(&mut faults, "name", &form.name);
        let profile = parse_profile(&mut faults, form);
        let coverage = parse_coverage(&mut faults, &form.regions);
        if form.languages.is_empty() {
            faults.add("languages", "must name at least one language");
        }
        let mut languages = form.languages.clone();
        languages.sort();
        languages.dedup();
        if form.capacity == 0 || form.capacity > MAX_CAPACITY {
            faults.add("capacity", format!("must be 1 to {MAX_CAPACITY} open cases"));
        }
        let on_leave_until = match &form.on_leave_until {
            None => None,
            Some(d) => LeaveUntil::parse(d).map_err(|e| faults.add("on_leave_until", e)).ok(),
        };
        let contact = Contact {
            email: optional_text(&mut faults, "contact/email", &form.contact.email),
            phone: optional_text(&mut faults, "contact/phone", &form.contact.phone),
            note: optional_text(&mut faults, "contact/note", &form.contact.note),
        };
        if contact.email.is_none() && contact.phone.is_none() {
            faults.add("contact", "needs an email or a phone number");
        }
        match (faults.errors.is_empty(), profile, coverage) {
            (true, Some(profile), Some(coverage)) => Ok(MemberProfile {
                name,
                profile,
                coverage,
                languages,
                capacity: form.capacity,
                on_leave_until,
                contact,
            }),
            _ => Err(faults.errors),
        }
    }

    /// Parses one form into a single problem (one field: its pointer; several: a list).
    pub fn parse_one(form: &MemberForm) -> Result<Self, Problem> {
        MemberProfile::parse(form, "").map_err(|mut errors| {
            if errors.len() == 1 {
                let e = errors.remove(0);
                Problem::invalid_field(e.field, e.detail)
            } else {
                Problem::invalid_fields(errors)
            }
        })
    }
}

fn parse_profile(faults: &mut Faults<'_>, form: &MemberForm) -> Option<Profile> {
    match form.kind {
        MemberKind::Peer => {
            for (field, present) in
                [("expertise", form.expertise.is_some()), ("specialties", form.specialties.is_some())]
            {
                if present {
                    faults.add(field, "only experts have this field");
                }
            }
            let role = form.role.or_else(|| {
                faults.add("role", "a peer needs the role they hold or held");
                None
            });
            let organisation = form.organisation.or_else(|| {
                faults.add("organisation", "a peer needs their organisation");
                None
            });
            let municipality = match &form.municipality {
                None => {
                    faults.add("municipality", "a peer needs their municipality (to avoid conflicts of interest)");
                    None
                }
                Some(m) => Municipality::parse(m).map_err(|e| faults.add("municipality", e)).ok(),
            };
            Some(Profile::Peer { role: role?, organisation: organisation?, municipality: municipality? })
        }
        MemberKind::Expert => {
            for (field, present) in [
                ("role", form.role.is_some()),
                ("organisation", form.organisation.is_some()),
                ("municipality", form.municipality.is_some()),
            ] {
                if present {
                    faults.add(field, "only peers have this field");
                }
            }
            let mut expertise = form.expertise.clone().unwrap_or_default();
            if expertise.is_empty() {
                faults.add("expertise", "an expert needs at least one of: security, legal, aftercare");
            }
            expertise.sort();
            expertise.dedup();
            let given = form.specialties.clone().unwrap_or_default();
            if given.len() > MAX_SPECIALTIES {
                faults.add("specialties", format!("at most {MAX_SPECIALTIES}"));
            }
            let specialties = given
                .iter()
                .enumerate()
                .map(|(i, s)| text::<MAX_TEXT>(faults, &format!("specialties/{i}"), s))
                .collect();
            Some(Profile::Expert { expertise, specialties })
        }
    }
}

fn parse_coverage(faults: &mut Faults<'_>, regions: &[String]) -> Option<Coverage> {
    if regions.is_empty() {
        faults.add("regions", "must name at least one region code, or be [\"national\"]");
        return None;
    }
    if regions.iter().any(|r| r == "national") {
        if regions.len() > 1 {
            faults.add("regions", "\"national\" stands alone: it already covers every region");
            return None;
        }
        return Some(Coverage::National);
    }
    let mut codes = Vec::new();
    let mut ok = true;
    for (i, r) in regions.iter().enumerate() {
        match RegionCode::parse(r) {
            Ok(code) => codes.push(code),
            Err(e) => {
                faults.add(&format!("regions/{i}"), format!("{e}, or national"));
                ok = false;
            }
        }
    }
    codes.sort();
    codes.dedup();
    ok.then_some(Coverage::Regions(codes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(json: serde_json::Value) -> MemberForm {
        serde_json::from_value(json).unwrap()
    }

    fn peer() -> serde_json::Value {
        serde_json::json!({
            "name": "Anna de Vries", "kind": "peer", "role": "alderman", "organisation": "wethoudersvereniging",
            "municipality": "Súdwest-Fryslân", "regions": ["VR02"], "languages": ["nl"], "capacity": 2,
            "contact": {"email": "anna@example.org"}
        })
    }

    #[test]
    fn a_valid_peer_parses() {
        let m = MemberProfile::parse(&form(peer()), "").unwrap();
        assert_eq!(m.profile.kind(), MemberKind::Peer);
        assert_eq!(m.coverage, Coverage::Regions(vec![RegionCode::Vr02]));
    }

    #[test]
    fn every_fault_is_listed_with_its_pointer() {
        let mut bad = peer();
        bad["name"] = " ".into();
        bad["regions"] = serde_json::json!(["VR02", "VR99"]);
        bad["capacity"] = 0.into();
        bad["expertise"] = serde_json::json!(["legal"]);
        bad["contact"] = serde_json::json!({});
        let errors = MemberProfile::parse(&form(bad), "/3").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["/3/name", "/3/expertise", "/3/regions/1", "/3/capacity", "/3/contact"]);
    }

    #[test]
    fn national_stands_alone() {
        let mut f = peer();
        f["regions"] = serde_json::json!(["national"]);
        assert_eq!(MemberProfile::parse(&form(f.clone()), "").unwrap().coverage, Coverage::National);
        f["regions"] = serde_json::json!(["national", "VR01"]);
        assert!(MemberProfile::parse(&form(f), "").is_err());
    }

    #[test]
    fn municipalities_compare_without_accents_case_or_punctuation() {
        let a = Municipality::parse("Súdwest-Fryslân").unwrap();
        assert!(a.same_as(&Municipality::parse(" sudwest fryslan ").unwrap()));
        assert!(!a.same_as(&Municipality::parse("Leeuwarden").unwrap()));
    }

    #[test]
    fn leave_ends_on_the_given_day() {
        let until = LeaveUntil::parse("2026-12-01").unwrap();
        assert!(until.covers(Timestamp::parse("2026-11-30T23:59:59Z").unwrap()));
        assert!(!until.covers(Timestamp::parse("2026-12-01T00:00:00Z").unwrap()));
        assert!(LeaveUntil::parse("2026-12-1").is_err());
        assert_eq!(String::from(until), "2026-12-01");
    }
}
