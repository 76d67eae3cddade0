//! A tiny HTTP/1.1 webhook receiver on 127.0.0.1 for the end-to-end tests: it records
//! every request, answers as scripted (status, `Retry-After`, delay), and checks
//! signatures the way a Standard Webhooks library does, independently of our signing code.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use shared::crypto::{base64_decode, base64_encode};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One webhook as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// What a Standard Webhooks library does: HMAC-SHA256 of `id.timestamp.body` with
    /// the decoded secret, compared with each `v1,` signature in the header.
    pub fn verifies(&self, secret: &str) -> bool {
        let key = base64_decode(secret.strip_prefix("whsec_").expect("whsec_ secret")).unwrap();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", self.id, self.timestamp).as_bytes());
        mac.update(&self.body);
        let expected = format!("v1,{}", base64_encode(&mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

#[derive(Default)]
pub struct ReceiverState {
    pub hits: Vec<Hit>,
    /// (status, retry-after) answered next; then `otherwise`.
    pub queue: VecDeque<(u16, Option<&'static str>)>,
    pub otherwise: Option<(u16, Option<&'static str>)>,
    pub delay: Duration,
}

/// A tiny HTTP/1.1 webhook receiver on 127.0.0.1.
#[derive(Clone)]
pub struct Receiver {
    pub port: u16,
    pub state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        Receiver::listen(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    pub fn on_port(port: u16) -> Receiver {
        Receiver::listen(TcpListener::bind(("127.0.0.1", port)).unwrap())
    }

    fn listen(listener: TcpListener) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let s = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || serve(stream, &s));
            }
        });
        Receiver { port, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn answer(&self, status: u16, retry_after: Option<&'static str>) {
        let mut s = self.state.lock().unwrap();
        s.queue.clear();
        s.otherwise = Some((status, retry_after));
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.lock().unwrap().hits.clone()
    }

    pub fn hits_at(&self, path: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path == path).collect()
    }

    /// The event types received so far for one case, in order of arrival.
    pub fn types_for(&self, case: &str) -> Vec<String> {
        self.hits()
            .iter()
            .filter_map(|h| serde_json::from_slice::<Value>(&h.body).ok())
            .filter(|b| b["data"]["case_reference"] == case)
            .map(|b| b["type"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<ReceiverState>) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let chunked = header("transfer-encoding").eq_ignore_ascii_case("chunked");
    let length: usize = header("content-length").parse().unwrap_or(0);
    let complete = |buf: &[u8]| {
        if chunked {
            buf[header_end..].windows(5).any(|w| w == b"0\r\n\r\n")
        } else {
            buf.len() >= header_end + length
        }
    };
    while !complete(&buf) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = if chunked {
        dechunk(&buf[header_end..])
    } else {
        buf[header_end..(header_end + length).min(buf.len())].to_vec()
    };
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let hit = Hit {
        path,
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp").parse().unwrap_or(0),
        signature: header("webhook-signature"),
        body,
        at: Instant::now(),
    };
    let (reply, delay) = {
        let mut s = state.lock().unwrap();
        s.hits.push(hit);
        (s.queue.pop_front().or(s.otherwise).unwrap_or((204, None)), s.delay)
    };
    std::thread::sleep(delay);
    let (status, retry_after) = reply;
    let extra = retry_after.map(|r| format!("Retry-After: {r}\r\n")).unwrap_or_default();
    let response = format!("HTTP/1.1 {status} Answer\r\nContent-Length: 8\r\nConnection: close\r\n{extra}\r\nreceived");
    let _ = stream.write_all(response.as_bytes());
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&raw[..i]).split(';').next().unwrap().trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&raw[i + 2..i + 2 + size]);
        raw = &raw[i + 2 + size + 2..];
    }
    out
}
