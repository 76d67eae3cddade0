//! Intake's request bodies and query, parsed once at the edge: after
//! [`NewReport::parse`] every value of a report is known to be valid, and the rest of
//! intake never checks again. The reporter pages post the same fields (see `pages/form.rs`).

use crate::core::lookup::MessageText;
use crate::core::submit::NewReport;
use serde::Deserialize;
use shared::case::{ContactChannel, ContactPreference, FollowUpFacts, ReportFacts, ReporterDetails};
use shared::domain::{IncidentKind, Language, Recurrence, RegionCode, Relation, RequestKind, Role, SupportNeed};
use shared::problem::Problem;
use shared::receipt::ReceiptCode;
use shared::text::{BoundedText, Paragraphs};
use shared::time::{Duration, Timestamp};
use shared::web::{FromQuery, Request};

/// The municipality (gemeente) the office holder serves: 2 to 100 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Municipality(BoundedText<100>);

impl Municipality {
    /// Parses the municipality as typed.
    pub fn parse(raw: &str) -> Result<Self, String> {
        BoundedText::parse_between(raw, 2).map(Municipality)
    }

    /// The name.
    pub fn into_inner(self) -> String {
        self.0.into_inner()
    }
}

impl<'de> Deserialize<'de> for Municipality {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Municipality::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// What happened, in the reporter's words.
pub type Description = Paragraphs<20000>;
/// The reporter's name (optional: a report may be anonymous until contact).
pub type PersonName = BoundedText<200>;
/// When contact is welcome, in the reporter's words.
pub type ContactWindow = BoundedText<200>;

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

/// A receipt code as typed by the reporter, parsed where the body is read.
#[derive(Debug)]
pub struct ReceiptInput(pub ReceiptCode);

impl<'de> Deserialize<'de> for ReceiptInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ReceiptCode::parse(&text).map(ReceiptInput).map_err(serde::de::Error::custom)
    }
}

/// The body of a status lookup (the follow-up form sends the same field).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusForm {
    pub receipt_code: ReceiptInput,
}

/// The body of a follow-up message (the reply form sends the same fields).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageForm {
    pub receipt_code: ReceiptInput,
    pub text: MessageText,
    #[serde(default)]
    pub immediate_danger: bool,
    #[serde(default)]
    pub threat_to_life: bool,
    #[serde(default)]
    pub incident_kinds: Vec<IncidentKind>,
}

impl MessageForm {
    /// The receipt code, the text, and what the message reports besides its text
    /// ([`follow_up`]): checked before the receipt code is looked up, so bad input
    /// writes nothing.
    pub fn parse(self) -> Result<(ReceiptCode, MessageText, Option<FollowUpFacts>), Problem> {
        let follow_up = follow_up(self.immediate_danger, self.threat_to_life, self.incident_kinds)?;
        Ok((self.receipt_code.0, self.text, follow_up))
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

/// The query of a reporter page: `lang` (its first value), the language chosen with
/// the page's switch, as sent. A page never refuses its address: another parameter is
/// ignored, and a language we do not speak falls back to `Accept-Language`.
#[derive(Debug, Default)]
pub struct PageQuery {
    pub lang: Option<String>,
}

impl FromQuery for PageQuery {
    fn take(&mut self, name: &str, value: &str) -> Result<bool, String> {
        if name == "lang" && self.lang.is_none() {
            self.lang = Some(value.to_string());
        }
        Ok(true)
    }
}

/// The language a request asks for with `Accept-Language`.
pub fn request_language(req: &Request) -> Language {
    preferred_language(req.headers().get(http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

/// The language an `Accept-Language` value asks for: its most preferred of nl and en,
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
        assert_eq!(Municipality::parse("  Utrecht ").unwrap().into_inner(), "Utrecht");
        assert!(Municipality::parse("U").is_err());
        assert!(Municipality::parse("Utrecht\nNoord").is_err());
        assert!(Description::parse("line one\nline two").is_ok());
        assert!(Description::parse("   ").is_err());
        assert!(Description::parse("bell\u{7}").is_err());
    }
}
