//! The sweeps run by themselves: `deploy/sweeper`, the scheduler `deploy/up` starts
//! beside `spin up`, run as a real child process against the project's app on the test
//! host. No test here calls a sweep itself: an unacknowledged P1 past its deadline must
//! reach the coordinators' webhook through the scheduler alone, and stopping the
//! scheduler (or the process it watches, or Spin under `deploy/up`) must leave no
//! process of it behind.
//!
//! Needs bash and curl (what `deploy/up` needs) and Linux's `/proc`. Build the
//! components first:
//! `cargo build --target wasm32-wasip2 --release -p intake -p triage -p directory -p notification`.

use crate::e2e::receiver::Receiver;
use crate::e2e::*;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use weerbaar_tests::TestApp;

const MUNICIPALITY: &str = "Wijk bij Duurstede";
const PHONE: &str = "+31 6 12345678";

fn repository() -> PathBuf {
    weerbaar_tests::project_manifest().parent().unwrap().to_path_buf()
}

/// An empty directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weerbaar-sweeper-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn app() -> TestApp {
    let mut o = options()
        .variable("webhook_allowed_http_hosts", "127.0.0.1")
        .variable("webhook_outbound_host_a", "http://127.0.0.1:*");
    o.echo_logs = false;
    start(o)
}

