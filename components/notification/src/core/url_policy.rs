//! Which webhook URLs we accept: HTTPS to public hosts, nothing that points inward.
//!
//! A subscription URL is chosen by an admin, but a mistyped or malicious one must not
//! turn the notification component into a way to call our own components, the cloud
//! metadata service or anything on the private network (SSRF). Spin's
//! `allowed_outbound_hosts` is the outer fence; this is the inner one, checked when a
//! subscription is saved and again before every send.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest URL we store.
pub const MAX_URL_LEN: usize = 2048;

/// The hosts an operator allows for local use (variable `webhook_allowed_http_hosts`):
/// they may use plain HTTP and may be loopback or private addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalHosts(Vec<String>);

impl LocalHosts {
    /// From a comma-separated list of host names or IP literals (no ports).
    pub fn parse(text: &str) -> Self {
        LocalHosts(
            text.split(',')
                .map(|h| h.trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        )
    }

    fn allows(&self, host: &str) -> bool {
        self.0.iter().any(|h| h == host)
    }
}

/// Checks a webhook URL; the error says what is wrong in words an admin can act on.
pub fn check(url: &str, local: &LocalHosts) -> Result<http::Uri, String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters"));
    }
    if url.chars().any(|c| !c.is_ascii() || c.is_ascii_control()) {
        // Shown to admins and sent as a request line: ASCII only, so a bidi override
        // cannot make it read as another address (percent-encode other characters).
        return Err("must be ASCII without control characters (percent-encode others; IDN hosts in punycode)".into());
    }
    if url.contains('#') {
        return Err("must not contain a fragment".into());
    }
    let uri: http::Uri = url.parse().map_err(|_| "is not a valid absolute URL".to_string())?;
    let scheme = uri.scheme_str().ok_or("must be an absolute https:// URL")?.to_ascii_lowercase();
    let authority = uri.authority().ok_or("must name a host")?;
    if authority.as_str().contains('@') {
        return Err("must not contain credentials (user:password@); the signature authenticates us".into());
    }
    let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if host.is_empty() {
        return Err("must name a host".into());
    }
    if host.ends_with('.') || host.starts_with('.') || host.contains("..") {
        // `example.com.` names the same host as `example.com` but slips past a list
        // of allowed or refused names; empty labels are no host at all.
        return Err("must name a host without a trailing dot or empty labels".into());
    }
    let literal = host.parse::<IpAddr>().ok();
    if literal.is_none() && numeric_looking(&host) {
        return Err(
            "must name a host by its DNS name or a canonical IP address (no numeric forms like 127.1 or 0x7f.1)".into(),
        );
    }
    let allowed_locally = local.allows(&host);
    match scheme.as_str() {
        "https" => {}
        "http" if allowed_locally => {}
        "http" => return Err("must use https:// (plain http only for hosts the operator allows)".into()),
        _ => return Err("must use https://".into()),
    }
    if !allowed_locally {
        if let Some(ip) = literal {
            if is_inward(ip) {
                return Err("must not point to a loopback, private, link-local or reserved address".into());
            }
        } else if host == "localhost" || host.ends_with(".localhost") || host == "self" || host.ends_with(".internal") {
            // `.spin.internal` would reach our own components; `.internal` is never public.
            return Err("must not point to a local or internal host".into());
        }
    }
    Ok(uri)
}

/// Whether a host that is not a canonical IP literal would still be read as an IPv4
/// address by some URL parser or resolver: the WHATWG URL standard reads a host as IPv4
/// when its last label is a number (decimal `2130706433`, octal `0177`, hex `0x7f`),
/// and `inet_aton` reads `127.1` and `0x7f.1` the same way. Such a host is refused, so
/// an address is only ever given in the one form the inward check reads.
fn numeric_looking(host: &str) -> bool {
    let last = host.rsplit('.').next().unwrap_or(host);
    let decimal = !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit());
    let hex = last
        .strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()));
    // A host of nothing but digits, hex digits, `x` and dots is numeric in some form too.
    let all_numeric_chars = host.bytes().all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b'x' || b == b'X')
        && host.bytes().any(|b| b.is_ascii_digit())
        && host.split('.').all(|label| label.bytes().next().is_some_and(|b| b.is_ascii_digit()));
    decimal || hex || all_numeric_chars
}

