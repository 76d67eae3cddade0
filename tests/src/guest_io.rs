//! What guests see of the machine besides the Spin interfaces: their
//! stdout/stderr (captured per component, echoed to the test's output) and
//! their clocks (which tests can move forward).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// Which guest stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line a component wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub component: String,
    pub stream: Stream,
    pub line: String,
}

/// Every line every component of one app wrote, in order.
#[derive(Clone, Default)]
pub struct LogBook {
    lines: Arc<Mutex<Vec<LogLine>>>,
    /// Echo lines to the process's stdout (where the test harness captures them).
    echo: bool,
}

impl LogBook {
    pub fn new(echo: bool) -> LogBook {
        LogBook { lines: Arc::default(), echo }
    }

    pub fn lines(&self) -> Vec<LogLine> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn record(&self, component: &str, stream: Stream, line: &str) {
        if self.echo {
            let tag = match stream {
                Stream::Stdout => "out",
                Stream::Stderr => "err",
            };
            println!("[{component} {tag}] {line}");
        }
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).push(LogLine {
            component: component.to_string(),
            stream,
            line: line.to_string(),
        });
    }

    /// A guest stream writing into this book.
    pub fn stream(&self, component: &str, stream: Stream) -> GuestOutput {
        GuestOutput { book: self.clone(), component: component.to_string(), stream }
    }
}

/// A component's stdout or stderr as wasmtime-wasi sees it.
pub struct GuestOutput {
    book: LogBook,
    component: String,
    stream: Stream,
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            book: self.book.clone(),
            component: self.component.clone(),
            stream: self.stream,
            pending: Vec::new(),
        })
    }
}

/// Splits what a guest writes into lines; a trailing partial line is
/// recorded when the stream is dropped at the end of the request.
struct LineWriter {
    book: LogBook,
    component: String,
    stream: Stream,
    pending: Vec<u8>,
}

impl LineWriter {
    fn emit_complete_lines(&mut self) {
        while let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=i).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            self.book.record(&self.component, self.stream, text.trim_end_matches('\r'));
        }
    }
}

impl tokio::io::AsyncWrite for LineWriter {
    fn poll_write(mut self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.pending.extend_from_slice(buf);
        self.emit_complete_lines();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        self.emit_complete_lines();
        if !self.pending.is_empty() {
            let text = String::from_utf8_lossy(&self.pending).into_owned();
            self.book.record(&self.component, self.stream, &text);
        }
    }
}

/// The guests' clocks: real time plus an offset that tests can grow.
/// Shared by every component of one app.
#[derive(Clone)]
pub struct GuestClock {
    offset_nanos: Arc<AtomicU64>,
    /// Origin of the monotonic clock, fixed for the app's lifetime.
    start: Instant,
}

impl Default for GuestClock {
    fn default() -> Self {
        GuestClock { offset_nanos: Arc::default(), start: Instant::now() }
    }
}

impl GuestClock {
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset_nanos.fetch_add(nanos, Ordering::SeqCst);
    }

    pub fn offset(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }

    pub fn wall(&self) -> WallClock {
        WallClock(self.clone())
    }

    pub fn monotonic(&self) -> MonotonicClock {
        MonotonicClock(self.clone())
    }
}

pub struct WallClock(GuestClock);

impl HostWallClock for WallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let real = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        real + self.0.offset()
    }
}

/// Monotonic time moves with the wall clock, so a guest measuring an
/// interval sees the jump too.
pub struct MonotonicClock(GuestClock);

impl HostMonotonicClock for MonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        let elapsed = self.0.start.elapsed() + self.0.offset();
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}
