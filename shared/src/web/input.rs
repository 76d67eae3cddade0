//! Strict JSON input: a body becomes a validated type or a problem naming the field at
//! fault (a JSON pointer), never a 500.

use super::{Request, MAX_BODY_BYTES};
use crate::problem::{Problem, ProblemKind};
use serde::de::DeserializeOwned;

/// Parses a JSON body into `T`, strictly: `application/json` only (415), at most
/// [`MAX_BODY_BYTES`] (413), valid UTF-8 and well-formed JSON (400), and values that fit
/// `T` with no unknown fields (422 with the JSON pointer of the field at fault).
pub fn read_json<T: DeserializeOwned>(req: &Request) -> Result<T, Problem> {
    check_media_type(req)?;
    parse_json(req.body())
}

/// [`read_json`] for bodies that must be a JSON object: anything else is refused as a
/// whole (serde would otherwise read an array as the struct's fields in order).
///
/// The order keeps hostile bodies cheap: the media type (415) and the size (413) come
/// first, so an oversized body is never parsed; then a well-formed body that is not an
/// object is refused (422) after a check that only validates its syntax, without
/// building it in memory; only an object is parsed into `T`.
pub fn read_json_object<T: DeserializeOwned>(req: &Request) -> Result<T, Problem> {
    check_object(req)?;
    parse_json(req.body())
}

/// The checks of [`read_json_object`] before `T` is parsed, compiled once rather than
/// once per input type.
#[inline(never)]
fn check_object(req: &Request) -> Result<(), Problem> {
    check_media_type(req)?;
    check_size(req.body())?;
    let body = req.body().trim_ascii_start();
    // Only well-formed non-objects are refused here; malformed bodies get parse_json's 400.
    let well_formed_non_object =
        body.first().is_some_and(|b| *b != b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    if well_formed_non_object {
        return Err(Problem::invalid_field("", "the body must be a JSON object"));
    }
    Ok(())
}

fn check_media_type(req: &Request) -> Result<(), Problem> {
    let content_type = req.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media_type != "application/json" {
        return Err(Problem::new(ProblemKind::UnsupportedMediaType, "send the body as Content-Type: application/json")
            .at("content-type"));
    }
    Ok(())
}

fn check_size(body: &[u8]) -> Result<(), Problem> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Problem::new(
            ProblemKind::PayloadTooLarge,
            format!("the body may be at most {MAX_BODY_BYTES} bytes"),
        )
        .at(""));
    }
    Ok(())
}

/// [`read_json`] without the media-type check, for bodies already known to be JSON.
///
/// The body is checked whole first ([`check_document`]), then decoded into `T` straight
/// from its bytes: no `serde_json::Value` is built in between, so each input type's
/// decoder is compiled for one reader only (the size of the `.wasm`, issue 16).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    check_document(body)?;
    let mut reader = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut reader).map_err(json_problem)
}

/// The part of [`parse_json`] that does not depend on `T` (size, UTF-8, well-formed,
/// unique names), compiled once rather than once per input type. It builds nothing.
#[inline(never)]
fn check_document(body: &[u8]) -> Result<(), Problem> {
    check_size(body)?;
    let text = std::str::from_utf8(body).map_err(|e| {
        Problem::new(ProblemKind::MalformedBody, format!("the body is not valid UTF-8 (at byte {})", e.valid_up_to()))
            .at("")
    })?;
    // Well-formedness first, so a syntax error anywhere is a 400 even where the
    // beginning of the body would already fail to fit `T`. A name twice in one object
    // is refused here too: parsers disagree on which value holds (serde_json keeps the
    // last), so such a body means different things to different readers.
    serde_json::from_str::<Unique>(text).map_err(|e| {
        let what = if e.is_data() { e.to_string() } else { "malformed JSON".to_string() };
        let what = what.split(" at line ").next().unwrap_or(&what).to_string();
        Problem::new(ProblemKind::MalformedBody, format!("{what} at line {}, column {}", e.line(), e.column())).at("")
    })?;
    Ok(())
}

pub(super) fn json_problem(err: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let mut pointer = pointer_of(err.path());
    let inner = err.inner();
    match inner.classify() {
        // The body is well-formed (check_document), so the reader's one syntax error
        // here is an array with more elements than the type at `pointer` takes (a
        // struct or tuple written as an array): the value does not fit, a 422.
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof | serde_json::error::Category::Io => {
            Problem::invalid_field(pointer, "invalid length, expected fewer elements in array")
        }
        serde_json::error::Category::Data => {
            // serde's message without its " at line x column y" suffix.
            let full = inner.to_string();
            let message = full.split(" at line ").next().unwrap_or(&full).to_string();
            for marker in ["missing field `", "unknown field `"] {
                if let Some(rest) = message.strip_prefix(marker) {
                    let name = rest.split('`').next().unwrap_or("");
                    if !pointer.ends_with(&format!("/{}", escape(name))) {
                        pointer = format!("{pointer}/{}", escape(name));
                    }
                }
            }
            let detail = if message.starts_with("unknown field") {
                let name = message.split('`').nth(1).unwrap_or("");
                format!("unknown field `{name}`")
            } else {
                message
            };
            Problem::invalid_field(pointer, detail)
        }
    }
}

/// A serde path as a JSON pointer (RFC 6901).
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => pointer.push_str(&format!("/{}", escape(key))),
            Segment::Enum { variant } => pointer.push_str(&format!("/{}", escape(variant))),
            Segment::Unknown => {}
        }
    }
    pointer
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON document whose objects never repeat a name; read only to check it, so it
/// keeps nothing but the names of the objects it is inside.
struct Unique;

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut names = std::collections::BTreeSet::new();
        while let Some(name) = map.next_key::<String>()? {
            map.next_value::<Unique>()?;
            if names.contains(&name) {
                return Err(serde::de::Error::custom(format!("duplicate field `{name}`")));
            }
            names.insert(name);
        }
        Ok(Unique)
    }
}
