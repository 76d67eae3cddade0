//! Query strings and `application/x-www-form-urlencoded` bodies, percent-decoded.

use super::Request;
use crate::problem::{Problem, ProblemKind};

/// The query parameters, percent-decoded.
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    urlencoded_pairs(req.uri().query().unwrap_or(""))
}

/// The query parameters of an API request, percent-decoded, each name at most once: a
/// repeated parameter (`?limit=1&limit=500`) is a 400 naming it, since readers differ
/// on which value holds (first, last, all).
pub fn query_params(req: &Request) -> Result<Vec<(String, String)>, Problem> {
    let pairs = query_pairs(req);
    for (i, (name, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(Problem::new(
                ProblemKind::InvalidParameter,
                format!("the query parameter `{name}` is given twice"),
            )
            .at(name.as_str()));
        }
    }
    Ok(pairs)
}

/// The pairs of `application/x-www-form-urlencoded` text (a query, or an HTML form's
/// body), percent-decoded, `+` as a space, in order.
pub fn urlencoded_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// [`urlencoded_pairs`] for forms that must hold text: a name or value that is not
/// UTF-8 once percent-decoded (`%FF`) is an error instead of being read as U+FFFD.
/// The error is the field's name when only its value is at fault, `None` when the
/// name itself is not UTF-8.
pub fn urlencoded_text_pairs(text: &str) -> Result<Vec<(String, String)>, Option<String>> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let name = String::from_utf8(percent_decode_bytes(k)).map_err(|_| None)?;
            let value = String::from_utf8(percent_decode_bytes(v)).map_err(|_| Some(name.clone()))?;
            Ok((name, value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(text)).into_owned()
}

fn percent_decode_bytes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            // Two hex digits exactly (`u8::from_str_radix` alone would take `%+1`).
            b'%' if i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii hex digits");
                out.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The query parameter that asks for the next page; every listing answers the value to
/// send in `next_cursor` (`null` on the last page).
pub const CURSOR: &str = "cursor";

/// A query string read into a typed value: [`read_query`] starts from `Default` and
/// hands every parameter to [`FromQuery::take`]. Defaults that depend on the request
/// (the time now, say) are left as `None` and resolved by the handler.
pub trait FromQuery: Default {
    /// Takes parameter `name`. `Ok(false)` when `name` is not one of ours (refused as
    /// an unknown parameter, so a typo is not silently ignored); `Err(detail)` says what
    /// is wrong with `value`.
    fn take(&mut self, name: &str, value: &str) -> Result<bool, String>;
}

/// Reads the request's query string into `T`: 400 `invalid-parameter` naming the
/// parameter for an unknown name, a bad value or a name given twice.
pub fn read_query<T: FromQuery>(req: &Request) -> Result<T, Problem> {
    parse_query(&query_params(req)?)
}

/// As [`read_query`], from pairs already decoded.
pub fn parse_query<T: FromQuery>(pairs: &[(String, String)]) -> Result<T, Problem> {
    let mut query = T::default();
    for (name, value) in pairs {
        let bad = |detail: String| Problem::new(ProblemKind::InvalidParameter, detail).at(name.as_str());
        if !query.take(name, value).map_err(bad)? {
            return Err(bad("unknown parameter".into()));
        }
    }
    Ok(query)
}

/// A page size: a whole number from 1 to `max`.
pub fn page_limit(value: &str, max: u64) -> Result<u64, String> {
    value
        .parse()
        .ok()
        .filter(|l| (1..=max).contains(l))
        .ok_or_else(|| format!("must be a whole number from 1 to {max}"))
}

/// `true` or `false`.
pub fn yes_or_no(value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be true or false".into()),
    }
}
