//! The outbound HTTP port: calls to other components and to webhook receivers.

use std::fmt;
use std::time::Duration;

/// A call that got no HTTP response (refused, unreachable, timed out, not allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundError(pub String);

impl fmt::Display for OutboundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "outbound request failed: {}", self.0)
    }
}

impl std::error::Error for OutboundError {}

/// The most bytes of a response body an outbound call reads: a longer body fails the
/// call, so an endless answer cannot exhaust memory or hold the caller.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Sends HTTP requests.
pub trait Outbound {
    /// Sends `request` and reads the whole response. `timeout` is one deadline for the
    /// whole call, connecting, headers and body together: a response whose body has not
    /// ended by then, or that is longer than [`MAX_RESPONSE_BYTES`], is an error. A
    /// complete response of any status is `Ok`.
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<http::Response<Vec<u8>>, OutboundError>;
}

impl<O: Outbound + ?Sized> Outbound for &O {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<http::Response<Vec<u8>>, OutboundError> {
        (**self).send(request, timeout)
    }
}

/// The outbound port of a component that calls no one (the directory): every request
/// is refused, as Spin refuses a host the manifest does not allow.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOutbound;

impl Outbound for NoOutbound {
    fn send(
        &self,
        _request: http::Request<Vec<u8>>,
        _timeout: Duration,
    ) -> Result<http::Response<Vec<u8>>, OutboundError> {
        Err(OutboundError("this component makes no outbound calls".into()))
    }
}

/// What a [`FakeOutbound`] answers.
pub type Answer = Result<http::Response<Vec<u8>>, OutboundError>;

/// A scripted outbound client for tests: records requests, answers from a closure.
pub struct FakeOutbound<F> {
    respond: F,
    sent: std::sync::Mutex<Vec<http::Request<Vec<u8>>>>,
}

impl<F> FakeOutbound<F>
where
    F: Fn(&http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, OutboundError>,
{
    /// A client answering with `respond`.
    pub fn new(respond: F) -> Self {
        FakeOutbound { respond, sent: std::sync::Mutex::new(Vec::new()) }
    }

    /// Every request sent so far.
    pub fn sent(&self) -> Vec<http::Request<Vec<u8>>> {
        self.sent.lock().unwrap().clone()
    }
}

impl<F> Outbound for FakeOutbound<F>
where
    F: Fn(&http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, OutboundError>,
{
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        _timeout: Duration,
    ) -> Result<http::Response<Vec<u8>>, OutboundError> {
        let answer = (self.respond)(&request);
        self.sent.lock().unwrap().push(request);
        answer
    }
}

/// An outbound client whose every call fails, as when a peer component is down.
pub fn unreachable() -> FakeOutbound<impl Fn(&http::Request<Vec<u8>>) -> Answer> {
    FakeOutbound::new(|_: &http::Request<Vec<u8>>| Err(OutboundError("connection refused".into())))
}
