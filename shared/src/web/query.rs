//! Query strings and `application/x-www-form-urlencoded` bodies, percent-decoded.

use super::Request;

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
