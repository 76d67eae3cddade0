//! A real redis-server for tests: started once per test process on a free
//! loopback port, persistence off, stopped when the process ends. Each app
//! gets a database of its own, so tests running in parallel never see each
//! other's keys, and two apps given the same URL share one, as two Spin
//! instances on one Redis do.

use anyhow::{bail, Context, Result};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Databases the server is started with: one per app a test process starts.
const DATABASES: u32 = 4096;

/// The test process's redis-server.
pub struct RedisServer {
    port: u16,
    next_database: AtomicU32,
}

static SERVER: OnceLock<Result<RedisServer, String>> = OnceLock::new();

impl RedisServer {
    /// The process's server, started on first use.
    pub fn shared() -> Result<&'static RedisServer> {
        match SERVER.get_or_init(|| RedisServer::start().map_err(|e| format!("{e:#}"))) {
            Ok(server) => Ok(server),
            Err(e) => bail!("{e}"),
        }
    }

    /// The URL of a database no one has used yet, emptied to be sure.
    pub fn fresh_database(&self) -> Result<String> {
        let n = self.next_database.fetch_add(1, Ordering::Relaxed);
        if n >= DATABASES {
            bail!("this test process used all {DATABASES} Redis databases");
        }
        let url = format!("redis://127.0.0.1:{}/{n}", self.port);
        let mut conn = redis::Client::open(url.as_str())?.get_connection()?;
        redis::cmd("FLUSHDB").exec(&mut conn)?;
        Ok(url)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn start() -> Result<RedisServer> {
        // A port taken between our probe and the server's bind makes the
        // server exit at once: try again on another.
        let mut last = None;
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            match spawn_and_wait(port) {
                Ok(()) => return Ok(RedisServer { port, next_database: AtomicU32::new(0) }),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("tried at least once"))
    }
}

fn spawn_and_wait(port: u16) -> Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    // Linux stops the server when the thread that started it ends: this thread
    // lives as long as the process, so the server stops with the test run.
    std::thread::Builder::new().name(format!("redis-server-{port}")).spawn(move || {
        let spawned = spawn(port);
        let ok = spawned.is_ok();
        let _ = tx.send(spawned.map(drop));
        if ok {
            loop {
                std::thread::park();
            }
        }
    })?;
    rx.recv().context("the redis-server thread ended")??;
    let deadline = Instant::now() + Duration::from_secs(10);
    let url = format!("redis://127.0.0.1:{port}/0");
    loop {
        let ping = redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        match ping {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => bail!("redis-server on port {port} did not answer: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn spawn(port: u16) -> Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new("redis-server");
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--databases", &DATABASES.to_string(), "--loglevel", "warning"])
        .arg("--dir")
        .arg(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().with_context(|| {
        "cannot start redis-server: install it (`apt-get install redis-server`; tests/run does this when it can)"
    })
}
