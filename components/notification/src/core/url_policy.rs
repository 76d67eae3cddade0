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
    let allowed_locally = local.allows(&host);
    match scheme.as_str() {
        "https" => {}
        "http" if allowed_locally => {}
        "http" => return Err("must use https:// (plain http only for hosts the operator allows)".into()),
        _ => return Err("must use https://".into()),
    }
    if !allowed_locally {
        if let Ok(ip) = host.parse::<IpAddr>() {
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

fn is_inward(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_inward_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_inward_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
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
            "not a url",
            "/relative",
        ] {
            assert!(refused(url), "{url}");
        }
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
