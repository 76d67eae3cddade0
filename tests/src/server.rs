//! The HTTP/1.1 listener: routes each request like Spin's trigger and adds
//! the `spin-*` headers before the component sees it.

use crate::app::{bare, Runtime};
use crate::routing::RouteMatch;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::BodyExt;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Accepts connections until `shutdown` fires.
pub(crate) async fn run(listener: TcpListener, runtime: Arc<Runtime>, mut shutdown: oneshot::Receiver<()>) {
    loop {
        let (stream, client) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("[host] accept failed: {e}");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let runtime = runtime.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let runtime = runtime.clone();
                async move { Ok::<_, Infallible>(handle(&runtime, req, client).await) }
            });
            let _ = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn handle(
    runtime: &Arc<Runtime>,
    request: http::Request<hyper::body::Incoming>,
    client: SocketAddr,
) -> http::Response<wasmtime_wasi_http::WasiBody> {
    let path = request.uri().path().to_string();
    let Some(matched) = runtime.router.route(&path) else {
        return bare(http::StatusCode::NOT_FOUND);
    };
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| runtime.addr.to_string());
    let pq = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let full_url = format!("http://{host}{pq}");
    let request = request.map(|body| body.map_err(wasmtime_wasi_http::Error::from).boxed_unsync());
    runtime.serve(&matched.component.clone(), request, &matched, client, &full_url).await
}

/// The headers Spin's trigger adds to every request it hands a component.
pub(crate) fn add_spin_headers(headers: &mut HeaderMap, matched: &RouteMatch, client: SocketAddr, full_url: &str) {
    let mut set = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.insert(n, v);
        }
    };
    set("spin-full-url", full_url);
    set("spin-path-info", &matched.path_info);
    set("spin-matched-route", &matched.raw_route);
    set("spin-component-route", &matched.component_route);
    set("spin-raw-component-route", &matched.raw_route);
    set("spin-base-path", "/");
    set("spin-client-addr", &client.to_string());
    for (name, value) in &matched.named {
        set(&format!("spin-path-match-{name}"), value);
    }
}
