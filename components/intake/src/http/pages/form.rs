//! An HTML form as posted (`application/x-www-form-urlencoded`), and its translation
//! into the JSON body the API takes, so a form is checked by exactly the API's rules:
//! the form's field names are the JSON's (`contact.phone` for `/contact/phone`).

use shared::problem::{Problem, ProblemKind};
use shared::web::{self, Request};

/// The form's media type.
pub const MEDIA_TYPE: &str = "application/x-www-form-urlencoded";

/// Largest form body we read. Percent-encoding triples a byte (a description of 20,000
/// characters outside ASCII takes up to 180 KB): the translated JSON is still held to
/// the API's own limit.
pub const MAX_FORM_BYTES: usize = 192 * 1024;

/// Check boxes and yes/no choices: `true` or `false` in the JSON.
const FLAGS: &[&str] = &["immediate_danger", "threat_to_life", "police_informed", "police_report_filed"];
/// Groups of check boxes: lists in the JSON.
const LISTS: &[&str] = &["incident_kinds", "support_requested"];
/// Fields of the pages themselves, not of the API.
pub const LANGUAGE_FIELD: &str = "lang";
pub const KEY_FIELD: &str = "idempotency_key";

/// Whether a request posts an HTML form.
pub fn is_form(req: &Request) -> bool {
    let content_type = req.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(MEDIA_TYPE)
}

/// The fields of a posted form, in order.
#[derive(Debug, Default, Clone)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Reads a form body: at most [`MAX_FORM_BYTES`] (413), UTF-8 (400), every value
    /// UTF-8 also once percent-decoded (422 naming the field), and every field that is not a group of boxes at most once
    /// (400: which of two values would hold is a guess).
    pub fn read(body: &[u8]) -> Result<Form, Problem> {
        if body.len() > MAX_FORM_BYTES {
            return Err(Problem::new(
                ProblemKind::PayloadTooLarge,
                format!("the form may be at most {MAX_FORM_BYTES} bytes"),
            )
            .at(""));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| Problem::new(ProblemKind::MalformedBody, "the form is not valid UTF-8").at(""))?;
        let pairs = web::urlencoded_text_pairs(text).map_err(|field| match field {
            // The field at fault, as the API names it (`contact.phone` is `/contact/phone`).
            Some(name) => Problem::invalid_field(
                format!("/{}", name.replace('~', "~0").replace('/', "~1").replace('.', "/")),
                "is not text (not UTF-8 once percent-decoded)",
            ),
            None => {
                Problem::new(ProblemKind::MalformedBody, "a form field name is not UTF-8 once percent-decoded").at("")
            }
        })?;
        for (i, (name, _)) in pairs.iter().enumerate() {
            let single = !LISTS.contains(&name.as_str()) && name != LANGUAGE_FIELD;
            if single && pairs[..i].iter().any(|(earlier, _)| earlier == name) {
                return Err(
                    Problem::new(ProblemKind::MalformedBody, format!("the form field `{name}` is sent twice")).at("")
                );
            }
        }
        Ok(Form(pairs))
    }

    /// The last value of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether `name` has the value `value` (a ticked box, a chosen option).
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.all(name).any(|v| v == value)
    }

    /// Copies the values of `name` from `other` (what is shown again of a refused form).
    pub fn keep(&mut self, other: &Form, name: &str) {
        self.0.extend(other.0.iter().filter(|(k, _)| k == name).cloned());
    }

    /// The form in a canonical order (by field name, the values of one name in the
    /// order sent), for the idempotency fingerprint: the same answers sent again, from
    /// the form as first served or as served back, are the same submission.
    pub fn canonical(&self) -> Vec<u8> {
        let mut pairs: Vec<&(String, String)> = self.0.iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        serde_json::to_vec(&pairs).expect("pairs serialise")
    }

    /// The API's JSON body for this form: empty fields are left out (so a required one
    /// is reported missing, an optional one is absent), flags become booleans, groups
    /// of boxes lists, dotted names nested objects. The pages' own fields are dropped.
    pub fn to_json(&self) -> Vec<u8> {
        let mut root = serde_json::Map::new();
        for (name, value) in &self.0 {
            if name == LANGUAGE_FIELD || name == KEY_FIELD || value.trim().is_empty() {
                continue;
            }
            let (object, key) = match name.split_once('.') {
                Some((outer, inner)) => {
                    let entry =
                        root.entry(outer.to_string()).or_insert_with(|| serde_json::Value::Object(Default::default()));
                    match entry.as_object_mut() {
                        Some(object) => (object, inner),
                        None => continue,
                    }
                }
                None => (&mut root, name.as_str()),
            };
            let json = match value.as_str() {
                "true" if FLAGS.contains(&key) => serde_json::Value::Bool(true),
                "false" if FLAGS.contains(&key) => serde_json::Value::Bool(false),
                text => serde_json::Value::String(text.to_string()),
            };
            if LISTS.contains(&key) {
                let list = object.entry(key.to_string()).or_insert_with(|| serde_json::Value::Array(Vec::new()));
                if let Some(list) = list.as_array_mut() {
                    list.push(json);
                }
            } else {
                object.insert(key.to_string(), json);
            }
        }
        serde_json::to_vec(&root).expect("a JSON object serialises")
    }
}

/// The form field a problem's JSON pointer names (`/contact/phone` is `contact.phone`,
/// `/incident_kinds/1` is `incident_kinds`); `None` for the whole body or a header.
pub fn field_of(pointer: &str) -> Option<String> {
    let path = pointer.strip_prefix('/')?;
    let name: Vec<&str> = path.split('/').filter(|s| !s.is_empty() && !s.bytes().all(|b| b.is_ascii_digit())).collect();
    (!name.is_empty()).then(|| name.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_becomes_the_apis_json() {
        let form = Form::read(
            b"role=mayor&municipality=Wijk+bij+Duurstede&incident_kinds=stalking&incident_kinds=doxxing\
              &immediate_danger=false&threat_to_life=true&name=&contact.channel=phone&contact.phone=%2B31+6+12345678\
              &lang=en&idempotency_key=abc",
        )
        .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&form.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "role": "mayor", "municipality": "Wijk bij Duurstede",
                "incident_kinds": ["stalking", "doxxing"], "immediate_danger": false, "threat_to_life": true,
                "contact": {"channel": "phone", "phone": "+31 6 12345678"}
            })
        );
    }

    #[test]
    fn the_canonical_form_does_not_depend_on_the_order_of_the_fields() {
        let a = Form::read(b"role=mayor&incident_kinds=stalking&incident_kinds=doxxing&lang=nl").unwrap();
        let b = Form::read(b"lang=nl&incident_kinds=stalking&role=mayor&incident_kinds=doxxing").unwrap();
        let c = Form::read(b"lang=nl&incident_kinds=doxxing&role=mayor&incident_kinds=stalking").unwrap();
        assert_eq!(a.canonical(), b.canonical());
        assert_ne!(a.canonical(), c.canonical(), "the order of a list is part of the answer");
    }

    #[test]
    fn pointers_name_form_fields() {
        assert_eq!(field_of("/contact/phone").as_deref(), Some("contact.phone"));
        assert_eq!(field_of("/incident_kinds/2").as_deref(), Some("incident_kinds"));
        assert_eq!(field_of(""), None);
        assert_eq!(field_of("idempotency-key"), None);
    }
}