fn subscribe(app: &TestApp, receiver: &Receiver) {
    let body = json!({"url": receiver.url("/hook"), "description": "coordinators"});
    let r = call(
        app,
        "POST",
        "/notification/subscriptions",
        &[("authorization", &format!("Bearer {ADMIN_TOKEN}")), ("content-type", "application/json")],
        Some(serde_json::to_vec(&body).unwrap()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
}

/// Files a mayor's P1 report at intake; returns the case id.
fn file_p1(app: &TestApp) -> String {
    let filed = post_json(
        app,
        "/intake/reports",
        &json!({
            "role": "mayor", "relation": "self", "region": "VR09", "municipality": MUNICIPALITY,
            "request_kind": "incident", "incident_kinds": ["threat_of_violence"], "immediate_danger": true,
            "description": "Een man met een mes bij de voordeur.",
            "contact": {"channel": "phone", "phone": PHONE}, "language": "nl"
        }),
    );
    assert_eq!(filed.status, 201, "{}", filed.body);
    filed.body["case_reference"].as_str().unwrap().to_string()
}

/// The escalation levels the receiver got for `case`, in order of arrival.
fn escalations(receiver: &Receiver, case: &str) -> Vec<u64> {
    receiver
        .hits()
        .iter()
        .map(|h| h.json())
        .filter(|b| b["type"] == "case.escalated" && b["data"]["case_reference"] == case)
        .map(|b| b["data"]["escalation_level"].as_u64().unwrap())
        .collect()
}

/// Waits until `done` holds, at most `limit`.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// The scheduler's JSON log lines so far (stdout and stderr).
fn log_lines(dir: &Path) -> Vec<Value> {
    ["sweeper.out", "sweeper.err"]
        .iter()
        .flat_map(|f| fs::read_to_string(dir.join(f)).unwrap_or_default().lines().map(String::from).collect::<Vec<_>>())
        .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect()
}

fn runs_of(lines: &[Value], sweep: &str) -> Vec<Value> {
    lines.iter().filter(|l| l["sweep"] == sweep).cloned().collect()
}

/// Starts `program` in a process group of its own (as a terminal starts a job), with
/// none of the sweeper's settings from this process's environment, output to `dir`.
fn spawn(program: &Path, args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(fs::File::create(dir.join("sweeper.out")).unwrap())
        .stderr(fs::File::create(dir.join("sweeper.err")).unwrap())
        .process_group(0);
    for name in [
        "SPIN_VARIABLE_INTERNAL_SECRET",
        "WEERBAAR_SWEEP_URL",
        "WEERBAAR_SWEEP_EVERY",
        "WEERBAAR_SWEEP_WATCH",
        "WEERBAAR_SWEEP_ENV_FILE",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command.spawn().unwrap_or_else(|e| panic!("{} starts: {e}", program.display()))
}

fn signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) with a process (or, negative, a process group) id we started.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill({pid}, {signal})");
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("process {} did not stop within {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Processes still alive (not zombies) in process group `group`: "pid state command".
fn alive_in_group(group: u32) -> Vec<String> {
    assert!(Path::new("/proc/self/stat").exists(), "this test reads Linux's /proc");
    let mut alive = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (command) state ppid pgrp ...; the command may hold spaces and parentheses.
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[2] == group.to_string() && fields[0] != "Z" {
            alive.push(format!("{} {}", head.replace('(', ""), fields[0]));
        }
    }
    alive
}

/// The test's `.env`, as `deploy/up` writes it: the internal secret among others.
fn write_env(dir: &Path) -> PathBuf {
    let path = dir.join(".env");
    fs::write(
        &path,
        format!(
            "# Local secrets written by deploy/up. Never commit this file.\n\
             SPIN_VARIABLE_ADMIN_TOKEN={ADMIN_TOKEN}\n\
             SPIN_VARIABLE_INTERNAL_SECRET={INTERNAL_SECRET}\n"
        ),
    )
    .unwrap();
    path
}

/// Nothing secret or personal in what the scheduler (or deploy/up) printed.
fn assert_no_secret_or_personal_data(dir: &Path) {
    let text = ["sweeper.out", "sweeper.err"]
        .iter()
        .map(|f| fs::read_to_string(dir.join(f)).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [INTERNAL_SECRET, ADMIN_TOKEN, MUNICIPALITY, PHONE, "case_"] {
        assert!(!text.contains(needle), "{needle:?} in the scheduler's output:\n{text}");
    }
}

#[test]
fn the_scheduler_alone_escalates_an_unacknowledged_p1_and_leaves_nothing_behind() {
    let app = app();
    let receiver = Receiver::start();
    subscribe(&app, &receiver);
    let case = file_p1(&app);
    assert_eq!(receiver.types_for(&case), vec!["case.created", "case.triaged"]);

    let dir = scratch("escalates");
    let env_file = write_env(&dir);
    let url = app.url();
    let args = [
        "--url",
        url.as_str(),
        "--env-file",
        env_file.to_str().unwrap(),
        "--every",
        "triage=1",
        "--every",
        "notification=1",
        "--every",
        "intake=1",
    ];
    let mut scheduler = spawn(&repository().join("deploy/sweeper"), &args, &dir, &[]);

    // Before the deadline the sweeps run and find nothing to escalate.
    let swept = |sweep: &str, times: usize| runs_of(&log_lines(&dir), sweep).len() >= times;
    assert!(
        eventually(Duration::from_secs(20), || swept("triage", 2) && swept("notification", 2) && swept("intake", 2)),
        "every sweep ran twice: {:?}",
        log_lines(&dir)
    );
    assert!(escalations(&receiver, &case).is_empty(), "not before the deadline");

    // Past the 15-minute deadline, the next triage run escalates and notification
    // delivers the webhook; nobody but the scheduler calls a sweep.
    app.advance_clock(Duration::from_secs(16 * 60));
    assert!(
        eventually(Duration::from_secs(20), || !escalations(&receiver, &case).is_empty()),
        "the escalation webhook arrives by the scheduler alone; log: {:?}",
        log_lines(&dir)
    );
    assert_eq!(escalations(&receiver, &case), vec![1]);

    // One line per run, every run answered 200, nothing secret or personal.
    let lines = log_lines(&dir);
    for sweep in ["triage", "notification", "intake"] {
        for run in runs_of(&lines, sweep) {
            assert_eq!(run["status"], 200, "{run}");
            assert_eq!(run["level"], "info", "{run}");
            assert!(run["calls"].as_u64().unwrap() >= 1, "{run}");
            assert!(run["duration_ms"].is_u64(), "{run}");
        }
    }
    assert_no_secret_or_personal_data(&dir);
    let request_lines = app.logs_text();
    assert!(request_lines.contains("/triage/sweep") && request_lines.contains("/intake/sweep"));

    // Stopped, it takes the curl or sleep it is waiting on with it.
    let group = scheduler.id();
    assert!(
        eventually(Duration::from_secs(5), || alive_in_group(group).len() >= 2),
        "the scheduler waits on a child (sleep or curl): {:?}",
        alive_in_group(group)
    );
    signal(group as i32, libc::SIGTERM);
    let status = wait_for_exit(&mut scheduler, Duration::from_secs(10));
    assert!(status.success(), "stops cleanly on TERM: {status}");
    assert_eq!(alive_in_group(group), Vec::<String>::new(), "nothing of the scheduler left running");
    assert!(log_lines(&dir).last().unwrap()["message"].as_str().unwrap().starts_with("stopped"));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_scheduler_stops_by_itself_when_the_process_it_watches_ends() {
    let dir = scratch("watch");
    let env_file = write_env(&dir);
    let mut watched = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = watched.id().to_string();
    // Nothing listens on port 9 of the loopback: every run fails, and is logged so.
    let args = ["--url", "http://127.0.0.1:9", "--env-file", env_file.to_str().unwrap(), "--watch", &pid, "triage"];
    let mut scheduler =
        spawn(&repository().join("deploy/sweeper"), &args, &dir, &[("WEERBAAR_SWEEP_EVERY", "triage=1")]);
    assert!(
        eventually(Duration::from_secs(10), || runs_of(&log_lines(&dir), "triage").len() >= 2),
        "{:?}",
        log_lines(&dir)
    );
    let failed = runs_of(&log_lines(&dir), "triage")[0].clone();
    assert_eq!((failed["level"].as_str(), failed["status"].as_u64()), (Some("warn"), Some(0)), "{failed}");

    watched.kill().unwrap();
    watched.wait().unwrap();
    let status = wait_for_exit(&mut scheduler, Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert_eq!(alive_in_group(scheduler.id()), Vec::<String>::new());
    let messages: Vec<Value> =
        log_lines(&dir).into_iter().map(|l| l["message"].clone()).filter(|m| m.is_string()).collect();
    assert_eq!(messages.last().unwrap(), &json!(format!("stopped: process {pid} ended")));
    assert_no_secret_or_personal_data(&dir);
    let _ = fs::remove_dir_all(&dir);
}

/// A copy of `deploy/up` and `deploy/sweeper` in a scratch checkout, with stand-ins for
/// `spin` (serves nothing, runs until `stop-spin` appears) and `rustup` on the PATH: the
/// test host plays the app `spin up` would serve.
fn fake_checkout(name: &str) -> (PathBuf, String) {
    let dir = scratch(name);
    fs::create_dir_all(dir.join("deploy")).unwrap();
    fs::create_dir_all(dir.join("bin")).unwrap();
    for script in ["up", "sweeper"] {
        fs::copy(repository().join("deploy").join(script), dir.join("deploy").join(script)).unwrap();
    }
    write_env(&dir);
    let stand_ins = [
        (
            "spin",
            format!(
                "#!/bin/sh\necho \"spin $*\" > '{0}/spin-args'\nwhile [ ! -f '{0}/stop-spin' ]; do sleep 0.1; done\n",
                dir.display()
            ),
        ),
        ("rustup", "#!/bin/sh\necho wasm32-wasip2\n".to_string()),
    ];
    for (name, text) in stand_ins {
        let path = dir.join("bin").join(name);
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", dir.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    (dir, path)
}

#[test]
fn deploy_up_escalates_an_unacknowledged_p1_and_stops_the_sweeps_when_spin_exits_or_on_ctrl_c() {
    for ending in ["spin exits", "ctrl-c"] {
        let app = app();
        let receiver = Receiver::start();
        subscribe(&app, &receiver);
        let case = file_p1(&app);
        app.advance_clock(Duration::from_secs(16 * 60));

        let (dir, path) = fake_checkout(if ending == "ctrl-c" { "up-ctrl-c" } else { "up-exit" });
        let listen = app.addr().to_string();
        let mut up = spawn(&dir.join("deploy/up"), &["--listen", &listen], &dir, &[("PATH", &path)]);
        assert!(
            eventually(Duration::from_secs(20), || !escalations(&receiver, &case).is_empty()),
            "{ending}: deploy/up's first triage run escalates the overdue P1: {:?}",
            fs::read_to_string(dir.join("sweeper.out"))
        );
        assert_eq!(
            fs::read_to_string(dir.join("spin-args")).unwrap().trim(),
            format!("spin up --build --listen {listen}")
        );
        assert!(eventually(Duration::from_secs(10), || runs_of(&log_lines_of_up(&dir), "intake").len() == 1));
        let group = up.id();
        match ending {
            "spin exits" => fs::write(dir.join("stop-spin"), "").unwrap(),
            // A terminal sends Ctrl-C's SIGINT to the whole foreground job.
            _ => signal(-(group as i32), libc::SIGINT),
        }
        let status = wait_for_exit(&mut up, Duration::from_secs(10));
        if ending == "spin exits" {
            assert!(status.success(), "{status}");
        }
        assert_eq!(alive_in_group(group), Vec::<String>::new(), "{ending}: nothing left running");
        let lines = log_lines_of_up(&dir);
        assert!(lines.last().unwrap()["message"].as_str().unwrap_or("").starts_with("stopped"), "{ending}: {lines:?}");
        for run in lines.iter().filter(|l| l.get("sweep").is_some()) {
            assert_eq!(run["status"], 200, "{ending}: {run}");
        }
        assert_no_secret_or_personal_data(&dir);
        let _ = fs::remove_dir_all(&dir);
    }
}

/// The sweeper's JSON lines among deploy/up's own messages.
fn log_lines_of_up(dir: &Path) -> Vec<Value> {
    ["sweeper.out", "sweeper.err"]
        .iter()
        .flat_map(|f| fs::read_to_string(dir.join(f)).unwrap_or_default().lines().map(String::from).collect::<Vec<_>>())
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .collect()
}

/// The watchdog: with the scheduler stopped, every component's health turns `degraded`
/// (still 200) after three missed intervals, triage says how long an overdue case has
/// waited, and the operators get one signed `operator.sweep_late` webhook per late
/// sweep, not one per health probe; once the sweeps run again, all is `ok`.
#[test]
fn stopped_sweeps_turn_health_degraded_and_page_the_operators_once_an_hour() {
    let app = app();
    let operators = Receiver::start();
    let body = json!({"url": operators.url("/ops"), "description": "operators", "operator_events": true});
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let headers = [("authorization", admin.as_str()), ("content-type", "application/json")];
    let r = call(&app, "POST", "/notification/subscriptions", &headers, Some(serde_json::to_vec(&body).unwrap()));
    assert_eq!(r.status, 201, "{}", r.body);
    let health = |component: &str| {
        let path = format!("/{component}/health");
        let r = get(&app, &path);
        r.conforms("GET", &path);
        assert_eq!(r.status, 200, "{component}: a late sweep never fails the probe: {}", r.body);
        r.body
    };
    let sweep = |component: &str| {
        let path = format!("/{component}/sweep");
        let r = call(&app, "POST", &path, &[("weerbaar-internal-secret", INTERNAL_SECRET)], None);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    };
    for component in ["intake", "triage", "notification"] {
        sweep(component);
        assert_eq!(health(component)["status"], "ok", "{component} just swept");
    }
    let case = file_p1(&app);

    // The scheduler dies: 20 minutes pass without a sweep (triage and notification run
    // every minute, intake every 15 minutes).
    app.advance_clock(Duration::from_secs(20 * 60));
    let triage = health("triage");
    assert_eq!(triage["status"], "degraded", "{triage}");
    assert_eq!(triage["sweeps"][0]["late"], true);
    assert!(triage["oldest_overdue_unacknowledged_seconds"].is_null(), "the last sweep saw nothing overdue yet");
    assert_eq!(health("intake")["status"], "ok", "three intervals of 15 minutes have not passed");
    let notification = health("notification");
    assert_eq!(notification["status"], "degraded");
    assert_eq!(notification["late_sweeps_reported"], json!(["triage", "notification"]));
    // The operators' subscription takes case events too: count the sweep pages.
    let pages = || -> Vec<Value> {
        operators.hits_at("/ops").iter().map(|h| h.json()).filter(|b| b["type"] == "operator.sweep_late").collect()
    };
    assert!(eventually(Duration::from_secs(10), || pages().len() == 2), "{:?}", pages());
    let late = pages();
    for (hit, sweep) in late.iter().zip(["triage", "notification"]) {
        assert_eq!((hit["type"].as_str(), hit["data"]["sweep"].as_str()), (Some("operator.sweep_late"), Some(sweep)));
        assert_eq!(hit["data"]["interval_seconds"], 60);
    }
    for _ in 0..3 {
        assert_eq!(health("notification")["late_sweeps_reported"], json!([]), "once an hour, not per probe");
    }
    assert_eq!(pages().len(), 2);

    // The triage sweep runs once and sees the P1 overdue, then stops again.
    sweep("triage");
    app.advance_clock(Duration::from_secs(30 * 60));
    let triage = health("triage");
    let waited = triage["oldest_overdue_unacknowledged_seconds"].as_i64().expect("an overdue case");
    let backlog = &triage["sweep_backlog"]["triage/idx/ngb/unacked/P1"];
    assert_eq!(backlog["held"], 1, "the unacknowledged P1 is read again each sweep: {triage}");
    assert!(backlog["oldest_seconds"].as_i64().unwrap() >= 30 * 60, "{triage}");
    assert!((35 * 60..=36 * 60).contains(&waited), "the P1 was due 15 minutes after filing, 35 ago: {waited} s");
    assert!(!case.is_empty());
    // Intake's sweep has been silent for 50 minutes now: three of its intervals. It is
    // paged at once; the others are paged again an hour after their first page.
    assert_eq!(health("intake")["status"], "degraded");
    app.advance_clock(Duration::from_secs(15 * 60));
    assert_eq!(health("notification")["late_sweeps_reported"], json!(["intake"]));
    app.advance_clock(Duration::from_secs(15 * 60));
    assert_eq!(health("notification")["late_sweeps_reported"], json!(["triage", "notification"]));
    assert!(eventually(Duration::from_secs(10), || pages().len() == 5), "{:?}", pages());

    for component in ["intake", "triage", "notification"] {
        sweep(component);
        assert_eq!(health(component)["status"], "ok", "{component} runs again");
    }
    let logs = app.logs_text();
    let warnings = logs.lines().filter(|l| l.contains("\"kind\":\"sweep_late\"")).count();
    assert_eq!(warnings, 5, "one warn line per page: {logs}");
    assert!(!logs.contains(MUNICIPALITY) && !logs.contains(PHONE));
}

/// A platform scheduler that can only request a path (`spin aka cron`) ticks the sweeps:
/// without any credential a tick escalates an overdue P1, a flood of ticks runs each
/// sweep at most once per half interval, and the answer tells nothing of the work.
#[test]
fn a_tick_without_credentials_runs_each_sweep_at_most_once_per_half_interval() {
    let app = app();
    let receiver = Receiver::start();
    subscribe(&app, &receiver);
    let case = file_p1(&app);
    app.advance_clock(Duration::from_secs(16 * 60));
    let tick = |component: &str| {
        let path = format!("/{component}/sweep/tick");
        let r = get(&app, &path);
        r.conforms("GET", &path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.body["swept"].as_bool().unwrap()
    };
    assert!(tick("triage"));
    assert!(eventually(Duration::from_secs(10), || escalations(&receiver, &case) == vec![1]));
    for _ in 0..5 {
        assert!(!tick("triage"), "no more than once per half interval");
    }
    assert!(tick("notification") && tick("intake"));
    assert!(!tick("notification") && !tick("intake"));
    app.advance_clock(Duration::from_secs(31));
    assert!(tick("triage"), "half of the 60-second interval later");
    assert_eq!(get(&app, "/triage/health").body["sweeps"][0]["late"], false, "a tick counts as a run");
}
