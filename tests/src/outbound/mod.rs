//! Outbound HTTP (`wasi:http/outgoing-handler`) as Spin does it: the
//! component's `allowed_outbound_hosts` decide, `*.spin.internal` and
//! `self` stay inside the process, everything else goes over real HTTP.

mod policy;

pub use policy::{default_port, AllowedHost, Destination, OutboundPolicy};

use crate::app::Runtime;
use bytes::Bytes;
use http_body_util::BodyExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks, DEFAULT_FORBIDDEN_HEADERS};

/// Where an outbound request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `http://self/...` or a relative URL: routed like an incoming request.
    SelfApp,
    /// `http://<component>.spin.internal/...`: straight to that component.
    Component(String),
    /// Anything else: a real network request.
    Network,
}

type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;
type SendResult = Result<(http::Response<WasiBody>, IoFuture), Error>;

/// Per-request outbound hooks of one component.
pub struct OutboundHooks {
    pub runtime: Arc<Runtime>,
    pub component: String,
    pub policy: Arc<OutboundPolicy>,
}

impl WasiHttpHooks for OutboundHooks {
    // Spin lets components see and set `Host`; the other hop-by-hop headers
    // stay forbidden as in wasmtime's default list.
    fn is_forbidden_header(&mut self, name: &http::HeaderName) -> bool {
        name != http::header::HOST && DEFAULT_FORBIDDEN_HEADERS.contains(name)
    }

    fn forbidden_header_filter(&mut self) -> wasmtime_wasi_http::ForbiddenHeaderFilter {
        Arc::new(|name| name != http::header::HOST && DEFAULT_FORBIDDEN_HEADERS.contains(name))
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let runtime = self.runtime.clone();
        let caller = self.component.clone();
        let policy = self.policy.clone();
        Box::new(async move { send(runtime, &caller, &policy, request, options).await })
    }
}

/// Decides where `uri` goes and whether the caller may go there.
pub fn classify(policy: &OutboundPolicy, uri: &http::Uri) -> Result<Target, Error> {
    let host = uri.host().unwrap_or("");
    if host.is_empty() || host == "self" {
        return if policy.allows_self() { Ok(Target::SelfApp) } else { Err(Error::HttpRequestDenied) };
    }
    let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
    let port = uri.port_u16().or_else(|| default_port(&scheme)).ok_or(Error::HttpRequestUriInvalid)?;
    let dest = Destination { scheme, host: host.to_string(), port };
    if !policy.allows(&dest) {
        return Err(Error::HttpRequestDenied);
    }
    match host.to_ascii_lowercase().strip_suffix(".spin.internal") {
        Some(component) => Ok(Target::Component(component.to_string())),
        None => Ok(Target::Network),
    }
}

async fn send(
    runtime: Arc<Runtime>,
    caller: &str,
    policy: &OutboundPolicy,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> SendResult {
    let target = match classify(policy, request.uri()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("[host] `{caller}` may not call {}: not in its allowed_outbound_hosts", request.uri());
            return Err(e);
        }
    };
    let options = options.unwrap_or_default();
    let first_byte = options.first_byte_timeout;
    match target {
        Target::Network => send_over_network(request, options).await,
        Target::SelfApp => {
            let response = with_timeout(first_byte, runtime.dispatch_self(request)).await?;
            Ok((response, ready_io()))
        }
        Target::Component(component) => {
            // Spin drops the `.spin.internal` Host before the component sees it.
            request.headers_mut().remove(http::header::HOST);
            let response = with_timeout(first_byte, runtime.dispatch_to(&component, request)).await?;
            Ok((response, ready_io()))
        }
    }
}

fn ready_io() -> IoFuture {
    Box::new(async { Ok(()) })
}

async fn with_timeout<T>(limit: Option<Duration>, fut: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    match limit {
        Some(d) => tokio::time::timeout(d, fut).await.map_err(|_| Error::ConnectionReadTimeout)?,
        None => fut.await,
    }
}

/// Plain HTTP/1.1 over TCP: our tests only reach loopback listeners.
async fn send_over_network(mut request: http::Request<WasiBody>, options: RequestOptions) -> SendResult {
    let uri = request.uri().clone();
    if uri.scheme_str() != Some("http") {
        return Err(Error::InternalError(Some(format!("the test host sends only plain http, not {uri}"))));
    }
    let host = uri.host().unwrap_or_default().to_string();
    let port = uri.port_u16().unwrap_or(80);
    let connect = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port));
    let stream = match options.connect_timeout {
        Some(d) => tokio::time::timeout(d, connect).await.map_err(|_| Error::ConnectionTimeout)?,
        None => connect.await,
    }
    .map_err(|e| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => Error::ConnectionRefused,
        _ => Error::Connect(e),
    })?;
    stream.set_nodelay(true).ok();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    let io: IoFuture = Box::new(async move { connection.await.map_err(Error::from) });
    let io: Pin<IoFuture> = Box::into_pin(io);
    let driver = tokio::spawn(io);
    // HTTP/1.1 servers expect the origin form on the request line.
    let origin =
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").parse().map_err(|_| Error::HttpRequestUriInvalid)?;
    *request.uri_mut() = origin;
    let response =
        with_timeout(options.first_byte_timeout, async { sender.send_request(request).await.map_err(Error::from) })
            .await?;
    let response = response.map(|body| body.map_err(Error::from).boxed_unsync());
    let io: IoFuture = Box::new(async move {
        match driver.await {
            Ok(r) => r,
            Err(e) => Err(Error::InternalError(Some(e.to_string()))),
        }
    });
    Ok((response, io))
}

/// An empty body in the shape wasi-http wants.
pub fn empty_body() -> WasiBody {
    http_body_util::Empty::<Bytes>::new().map_err(|never| match never {}).boxed_unsync()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> OutboundPolicy {
        OutboundPolicy::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn internal_and_self_targets() {
        let p = policy(&["http://triage.spin.internal", "http://self"]);
        let uri: http::Uri = "http://triage.spin.internal/x".parse().unwrap();
        assert_eq!(classify(&p, &uri).unwrap(), Target::Component("triage".into()));
        let uri: http::Uri = "http://self/y".parse().unwrap();
        assert_eq!(classify(&p, &uri).unwrap(), Target::SelfApp);
        let uri: http::Uri = "http://other.spin.internal/x".parse().unwrap();
        assert!(matches!(classify(&p, &uri), Err(Error::HttpRequestDenied)));
    }
}
