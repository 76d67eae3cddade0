//! The Spin adapters: the only code that touches Spin's host interfaces. Each is a few
//! lines over the port it implements; everything behind them is tested natively.

use crate::config::Variables;
use crate::kv::{KeyValue, StoreError, Swap};
use crate::outbound::{Outbound, OutboundError, MAX_RESPONSE_BYTES};
use spin_sdk::wit::wasi::keyvalue::{atomics, batch, store};
use std::time::Duration;

/// The `default` key-value store, through `wasi:keyvalue` (same data as Spin's own
/// key-value interface, plus atomics and batch).
pub struct SpinStore {
    bucket: store::Bucket,
}

fn store_error(e: store::Error) -> StoreError {
    StoreError(match e {
        store::Error::NoSuchStore => "no such store".into(),
        store::Error::AccessDenied => "access denied".into(),
        store::Error::Other(m) => m,
    })
}

impl SpinStore {
    /// Opens the `default` store (the only label Spin accepts without a runtime config).
    pub fn open_default() -> Result<Self, StoreError> {
        Ok(SpinStore { bucket: store::open("default").map_err(store_error)? })
    }
}

impl KeyValue for SpinStore {
    type Cas = atomics::Cas;

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.bucket.get(key).map_err(store_error)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.bucket.set(key, value).map_err(store_error)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.bucket.delete(key).map_err(store_error)
    }
    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.bucket.exists(key).map_err(store_error)
    }
    /// One `get` per key, never `batch::get_many`: Spin's Redis store sends
    /// `KEYS k1 k2 ...` for it, which fails with two or more keys and kills the
    /// request with one (`docs/spin-kv.md`, "The Redis backend"), and one get per key measured as fast
    /// on SQLite (`docs/decisions.md`). Every key is answered, in order.
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        keys.iter().map(|k| self.get(k)).collect()
    }
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        batch::set_many(&self.bucket, entries).map_err(store_error)
    }
    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        batch::delete_many(&self.bucket, keys).map_err(store_error)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(&self.bucket, key, delta).map_err(store_error)
    }
    fn cas_begin(&self, key: &str) -> Result<(atomics::Cas, Option<Vec<u8>>), StoreError> {
        let cas = atomics::Cas::new(&self.bucket, key).map_err(store_error)?;
        let current = cas.current().map_err(store_error)?;
        Ok((cas, current))
    }
    fn cas_swap(&self, cas: atomics::Cas, value: &[u8]) -> Result<Swap, StoreError> {
        match atomics::swap(cas, value) {
            Ok(()) => Ok(Swap::Applied),
            Err(atomics::CasError::CasFailed(_)) => Ok(Swap::Conflict),
            Err(atomics::CasError::StoreError(e)) => Err(store_error(e)),
        }
    }
}

/// Component variables (`[component.<id>.variables]` in spin.toml).
pub struct SpinVariables;

impl Variables for SpinVariables {
    fn get(&self, name: &str) -> Option<String> {
        spin_sdk::variables::get(name).ok()
    }
}

/// The ports of a request served by Spin: outbound HTTP, the wall clock, the host's
/// randomness and the component's variables.
pub fn ports() -> crate::web::Ports<'static, SpinOutbound> {
    crate::web::Ports {
        outbound: &SpinOutbound,
        clock: &crate::clock::SystemClock,
        random: &crate::random::SystemRandom,
        variables: &SpinVariables,
    }
}

/// Serves one request of component `V` as Spin's entry point: the answer goes out
/// through `out` as soon as the handler has it, and the work the handler left for after
/// the answer ([`crate::service::Context::after_response`]) runs afterwards in this
/// instance. Spin (like our test host) runs the guest on after it has set its
/// response, `docs/spin-host.md`.
pub fn serve<V: crate::service::Service>(req: http::Request<Vec<u8>>, out: spin_sdk::http::ResponseOutparam) {
    crate::service::serve::<V, _, _>(req, SpinStore::open_default, ports(), |response| respond(out, response));
}

/// Sets the response and writes its whole body, then ends the body, so the client has
/// the complete answer before anything else runs.
fn respond(out: spin_sdk::http::ResponseOutparam, response: http::Response<Vec<u8>>) {
    use spin_sdk::wit::wasi::http0_2_0::types::{Fields, OutgoingBody, OutgoingResponse, ResponseOutparam};
    let (parts, body) = response.into_parts();
    let out = out.into_inner();
    let Ok(headers) = Fields::from_list(&header_entries(&parts.headers)) else {
        ResponseOutparam::set(out, Err(spin_sdk::wit::wasi::http0_2_0::types::ErrorCode::InternalError(None)));
        return;
    };
    let outgoing = OutgoingResponse::new(headers);
    let _ = outgoing.set_status_code(parts.status.as_u16());
    let Ok(outgoing_body) = outgoing.body() else { return };
    ResponseOutparam::set(out, Ok(outgoing));
    // A client that has gone cannot be answered; the work after still runs.
    let _ = write_body(&outgoing_body, &body);
    let _ = OutgoingBody::finish(outgoing_body, None);
}

