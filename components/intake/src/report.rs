//! A new report, parsed once at the edge: after [`NewReport::parse`] every value is
//! known to be valid, and the rest of intake never checks again.

use serde::Deserialize;
use shared::case::{ContactChannel, ContactPreference, FollowUpFacts, ReportFacts, ReporterDetails};
use shared::domain::{IncidentKind, Language, Recurrence, RegionCode, Relation, RequestKind, Role, SupportNeed};
use shared::problem::Problem;
use shared::time::{Duration, Timestamp};

/// Declares a text field type: trimmed, within length bounds, free of control
/// characters (newlines and tabs only where `multiline`), parsed by serde so a bad
/// value is reported at its JSON pointer.
macro_rules! text_field {
    ($(#[$doc:meta])* $name:ident, $min:literal..=$max:literal, multiline: $multiline:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                let text = raw.trim();
                let chars = text.chars().count();
                if !($min..=$max).contains(&chars) {
                    return Err(format!("must be {} to {} characters long", $min, $max));
                }
                if let Some(why) = shared::text::refusal(text, $multiline) {
                    return Err(why.into());
                }
                Ok($name(text.to_string()))
            }
        }

        impl $name {
            /// The text.
            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}

text_field!(
    /// The municipality (gemeente) the office holder serves.
    Municipality, 2..=100, multiline: false
);
text_field!(
    /// What happened, in the reporter's words.
    Description, 1..=20000, multiline: true
);
text_field!(
    /// The reporter's name (optional: a report may be anonymous until contact).
    PersonName, 1..=200, multiline: false
);
text_field!(
    /// When contact is welcome, in the reporter's words.
    ContactWindow, 1..=200, multiline: false
);
text_field!(
    /// A follow-up message from the reporter.
    MessageText, 1..=5000, multiline: true
);

/// A phone number: digits with optional `+`, spaces, dashes, dots and parentheses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Phone(String);

impl TryFrom<String> for Phone {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        let text = raw.trim();
        let digits = text.chars().filter(char::is_ascii_digit).count();
        let allowed = text
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')') || (c == '+' && i == 0));
        if !allowed || !(6..=20).contains(&digits) {
            return Err("must be a phone number of 6 to 20 digits, e.g. +31 6 12345678".into());
        }
        Ok(Phone(text.to_string()))
    }
}

/// An e-mail address (shape only: local@domain.tld).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Email(String);

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        let text = raw.trim();
        let shape_ok = match text.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            }
            None => false,
        };
        if !shape_ok || text.len() > 254 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must be an e-mail address, e.g. naam@gemeente.nl".into());
        }
        Ok(Email(text.to_string()))
    }
}

/// The contact block of a report, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactForm {
    channel: ContactChannel,
    #[serde(default)]
    phone: Option<Phone>,
    #[serde(default)]
    email: Option<Email>,
    #[serde(default)]
    when: Option<ContactWindow>,
}

/// A report as sent by the reporter (`POST /intake/reports`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportForm {
    role: Role,
    relation: Relation,
    region: RegionCode,
    municipality: Municipality,
    request_kind: RequestKind,
    #[serde(default)]
    incident_kinds: Vec<IncidentKind>,
    immediate_danger: bool,
    #[serde(default)]
    threat_to_life: bool,
    #[serde(default = "first_time")]
    recurrence: Recurrence,
    #[serde(default)]
    occurred_at: Option<Timestamp>,
    #[serde(default)]
    police_informed: bool,
    #[serde(default)]
    police_report_filed: bool,
    #[serde(default)]
    support_requested: Vec<SupportNeed>,
    description: Description,
    #[serde(default)]
    name: Option<PersonName>,
    contact: ContactForm,
    #[serde(default)]
    language: Option<Language>,
}

fn first_time() -> Recurrence {
    Recurrence::First
}

/// A valid report: the facts for triage, and the details that are only stored sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    pub facts: ReportFacts,
    pub details: ReporterDetails,
}

/// How far in the future `occurred_at` may lie (clock skew of the reporter's device).
const CLOCK_SKEW: Duration = Duration::minutes(10);

fn no_repeats<T: PartialEq + std::fmt::Display>(items: &[T], field: &str) -> Result<(), Problem> {
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            return Err(Problem::invalid_field(format!("/{field}/{i}"), format!("`{item}` is listed twice")));
        }
    }
    Ok(())
}

