//! The programme figures end to end: reports filed at intake, triaged and acknowledged
//! on the test host's clock, read back as JSON, CSV and the HTML report, which a real
//! headless browser (Debian's `chromium`, installed by `tests/run`) renders: a
//! screenshot under `target/stats-report/`, and the page's text from the browser's DOM.
//!
//! Build the components first:
//! `cargo build --target wasm32-wasip2 --release --workspace --exclude weerbaar-tests`.

use crate::e2e::*;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use weerbaar_tests::TestApp;

fn report(i: usize) -> Value {
    let role = ["mayor", "mayor", "alderman", "council_member"][i % 4];
    let region = ["VR09", "VR13", "VR17"][i % 3];
    json!({
        "role": role, "relation": "self", "region": region,
        "municipality": "Wijk bij Duurstede", "request_kind": "incident",
        "incident_kinds": ["intimidation"], "immediate_danger": i.is_multiple_of(3),
        "description": "Een man staat elke avond voor de deur.",
        "contact": {"channel": "phone", "phone": "+31 6 12345678"}, "language": "nl"
    })
}

/// Files `n` reports, acknowledging every other one after `minutes`.
fn file_and_acknowledge(app: &TestApp, tokens: &[(String, String)], n: usize, minutes: u64) {
    let mut to_ack = Vec::new();
    for i in 0..n {
        let filed = post_json(app, "/intake/reports", &report(i));
        assert_eq!(filed.status, 201, "{}", filed.body);
        if i.is_multiple_of(2) {
            to_ack.push(filed.body["case_reference"].as_str().unwrap().to_string());
        }
    }
    app.advance_clock(Duration::from_secs(minutes * 60));
    for id in to_ack {
        // Whoever owns it (routing by role) acknowledges it.
        let (token, etag) = tokens
            .iter()
            .find_map(|(_, t)| {
                let r = staff(app, t, "GET", &case_path(&id, ""), &[], None);
                (r.status == 200).then(|| (t.clone(), r.header("etag").unwrap().to_string()))
            })
            .expect("one organisation owns the case");
        let r = staff(app, &token, "POST", &case_path(&id, "/acknowledge"), &[("if-match", &etag)], None);
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

fn report_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/stats-report");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn chromium(args: &[&str]) -> std::process::Output {
    // A profile of its own, so no other browser on the machine is disturbed.
    let profile = report_dir().join(format!("profile-{}", std::process::id()));
    let profile_arg = format!("--user-data-dir={}", profile.display());
    let mut all = vec!["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", profile_arg.as_str()];
    all.extend_from_slice(args);
    let out = Command::new("chromium").args(&all).output().expect("chromium is installed (tests/run installs it)");
    let _ = std::fs::remove_dir_all(&profile);
    out
}

#[test]
fn the_quarterly_report_renders_in_a_headless_browser_with_small_cells_withheld() {
    let app = start(webhook_options());
    let tokens: Vec<(String, String)> = ["ngb", "wethoudersvereniging", "nvvr"]
        .iter()
        .map(|org| {
            let r = staff(
                &app,
                ADMIN_TOKEN,
                "POST",
                "/triage/tokens",
                &[],
                Some(json!({"organisation": org, "role": "confidant", "holder": "Anne de Wit"})),
            );
            assert_eq!(r.status, 201, "{}", r.body);
            (org.to_string(), r.body["token"].as_str().unwrap().to_string())
        })
        .collect();
    // Last month 16 reports, this month 24, on the host's clock.
    file_and_acknowledge(&app, &tokens, 16, 300);
    app.advance_clock(Duration::from_secs(31 * 24 * 3600));
    file_and_acknowledge(&app, &tokens, 24, 10);

    let json_answer = staff(&app, ADMIN_TOKEN, "GET", "/triage/stats", &[], None);
    json_answer.conforms("GET", "/triage/stats");
    assert_eq!(json_answer.status, 200, "{}", json_answer.body);
    let cells = json_answer.body["cells"].as_array().unwrap();
    let this_month = &json_answer.body["to"];
    let cell = |org: &str, table: &str, row: &str, col: &str| {
        cells
            .iter()
            .find(|c| {
                &c["month"] == this_month
                    && c["organisation"] == org
                    && c["table"] == table
                    && c["row"] == row
                    && c["column"] == col
            })
            .map(|c| c["value"].clone())
            .unwrap_or(Value::Null)
    };
    // 24 reports: 12 mayors (NGB), 6 aldermen, 6 council members, this month.
    assert_eq!(cell("ngb", "event", "triaged", "total"), 12);
    assert_eq!(cell("wethoudersvereniging", "event", "triaged", "total"), 6);
    assert_eq!(cell("ngb", "event", "acknowledged", "total"), 6);
    assert_eq!(cell("bzk", "event", "triaged", "total"), "<5");
    assert_eq!(json_answer.body["geography"], "province");
    // Last month's 8 mayors' cases (NGB) stay in their own month.
    let last_month = cells
        .iter()
        .filter(|c| &c["month"] != this_month && c["organisation"] == "ngb" && c["table"] == "event")
        .find(|c| c["row"] == "triaged" && c["column"] == "total" && c["value"] != "<5")
        .expect("last month's NGB cases are counted in their month");
    assert_eq!(last_month["value"], 8);

    let csv = staff(&app, ADMIN_TOKEN, "GET", "/triage/stats", &[("accept", "text/csv")], None);
    assert_eq!(csv.status, 200);
    let text = String::from_utf8(csv.raw.clone()).unwrap();
    assert!(text.starts_with("month,organisation,table,row,column,value\r\n"), "{text:.80}");
    assert_eq!(text.lines().count(), cells.len() + 1);

    let page = staff(&app, ADMIN_TOKEN, "GET", "/triage/stats/report", &[], None);
    page.conforms("GET", "/triage/stats/report");
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let html = String::from_utf8(page.raw.clone()).unwrap();
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="), "self-contained");

    // The browser gets the page as a client saved it (the API needs a bearer token,
    // which a browser's command line cannot send).
    let dir = report_dir();
    let file = dir.join("report.html");
    std::fs::write(&file, &html).unwrap();
    let url = format!("file://{}", file.canonicalize().unwrap().display());
    let dom = chromium(&["--dump-dom", &url]);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8(dom.stdout).unwrap();
    for expected in [
        "Programme figures",
        "Cases triaged per month, by priority",
        "Acknowledged within the deadline (%), by priority",
        "<svg",
        "<rect",
        "First contact",
        "&lt;5",
    ] {
        assert!(dom.contains(expected), "the rendered page shows {expected:?}");
    }
    // The NGB triaged total (12) is in the rendered table of this month.
    assert!(dom.contains("<th>triaged</th><td>"), "the event table renders");
    let shot = dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(&[&format!("--screenshot={}", shot.display()), "--window-size=1280,2400", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());

    // Who may see what, end to end: a confidant gets nothing.
    let refused = staff(&app, &tokens[0].1, "GET", "/triage/stats/report", &[], None);
    refused.conforms("GET", "/triage/stats/report");
    assert_eq!(refused.status, 403);
}