/// A header map as the `wasi:http` field list.
fn header_entries(headers: &http::HeaderMap) -> Vec<(String, Vec<u8>)> {
    headers.iter().map(|(k, v)| (k.as_str().to_string(), v.as_bytes().to_vec())).collect()
}

/// Writes all of `body` to an outgoing body (a request's or a response's), in the
/// chunks `blocking-write-and-flush` accepts.
fn write_body(outgoing: &spin_sdk::wit::wasi::http0_2_0::types::OutgoingBody, body: &[u8]) -> Result<(), String> {
    let stream = outgoing.write().map_err(|e| format!("body stream: {e:?}"))?;
    for chunk in body.chunks(4096) {
        stream.blocking_write_and_flush(chunk).map_err(|e| format!("write body: {e:?}"))?;
    }
    Ok(())
}

/// Outbound HTTP through `wasi:http/outgoing-handler`, with timeouts.
pub struct SpinOutbound;

impl Outbound for SpinOutbound {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<http::Response<Vec<u8>>, OutboundError> {
        outgoing::send(request, timeout)
    }
}

mod outgoing {
    use super::*;
    use spin_sdk::wit::wasi::http0_2_0::outgoing_handler;
    use spin_sdk::wit::wasi::http0_2_0::types::{
        Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
    };
    use wasi::clocks::monotonic_clock;

    fn fail(what: &str, e: impl std::fmt::Debug) -> OutboundError {
        OutboundError(format!("{what}: {e:?}"))
    }

    /// Waits until `ready` fires or `timer` does; true when `ready` came first (or both).
    fn ready_before(ready: &wasi::io::poll::Pollable, timer: &wasi::io::poll::Pollable) -> bool {
        if ready.ready() {
            return true;
        }
        wasi::io::poll::poll(&[ready, timer]);
        ready.ready()
    }

    pub fn send(request: http::Request<Vec<u8>>, timeout: Duration) -> Result<http::Response<Vec<u8>>, OutboundError> {
        let (parts, body) = request.into_parts();
        let headers = Fields::from_list(&header_entries(&parts.headers)).map_err(|e| fail("headers", e))?;
        let outgoing = OutgoingRequest::new(headers);
        let method = match parts.method.as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            other => Method::Other(other.to_string()),
        };
        outgoing.set_method(&method).map_err(|e| fail("method", e))?;
        let scheme = match parts.uri.scheme_str() {
            Some("https") => Scheme::Https,
            _ => Scheme::Http,
        };
        outgoing.set_scheme(Some(&scheme)).map_err(|e| fail("scheme", e))?;
        let authority = parts.uri.authority().map(|a| a.as_str().to_string()).ok_or_else(|| fail("url", "no host"))?;
        outgoing.set_authority(Some(&authority)).map_err(|e| fail("authority", e))?;
        let path = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
        outgoing.set_path_with_query(Some(&path)).map_err(|e| fail("path", e))?;

        let options = RequestOptions::new();
        let nanos = timeout.as_nanos() as u64;
        // A host that does not support a timeout refuses to set it; the call still runs.
        let _ = options.set_connect_timeout(Some(nanos));
        let _ = options.set_first_byte_timeout(Some(nanos));
        let _ = options.set_between_bytes_timeout(Some(nanos));

        let outgoing_body = outgoing.body().map_err(|e| fail("body", e))?;
        let pending = outgoing_handler::handle(outgoing, Some(options)).map_err(|e| fail("send", e))?;
        write_body(&outgoing_body, &body).map_err(OutboundError)?;
        OutgoingBody::finish(outgoing_body, None).map_err(|e| fail("finish body", e))?;

        // One deadline for the whole call: headers and body. The host's per-phase timeouts
        // alone let a receiver that drips a byte now and then hold the caller forever.
        let deadline = monotonic_clock::now().saturating_add(nanos);
        let timer = monotonic_clock::subscribe_instant(deadline);
        if !ready_before(&pending.subscribe(), &timer) {
            return Err(fail("response", "no answer within the deadline"));
        }
        let response = match pending.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(fail("response", code)),
            Some(Err(())) | None => return Err(fail("response", "no response")),
        };
        let mut builder = http::Response::builder().status(response.status());
        for (name, value) in response.headers().entries() {
            builder = builder.header(name, value);
        }
        let incoming = response.consume().map_err(|e| fail("response body", e))?;
        let mut bytes = Vec::new();
        {
            let stream = incoming.stream().map_err(|e| fail("response stream", e))?;
            let readable = stream.subscribe();
            loop {
                if !ready_before(&readable, &timer) {
                    return Err(fail("read response", "the body did not end within the deadline"));
                }
                let room = MAX_RESPONSE_BYTES + 1 - bytes.len();
                match stream.read(room.min(64 * 1024) as u64) {
                    Ok(chunk) => bytes.extend_from_slice(&chunk),
                    Err(wasi::io::streams::StreamError::Closed) => break,
                    Err(e) => return Err(fail("read response", e)),
                }
                if bytes.len() > MAX_RESPONSE_BYTES {
                    return Err(fail("read response", format!("the body is over {MAX_RESPONSE_BYTES} bytes")));
                }
            }
        }
        let _ = IncomingBody::finish(incoming);
        builder.body(bytes).map_err(|e| fail("response", e))
    }
}