impl NewReport {
    /// Checks what serde cannot: rules across fields. `fallback_language` comes from
    /// `Accept-Language` when the body names none.
    pub fn parse(form: ReportForm, now: Timestamp, fallback_language: Language) -> Result<NewReport, Problem> {
        if form.request_kind == RequestKind::Incident && form.incident_kinds.is_empty() {
            return Err(Problem::invalid_field("/incident_kinds", "name at least one incident kind for an incident"));
        }
        no_repeats(&form.incident_kinds, "incident_kinds")?;
        no_repeats(&form.support_requested, "support_requested")?;
        if let Some(at) = form.occurred_at {
            if at > now + CLOCK_SKEW {
                return Err(Problem::invalid_field("/occurred_at", "lies in the future"));
            }
        }
        let contact = form.contact;
        match contact.channel {
            ContactChannel::Phone if contact.phone.is_none() => {
                return Err(Problem::invalid_field("/contact/phone", "is needed when the channel is phone"));
            }
            ContactChannel::Email if contact.email.is_none() => {
                return Err(Problem::invalid_field("/contact/email", "is needed when the channel is email"));
            }
            _ => {}
        }
        let facts = ReportFacts {
            role: form.role,
            relation: form.relation,
            region: form.region,
            request_kind: form.request_kind,
            incident_kinds: form.incident_kinds,
            immediate_danger: form.immediate_danger,
            threat_to_life: form.threat_to_life,
            recurrence: form.recurrence,
            occurred_at: form.occurred_at,
            // An aangifte cannot be filed without the police knowing.
            police_informed: form.police_informed || form.police_report_filed,
            police_report_filed: form.police_report_filed,
            support_requested: form.support_requested,
            language: form.language.unwrap_or(fallback_language),
        };
        let details = ReporterDetails {
            name: form.name.map(PersonName::into_inner),
            municipality: form.municipality.into_inner(),
            description: form.description.into_inner(),
            contact: ContactPreference {
                channel: contact.channel,
                phone: contact.phone.map(|p| p.0),
                email: contact.email.map(|e| e.0),
                when: contact.when.map(ContactWindow::into_inner),
            },
        };
        Ok(NewReport { facts, details })
    }
}

/// What a follow-up message reports besides its text, checked at the edge; `None` when
/// it reports neither danger nor an incident.
pub fn follow_up(
    immediate_danger: bool,
    threat_to_life: bool,
    incident_kinds: Vec<IncidentKind>,
) -> Result<Option<FollowUpFacts>, Problem> {
    no_repeats(&incident_kinds, "incident_kinds")?;
    let facts = FollowUpFacts { immediate_danger, threat_to_life, incident_kinds };
    Ok(facts.reports_something().then_some(facts))
}

/// The language a request asks for: `Accept-Language`'s most preferred of nl and en,
/// Dutch when it names neither.
pub fn preferred_language(accept_language: Option<&str>) -> Language {
    let mut best: Option<(f32, Language)> = None;
    for part in accept_language.unwrap_or("").split(',') {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality =
            pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
        let language = match tag.split('-').next().unwrap_or("") {
            "nl" => Language::Dutch,
            "en" => Language::English,
            _ => continue,
        };
        if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, language));
        }
    }
    best.map(|(_, l)| l).unwrap_or(Language::Dutch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_supported_language() {
        assert_eq!(preferred_language(None), Language::Dutch);
        assert_eq!(preferred_language(Some("en-GB,en;q=0.9")), Language::English);
        assert_eq!(preferred_language(Some("de, en;q=0.5, nl;q=0.8")), Language::Dutch);
        assert_eq!(preferred_language(Some("fr")), Language::Dutch);
        assert_eq!(preferred_language(Some("nl;q=0, en")), Language::English);
    }

    #[test]
    fn phone_and_email_shapes() {
        assert!(Phone::try_from("+31 6 1234 5678".to_string()).is_ok());
        assert!(Phone::try_from("06-12345678".to_string()).is_ok());
        assert!(Phone::try_from("call me".to_string()).is_err());
        assert!(Phone::try_from("12+345678".to_string()).is_err());
        assert!(Email::try_from("a@b.nl".to_string()).is_ok());
        assert!(Email::try_from("a@b".to_string()).is_err());
        assert!(Email::try_from("a b@c.nl".to_string()).is_err());
    }

    #[test]
    fn text_fields_are_trimmed_and_bounded() {
        assert_eq!(Municipality::try_from("  Utrecht ".to_string()).unwrap().into_inner(), "Utrecht");
        assert!(Municipality::try_from("U".to_string()).is_err());
        assert!(Municipality::try_from("Utrecht\nNoord".to_string()).is_err());
        assert!(Description::try_from("line one\nline two".to_string()).is_ok());
        assert!(Description::try_from("   ".to_string()).is_err());
        assert!(Description::try_from("bell\u{7}".to_string()).is_err());
    }
}
