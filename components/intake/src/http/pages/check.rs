//! Every error of a report form at once, by the API's own rules.
//!
//! The API answers the first problem it finds, which suits a program. A person should
//! see every field at fault in one go, so the form is checked again and again: each time
//! a field is refused it is noted and stood in for by a value the rules accept (from a
//! fixed sample report), until the rest passes. The rules themselves stay in
//! `http/forms.rs`; this only asks them more than once.

use super::form::field_of;
use crate::core::submit::NewReport;
use crate::http::forms::ReportForm;
use serde_json::Value;
use shared::domain::Language;
use shared::problem::Problem;
use shared::time::Timestamp;
use shared::web;

/// A report every rule accepts. Its choices demand nothing of other fields (a
/// `prevention` needs no incident kinds, `status_lookup` no phone or address), so a
/// stand-in never makes another field wrong.
const SAMPLE: &str = r#"{
    "role": "mayor", "relation": "self", "region": "VR01", "municipality": "Sample",
    "request_kind": "prevention", "incident_kinds": ["other"], "immediate_danger": false,
    "threat_to_life": false, "recurrence": "first", "police_informed": false,
    "police_report_filed": false, "support_requested": [], "description": "sample",
    "name": "sample", "language": "nl",
    "contact": {"channel": "status_lookup", "phone": "+31 6 00000000", "email": "sample@example.nl", "when": "sample"}
}"#;

/// Enough passes for every field of the form.
const MAX_PASSES: usize = 24;

/// The report the form's JSON describes, or every problem with it, in the order found.
pub fn report(json: &[u8], now: Timestamp, language: Language) -> Result<NewReport, Vec<Problem>> {
    let parse = |body: &[u8]| -> Result<NewReport, Problem> {
        let form: ReportForm = web::parse_json(body)?;
        NewReport::parse(form, now, language)
    };
    let first = match parse(json) {
        Ok(report) => return Ok(report),
        Err(problem) => problem,
    };
    let (Ok(mut document), Ok(sample)) = (serde_json::from_slice::<Value>(json), serde_json::from_str::<Value>(SAMPLE))
    else {
        return Err(vec![first]);
    };
    let mut problems = vec![first];
    for _ in 0..MAX_PASSES {
        let last = problems.last().expect("one at least");
        let Some(field) = last.field.as_deref().and_then(field_of) else { break };
        stand_in(&mut document, &sample, &field);
        match parse(&serde_json::to_vec(&document).expect("JSON serialises")) {
            Ok(_) => break,
            Err(next) => {
                let repeated = problems.iter().any(|p| p.field == next.field);
                if repeated {
                    break;
                }
                problems.push(next);
            }
        }
    }
    Err(problems)
}

/// Puts the sample's value at `field` (`contact.phone`) into `document`, or removes the
/// field where the sample has none (an unknown field).
fn stand_in(document: &mut Value, sample: &Value, field: &str) {
    let mut target = document;
    let mut source = Some(sample);
    let mut names = field.split('.').peekable();
    while let Some(name) = names.next() {
        let value = source.and_then(|s| s.get(name));
        let Some(object) = target.as_object_mut() else { return };
        if names.peek().is_none() {
            match value {
                Some(v) => object.insert(name.to_string(), v.clone()),
                None => object.remove(name),
            };
            return;
        }
        let inner = object.entry(name.to_string()).or_insert_with(|| Value::Object(Default::default()));
        if !inner.is_object() {
            *inner = Value::Object(Default::default());
        }
        target = inner;
        source = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Vec<String> {
        let now = Timestamp::parse("2026-12-01T12:00:00Z").unwrap();
        let problems = report(json.as_bytes(), now, Language::Dutch).unwrap_err();
        problems.iter().map(|p| p.field.clone().unwrap_or_default()).collect()
    }

    #[test]
    fn the_sample_is_a_valid_report() {
        let now = Timestamp::parse("2026-12-01T12:00:00Z").unwrap();
        assert!(report(SAMPLE.as_bytes(), now, Language::Dutch).is_ok());
    }

    #[test]
    fn an_empty_form_names_every_required_field() {
        let mut found = fields("{}");
        found.sort();
        assert_eq!(
            found,
            [
                "/contact",
                "/description",
                "/immediate_danger",
                "/municipality",
                "/region",
                "/relation",
                "/request_kind",
                "/role"
            ]
        );
    }

    #[test]
    fn bad_values_and_rules_across_fields_are_all_named() {
        let found = fields(
            r#"{"role": "king", "relation": "self", "region": "VR09", "municipality": "U", "request_kind": "incident",
                "immediate_danger": false, "description": "x", "contact": {"channel": "phone", "email": "nope"}}"#,
        );
        for field in ["/role", "/municipality", "/contact/email", "/incident_kinds", "/contact/phone"] {
            assert!(found.iter().any(|f| f == field), "{field} in {found:?}");
        }
        assert_eq!(found.len(), 5, "{found:?}");
    }
}
