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
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A `name: value` line of the probe's echo.
    pub fn echoed(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}: ");
        self.body.lines().find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut r = r.expect("request reaches the host");
    let headers = r.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
    Reply { status: r.status().as_u16(), headers, body: r.body_mut().read_to_string().unwrap_or_default() }
}

pub fn get(app: &TestApp, path_and_query: &str) -> Reply {
    reply(agent().get(format!("{}{path_and_query}", app.url())).call())
}

pub fn post(app: &TestApp, path_and_query: &str, body: &str) -> Reply {
    reply(agent().post(format!("{}{path_and_query}", app.url())).send(body))
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A tiny HTTP/1.1 server on 127.0.0.1 that records every request it gets
/// and answers `200 received`: a stand-in for a webhook endpoint.
pub struct Receiver {
    pub port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Receiver {
    pub fn start() -> Receiver {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seen, stopped) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(mut conn) = conn else { continue };
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head, then as much body as content-length says.
                loop {
                    let n = conn.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        let chunked = text[..end].to_ascii_lowercase().contains("transfer-encoding: chunked");
                        if (chunked && text.ends_with("0\r\n\r\n")) || (!chunked && data.len() >= end + 4 + len) {
                            break;
                        }
                    }
                }
                seen.lock().unwrap().push(String::from_utf8_lossy(&data).to_string());
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\n\r\nreceived");
            }
        });
        Receiver { port, requests, stop }
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}
