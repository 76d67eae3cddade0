//! Query strings and `application/x-www-form-urlencoded` bodies, percent-decoded.

use super::Request;
use crate::problem::{Problem, ProblemKind};

/// The query parameters, percent-decoded.
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    urlencoded_pairs(req.uri().query().unwrap_or(""))
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

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
/// parameter for an unknown name or a bad value.
pub fn read_query<T: FromQuery>(req: &Request) -> Result<T, Problem> {
    parse_query(&query_pairs(req))
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
