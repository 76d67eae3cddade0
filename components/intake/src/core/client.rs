//! Who the client is, for the abuse limits: the direct peer Spin reports, or, behind
//! proxies the operator trusts, the address those proxies say they served.
//!
//! Forwarding headers are written by whoever sends the request, so they are read only
//! when the direct peer is a trusted proxy, and then only from the right: each trusted
//! proxy appends the address it was called from, so the right-most address that is not
//! itself a trusted proxy is the first one a client cannot forge.

use http::HeaderMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A range of addresses in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare
/// address is a range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Parses one range; the error never repeats the input.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().map_err(|_| "is not an IP address range like 10.0.0.0/8".to_string())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("has a prefix length that is not a number from 0 to {max}"))?,
        };
        Ok(IpRange { network, prefix })
    }

    /// Whether `ip` lies in this range (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network.to_canonical(), ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The proxies whose forwarding headers we believe (variable `trusted_proxies`):
/// comma-separated ranges, empty for none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpRange>);

impl TrustedProxies {
    /// Parses the variable. One malformed entry refuses the whole list: trusting a
    /// different set of proxies than the operator wrote would let clients forge
    /// their address, or lump every reporter into the proxy's one bucket.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(TrustedProxies::default());
        }
        let ranges = text
            .split(',')
            .enumerate()
            .map(|(n, entry)| IpRange::parse(entry.trim()).map_err(|reason| format!("entry {} {reason}", n + 1)));
        Ok(TrustedProxies(ranges.collect::<Result<_, _>>()?))
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(ip))
    }
}

/// The client a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// A known address.
    Address(IpAddr),
    /// No usable address: the request is a bucket of its own.
    Unidentified,
}

impl Client {
    /// Finds the client of a request with these headers.
    pub fn of(headers: &HeaderMap, trusted: &TrustedProxies) -> Client {
        let Some(peer) = header_text(headers, "spin-client-addr").as_deref().and_then(parse_node) else {
            return Client::Unidentified;
        };
        if !trusted.trusts(peer) {
            return Client::Address(peer);
        }
        let forwarded = header_text(headers, "forwarded").map(|v| forwarded_for(&v));
        let x_forwarded_for = header_text(headers, "x-forwarded-for").map(|v| v.split(',').map(parse_node).collect());
        let said = |hops: Option<Vec<Option<IpAddr>>>| hops.filter(|h| !h.is_empty()).map(|h| behind(&h, trusted));
        match (said(forwarded), said(x_forwarded_for)) {
            (None, None) => Client::Address(peer),
            (Some(client), None) | (None, Some(client)) => client,
            (Some(a), Some(b)) if a == b => a,
            // The proxy wrote one of them and the client the other, and we cannot tell
            // which: count the request against the proxy itself, never against an
            // address the client may have chosen (nor as a bucket of its own).
            (Some(_), Some(_)) => Client::Address(peer),
        }
    }

    /// The bucket this client is counted in, as text to be hashed; `None` for a
    /// client without an address. IPv6 clients are counted by their /64, which one
    /// subscriber or machine usually has to itself (and can change at will within).
    pub fn bucket(&self) -> Option<String> {
        match self {
            Client::Address(address) => match address.to_canonical() {
                IpAddr::V4(ip) => Some(format!("ipv4/{ip}")),
                IpAddr::V6(ip) => {
                    let network = Ipv6Addr::from(u128::from(ip) & (u128::MAX << 64));
                    Some(format!("ipv6/{network}/64"))
                }
            },
            Client::Unidentified => None,
        }
    }
}

/// Every value of a header, joined as one list (a header sent twice is one list).
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// The client behind a chain of hops (left: farthest): the right-most hop that is not
/// a trusted proxy; unidentified if that hop is unreadable; the left-most hop if every
/// hop is trusted.
fn behind(hops: &[Option<IpAddr>], trusted: &TrustedProxies) -> Client {
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if trusted.trusts(*ip) => continue,
            Some(ip) => return Client::Address(*ip),
            None => return Client::Unidentified,
        }
    }
    hops.first().copied().flatten().map(Client::Address).unwrap_or(Client::Unidentified)
}

/// The `for=` node of each element of an RFC 7239 `Forwarded` header, in order;
/// `None` for an element without one, or with `unknown` or an obfuscated name.
fn forwarded_for(value: &str) -> Vec<Option<IpAddr>> {
    split_outside_quotes(value, ',')
        .iter()
        .map(|element| {
            split_outside_quotes(element, ';').iter().find_map(|pair| {
                let (name, node) = pair.split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then(|| parse_node(node))
            })?
        })
        .collect()
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// One address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`, possibly quoted. Anything else (`unknown`, `_hidden`) is `None`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let node = text.trim().trim_matches('"');
    let ip = if let Some(rest) = node.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || port(after.strip_prefix(':')?)) {
            return None;
        }
        IpAddr::V6(inside.parse().ok()?)
    } else if let Ok(ip) = node.parse::<IpAddr>() {
        ip
    } else {
        let (host, p) = node.split_once(':')?;
        if !port(p) {
            return None;
        }
        IpAddr::V4(host.parse::<Ipv4Addr>().ok()?)
    };
    Some(ip.to_canonical())
}

fn port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}
