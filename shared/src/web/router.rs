//! The route table every component dispatches with: path templates written exactly as
//! in `openapi.yaml`, 404 for an unknown path, 405 with `Allow` for another method.

use crate::problem::Problem;

/// A component's routes: `(method, path template, endpoint)`. Templates are written
/// exactly as in `openapi.yaml` (`/triage/cases/{case_id}`), so the contract test can
/// compare the two.
pub type RouteTable<E> = [(&'static str, &'static str, E)];

/// The named segments of a matched path.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PathParams(Vec<(&'static str, String)>);

impl PathParams {
    /// The value of segment `{name}`.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
}

fn match_template(template: &'static str, path: &str) -> Option<PathParams> {
    let mut params = PathParams::default();
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) if ts.starts_with('{') && ts.ends_with('}') && !ps.is_empty() => {
                params.0.push((&ts[1..ts.len() - 1], ps.to_string()));
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

/// Finds the endpoint for a request: 404 for an unknown path, 405 (with `Allow`) for
/// a known path with another method.
pub fn route<E: Copy>(table: &RouteTable<E>, method: &http::Method, path: &str) -> Result<(E, PathParams), Problem> {
    let mut allowed: Vec<&'static str> = Vec::new();
    for (m, template, endpoint) in table {
        if let Some(params) = match_template(template, path) {
            if *m == method.as_str() {
                return Ok((*endpoint, params));
            }
            allowed.push(m);
        }
    }
    if allowed.is_empty() {
        Err(Problem::not_found())
    } else {
        Err(Problem::method_not_allowed(allowed.join(", ")))
    }
}
