//! Helpers shared by the host's own tests: the probe app and a blocking client.
#![allow(dead_code)]

use std::path::PathBuf;
use weerbaar_tests::{Options, TestApp};

/// The fixture manifest (`tests/fixtures/probe/spin.toml`).
pub fn probe_manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/probe/spin.toml")
}

/// Options for the probe app with its required secret set.
pub fn probe_options() -> Options {
    let mut o = Options::new(probe_manifest()).variable("secret_value", "s3cr3t-value");
    o.store_labels = vec!["other".to_string()];
    o.environment_variables = false;
    o
}

pub fn start(options: Options) -> TestApp {
    TestApp::start(options).expect("probe app starts")
}

/// What a client got back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A `name: value` line of the probe's echo.
    pub fn echoed(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}: ");
        self.body
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut r = r.expect("request reaches the host");
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    Reply {
        status: r.status().as_u16(),
        headers,
        body: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

pub fn get(app: &TestApp, path_and_query: &str) -> Reply {
    reply(agent().get(format!("{}{path_and_query}", app.url())).call())
}

pub fn post(app: &TestApp, path_and_query: &str, body: &str) -> Reply {
    reply(
        agent()
            .post(format!("{}{path_and_query}", app.url()))
            .send(body),
    )
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