fn is_inward(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_inward_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_inward_v4(v4);
            }
            let segments = v6.segments();
            let first = segments[0];
            v6.is_loopback()
                // IPv4-compatible (`::a.b.c.d`, deprecated): an IPv4 address in disguise.
                || segments[..6] == [0; 6]
                // NAT64, well-known (64:ff9b::/96) and local-use (64:ff9b:1::/48) prefixes:
                // a translator turns these into any IPv4 address, inward ones included.
                || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
                || segments[..3] == [0x64, 0xff9b, 1]
                || first == 0x2002 // 6to4 (2002::/16): an embedded IPv4 address again
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || v6 == Ipv6Addr::LOCALHOST
        }
    }
}

fn is_inward_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 198 && (18..20).contains(&b)) // benchmarking (198.18.0.0/15)
        || a >= 240
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        check(url, &LocalHosts::default()).is_err()
    }

    #[test]
    fn https_to_public_hosts_is_accepted() {
        assert!(check("https://hooks.example.org/weerbaar?token=x", &LocalHosts::default()).is_ok());
        assert!(check("https://203.0.114.7:8443/hook", &LocalHosts::default()).is_ok());
    }

    #[test]
    fn plain_http_credentials_and_inward_addresses_are_refused() {
        for url in [
            "http://hooks.example.org/",
            "ftp://hooks.example.org/",
            "https://user:pw@hooks.example.org/",
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://192.168.1.1/",
            "https://172.16.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://0.0.0.0/",
            "https://localhost/",
            "https://triage.spin.internal/",
            "https://hooks.example.org/#frag",
            "https://hooks.example.org/\u{202e}koohn",
            "https://hooks.example.org/a\u{0}",
            "https://münchen.example/",
            "not a url",
            "/relative",
        ] {
            assert!(refused(url), "{url}");
        }
    }

    #[test]
    fn numeric_looking_hosts_are_refused() {
        for host in [
            "2130706433",
            "0177.0.0.1",
            "127.1",
            "0x7f.1",
            "0x7f000001",
            "0x7F.0.0.1",
            "127.0.0.01",
            "1.2.3.4.5",
            "017700000001",
            "8.8.8.0x8",
            "example.0x7f",
            "example.123",
        ] {
            assert!(refused(&format!("https://{host}/hook")), "{host}");
            // Not even for a host the operator allows by that name.
            assert!(check(&format!("http://{host}/"), &LocalHosts::parse(host)).is_err(), "{host}");
        }
        // A canonical public dotted quad and names with numeric labels are fine.
        assert!(!refused("https://8.8.8.8/hook"));
        assert!(!refused("https://123.example.org/hook"));
        assert!(!refused("https://0x7f.example.org/hook"));
        assert!(!refused("https://deadbeef.example.org/hook"));
    }

    #[test]
    fn trailing_dots_and_empty_labels_are_refused() {
        for url in [
            "https://example.com./",
            "https://hooks.example.org.:443/",
            "https://a..example.org/",
            "https://.example.org/",
        ] {
            assert!(refused(url), "{url}");
        }
        assert!(check("http://localhost./", &LocalHosts::parse("localhost")).is_err());
    }

    #[test]
    fn nat64_6to4_and_ipv4_compatible_prefixes_are_refused() {
        for url in [
            "https://[64:ff9b::7f00:1]/",
            "https://[64:ff9b::808:808]/",
            "https://[64:ff9b:1::a00:1]/",
            "https://[64:ff9b:1:ffff::1]/",
            "https://[2002:7f00:1::1]/",
            "https://[2002::]/",
            "https://[::7f00:1]/",
            "https://[::8.8.8.8]/",
        ] {
            assert!(refused(url), "{url}");
        }
        // Neighbours of those prefixes are public.
        assert!(!refused("https://[64:ff9b:2::1]/"));
        assert!(!refused("https://[2003::1]/"));
        assert!(!refused("https://[2001:db9::1]/"));
    }

    #[test]
    fn the_benchmarking_network_is_refused() {
        for url in ["https://198.18.0.1/", "https://198.19.255.254/"] {
            assert!(refused(url), "{url}");
        }
        assert!(!refused("https://198.17.255.255/"));
        assert!(!refused("https://198.20.0.1/"));
    }

    #[test]
    fn operator_allowed_local_hosts_may_use_http_and_loopback() {
        let local = LocalHosts::parse("127.0.0.1, localhost");
        assert!(check("http://127.0.0.1:8080/hook", &local).is_ok());
        assert!(check("http://localhost:9000/", &local).is_ok());
        assert!(check("http://10.0.0.1/", &local).is_err());
        assert!(check("http://user:pw@127.0.0.1/", &local).is_err());
    }
}
