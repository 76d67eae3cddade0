//! `allowed_outbound_hosts`: which URLs a component may call.

use anyhow::{bail, Context, Result};

/// One entry such as `https://*.example.org`, `http://127.0.0.1:8080`,
/// `http://self` or `http://triage.spin.internal` (after template expansion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: SchemePattern,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SchemePattern {
    Any,
    Is(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.org`: strict subdomains of the suffix.
    SubdomainsOf(String),
    Is(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    /// No port written: the scheme's default port.
    Default,
    Any,
    Range(u16, u16),
}

/// The parts of a request URL the policy looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl AllowedHost {
    pub fn parse(entry: &str) -> Result<AllowedHost> {
        let (scheme, rest) = entry
            .split_once("://")
            .with_context(|| format!("allowed outbound host {entry:?} needs a scheme (`http://...`)"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            bail!("allowed outbound host {entry:?} must not contain a path");
        }
        let scheme = match scheme {
            "*" => SchemePattern::Any,
            s if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '+') => {
                SchemePattern::Is(s.to_ascii_lowercase())
            }
            s => bail!("invalid scheme {s:?} in allowed outbound host {entry:?}"),
        };
        let (host, port) = match rest.rsplit_once(':') {
            // An IPv6 literal's colons are inside brackets.
            Some((h, p)) if !p.contains(']') => (h, Some(p)),
            _ => (rest, None),
        };
        if host.is_empty() {
            bail!("allowed outbound host {entry:?} has no host");
        }
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            HostPattern::SubdomainsOf(suffix.to_ascii_lowercase())
        } else if host.contains('*') {
            bail!("allowed outbound host {entry:?}: `*` may only stand for a whole host or a leading subdomain");
        } else {
            HostPattern::Is(host.to_ascii_lowercase())
        };
        let port = match port {
            None => PortPattern::Default,
            Some("*") => PortPattern::Any,
            Some(p) => match p.split_once("..") {
                Some((a, b)) => PortPattern::Range(parse_port(a, entry)?, parse_port(b, entry)?),
                None => {
                    let n = parse_port(p, entry)?;
                    PortPattern::Range(n, n)
                }
            },
        };
        if let (SchemePattern::Is(s), PortPattern::Default) = (&scheme, &port) {
            if default_port(s).is_none() {
                bail!("allowed outbound host {entry:?} needs a port for scheme {s:?}");
            }
        }
        Ok(AllowedHost { scheme, host, port })
    }

    pub fn allows(&self, d: &Destination) -> bool {
        let scheme_ok = match &self.scheme {
            SchemePattern::Any => true,
            SchemePattern::Is(s) => *s == d.scheme,
        };
        let host = d.host.to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::SubdomainsOf(suffix) => {
                host.strip_suffix(suffix.as_str()).is_some_and(|head| head.len() > 1 && head.ends_with('.'))
            }
            HostPattern::Is(h) => *h == host,
        };
        let port_ok = match self.port {
            PortPattern::Default => default_port(&d.scheme) == Some(d.port),
            PortPattern::Any => true,
            PortPattern::Range(a, b) => (a..=b).contains(&d.port),
        };
        scheme_ok && host_ok && port_ok
    }

    /// `http://self`: requests back into this app by relative URL.
    pub fn is_self(&self) -> bool {
        self.host == HostPattern::Is("self".to_string())
    }
}

fn parse_port(p: &str, entry: &str) -> Result<u16> {
    p.parse().with_context(|| format!("invalid port {p:?} in allowed outbound host {entry:?}"))
}

/// A component's whole list.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    entries: Vec<AllowedHost>,
}

impl OutboundPolicy {
    pub fn parse(entries: &[String]) -> Result<OutboundPolicy> {
        Ok(OutboundPolicy { entries: entries.iter().map(|e| AllowedHost::parse(e)).collect::<Result<_>>()? })
    }

    pub fn allows(&self, d: &Destination) -> bool {
        self.entries.iter().any(|e| e.allows(d))
    }

    pub fn allows_self(&self) -> bool {
        self.entries.iter().any(AllowedHost::is_self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(scheme: &str, host: &str, port: u16) -> Destination {
        Destination { scheme: scheme.into(), host: host.into(), port }
    }

    #[test]
    fn default_ports_and_explicit_ports() {
        let a = AllowedHost::parse("http://127.0.0.1:8080").unwrap();
        assert!(a.allows(&dest("http", "127.0.0.1", 8080)));
        assert!(!a.allows(&dest("http", "127.0.0.1", 8081)));
        assert!(!a.allows(&dest("https", "127.0.0.1", 8080)));
        let b = AllowedHost::parse("https://api.example.org").unwrap();
        assert!(b.allows(&dest("https", "api.example.org", 443)));
        assert!(!b.allows(&dest("https", "api.example.org", 8443)));
    }

    #[test]
    fn subdomain_wildcards_are_strict() {
        let a = AllowedHost::parse("http://*.spin.internal").unwrap();
        assert!(a.allows(&dest("http", "triage.spin.internal", 80)));
        assert!(!a.allows(&dest("http", "spin.internal", 80)));
        assert!(!a.allows(&dest("http", "evilspin.internal", 80)));
    }

    #[test]
    fn paths_are_rejected() {
        assert!(AllowedHost::parse("http://a.example/x").is_err());
        assert!(AllowedHost::parse("http://a.example/").is_ok());
        assert!(AllowedHost::parse("a.example").is_err());
    }
}
