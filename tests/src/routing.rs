//! Spin's HTTP routing: exact routes beat wildcards, the longest wildcard
//! prefix wins, `:name` segments capture one segment, and among identical
//! routes the first declared is used.

use crate::manifest::{HttpTrigger, TriggerRoute};
use std::collections::HashSet;

/// A compiled public route.
#[derive(Debug, Clone)]
pub struct Route {
    /// As written in the manifest (`/intake/...`).
    pub raw: String,
    pub component: String,
    segments: Vec<Segment>,
    wildcard: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Named(String),
}

/// The outcome of routing one path: what Spin tells the component about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub component: String,
    /// `spin-matched-route` and `spin-raw-component-route`: the route as written.
    pub raw_route: String,
    /// `spin-component-route`: the route without its trailing wildcard.
    pub component_route: String,
    /// `spin-path-info`: what the trailing wildcard matched, or empty.
    pub path_info: String,
    /// `spin-path-match-<name>` values.
    pub named: Vec<(String, String)>,
}

impl Route {
    pub fn parse(raw: &str, component: &str) -> Route {
        let trimmed = raw.trim_end_matches('/');
        let (body, wildcard) = match trimmed.strip_suffix("/...") {
            Some(prefix) => (prefix, true),
            None if trimmed == "..." => ("", true),
            None => (trimmed, false),
        };
        let segments = body
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix(':') {
                Some(name) => Segment::Named(name.to_string()),
                None => Segment::Literal(s.to_string()),
            })
            .collect();
        Route { raw: raw.to_string(), component: component.to_string(), segments, wildcard }
    }

    /// The route without the wildcard (`/intake` for `/intake/...`).
    pub fn component_route(&self) -> String {
        let mut s = String::new();
        for seg in &self.segments {
            s.push('/');
            match seg {
                Segment::Literal(l) => s.push_str(l),
                Segment::Named(n) => {
                    s.push(':');
                    s.push_str(n);
                }
            }
        }
        if s.is_empty() && !self.wildcard {
            s.push('/');
        }
        s
    }

    /// Matches a request path (without query).
    pub fn matches(&self, path: &str) -> Option<RouteMatch> {
        let mut rest = path;
        let mut named = Vec::new();
        for seg in &self.segments {
            let after_slash = rest.strip_prefix('/')?;
            let (this, tail) = match after_slash.find('/') {
                Some(i) => (&after_slash[..i], &after_slash[i..]),
                None => (after_slash, ""),
            };
            match seg {
                Segment::Literal(l) if l == this => {}
                Segment::Named(n) if !this.is_empty() => named.push((n.clone(), this.to_string())),
                _ => return None,
            }
            rest = tail;
        }
        let path_info = if self.wildcard {
            rest.to_string()
        } else if rest.is_empty() || (self.segments.is_empty() && rest == "/") {
            String::new()
        } else {
            return None;
        };
        Some(RouteMatch {
            component: self.component.clone(),
            raw_route: self.raw.clone(),
            component_route: self.component_route(),
            path_info,
            named,
        })
    }

    /// Higher is more specific: exact routes first, then the longest prefix.
    fn rank(&self) -> (bool, usize) {
        (!self.wildcard, self.segments.len())
    }
}

/// All public routes of the running components.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// Builds the router for the triggers of the `running` components. Returns
    /// the warnings Spin would print (duplicate routes).
    pub fn new(triggers: &[HttpTrigger], running: &HashSet<String>) -> (Router, Vec<String>) {
        let mut routes: Vec<Route> = Vec::new();
        let mut warnings = Vec::new();
        for t in triggers {
            if !running.contains(&t.component) {
                continue;
            }
            let TriggerRoute::Public(raw) = &t.route else {
                continue;
            };
            let route = Route::parse(raw, &t.component);
            if let Some(first) = routes.iter().find(|r| r.segments == route.segments && r.wildcard == route.wildcard) {
                warnings.push(format!(
                    "route {raw:?} of component `{}` duplicates the route of `{}` and will never be used",
                    t.component, first.component
                ));
                continue;
            }
            routes.push(route);
        }
        (Router { routes }, warnings)
    }

    /// The most specific route matching `path`.
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        let mut best: Option<(&Route, RouteMatch)> = None;
        for r in &self.routes {
            if let Some(m) = r.matches(path) {
                if best.as_ref().is_none_or(|(b, _)| r.rank() > b.rank()) {
                    best = Some((r, m));
                }
            }
        }
        best.map(|(_, m)| m)
    }

    /// The route of a component, for requests chained to it directly.
    pub fn route_of(&self, component: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.component == component)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        let triggers: Vec<HttpTrigger> = routes
            .iter()
            .map(|(r, c)| HttpTrigger { component: c.to_string(), route: TriggerRoute::Public(r.to_string()) })
            .collect();
        let running = routes.iter().map(|(_, c)| c.to_string()).collect();
        Router::new(&triggers, &running).0
    }

    #[test]
    fn exact_beats_wildcard_and_longest_prefix_wins() {
        let r = router(&[("/a/...", "wide"), ("/a/b/...", "narrow"), ("/a/b/c", "exact")]);
        assert_eq!(r.route("/a/b/c").unwrap().component, "exact");
        assert_eq!(r.route("/a/b/d").unwrap().component, "narrow");
        assert_eq!(r.route("/a/x").unwrap().component, "wide");
        assert_eq!(r.route("/a").unwrap().component, "wide");
        assert!(r.route("/z").is_none());
    }

    #[test]
    fn wildcard_path_info_and_named_segments() {
        let r = router(&[("/cases/:id/...", "c")]);
        let m = r.route("/cases/42/notes/1").unwrap();
        assert_eq!(m.path_info, "/notes/1");
        assert_eq!(m.component_route, "/cases/:id");
        assert_eq!(m.named, vec![("id".to_string(), "42".to_string())]);
        assert!(r.route("/cases//x").is_none());
    }

    #[test]
    fn root_wildcard_matches_everything() {
        let r = router(&[("/...", "all")]);
        assert_eq!(r.route("/").unwrap().path_info, "/");
        assert_eq!(r.route("/x/y").unwrap().path_info, "/x/y");
    }
}
