//! The reporter pages in a real browser: headless Chromium, driven through chromedriver
//! (WebDriver) by fantoccini, against the real intake.wasm in the test host on a real
//! TCP port. A person's path: the form (with a keyboard check and a refused send), the
//! confirmation with the receipt code read off the page, following up with it, and a
//! reply in danger. Every page is checked by axe-core (WCAG 2.0/2.1 A and AA, zero
//! violations), at 320 px wide for horizontal scrolling, and for requests to any other
//! origin; a screenshot of each is saved under `target/reporter-pages/`.
//!
//! Needs `chromium` and `chromedriver` (Debian's `chromium`, `chromium-driver`) and the
//! vendored axe-core (`tests/vendor-axe`): `tests/run` provides all three.
//!
//! It runs on the SQLite pass only: it tests what a browser does with the pages, which
//! does not depend on the store, and `reporter_pages.rs` runs every page story on both.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const AXE_VERSION: &str = "4.11.0";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target"))
}

fn axe_source() -> String {
    let path = target_dir().join(format!("vendor/axe-core-{AXE_VERSION}/axe.min.js"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run tests/vendor-axe (tests/run does)", path.display()))
}

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let binary = std::env::var("WEERBAAR_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{binary}: {e}; install chromium-driver (tests/run does)"));
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(format!("{}/status", driver.url)).call().map(|r| r.status() != 200).unwrap_or(true) {
            assert!(Instant::now() < deadline, "chromedriver did not answer within 20 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Browser {
    client: Client,
    origin: String,
    shots: PathBuf,
    axe: String,
}

impl Browser {
    async fn open(driver: &Driver, origin: String) -> Browser {
        let chromium = std::env::var("WEERBAAR_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1280,1600", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--lang=nl-NL"],
                // A Dutch browser: the pages follow its Accept-Language.
                "prefs": { "intl.accept_languages": "nl-NL,nl" }
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client =
            ClientBuilder::new(connector).capabilities(caps).connect(&driver.url).await.expect("a browser session");
        let shots = target_dir().join("reporter-pages");
        std::fs::create_dir_all(&shots).unwrap();
        Browser { client, origin, shots, axe: axe_source() }
    }

    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    async fn click(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap();
    }

    /// Clicks a link or button that loads a new page, and waits for that page.
    async fn follow(&self, css: &str) {
        let target = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        self.navigating(target.click()).await;
    }

    /// Does what loads a new page, and waits until the old one is gone and the new one
    /// is loaded (a click may return before the navigation it starts).
    async fn navigating<F: std::future::Future<Output = Result<(), fantoccini::error::CmdError>>>(&self, action: F) {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        action.await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "no new page within 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while self.js("return document.readyState").await != "complete" {
            assert!(Instant::now() < deadline, "the new page did not load within 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn type_in(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        field.send_keys(text).await.unwrap();
    }

    async fn select(&self, css: &str, value: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        field.select_by_value(value).await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        let element = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        element.text().await.unwrap()
    }

    /// Checks the page in view: axe-core finds nothing, nothing was requested from or
    /// is referenced at another origin, nothing scrolls sideways at 320 px; and saves
    /// a screenshot at full width and at 320 px.
    async fn check(&self, name: &str) {
        // Every request of this page (the document and its stylesheet) and every URL
        // it references stayed at our origin.
        let requested = self
            .js("return performance.getEntries().filter(e => e.entryType === 'navigation' || e.entryType === 'resource').map(e => e.name)")
            .await;
        let referenced = self
            .js("return [...document.querySelectorAll('[src], link[href], form[action]')].map(e => e.src || e.href || e.action)")
            .await;
        let urls: Vec<&str> = requested
            .as_array()
            .unwrap()
            .iter()
            .chain(referenced.as_array().unwrap())
            .filter_map(Value::as_str)
            .collect();
        assert!(urls.len() >= 2, "{name}: the document and its stylesheet at least: {urls:?}");
        for url in urls {
            assert!(
                url.starts_with(&format!("{}/", self.origin)),
                "{name}: a request or reference to another origin: {url}"
            );
        }
        let styled =
            self.js("return getComputedStyle(document.querySelector('.button, .quick-exit')).fontWeight").await;
        assert_eq!(styled, json!("700"), "{name}: the stylesheet applies (the CSP lets our own style in)");

        self.client.execute(&self.axe, vec![]).await.expect("axe-core loads");
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
              .then(r => done({ violations: r.violations.map(v => ({ id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) })), passes: r.passes.length }))
              .catch(e => done({ error: String(e) }));";
        let result = self.client.execute_async(script, vec![]).await.expect("axe runs");
        assert!(result.get("error").is_none(), "{name}: axe failed: {result}");
        assert_eq!(result["violations"], json!([]), "{name}: accessibility violations");
        assert!(result["passes"].as_u64().unwrap_or(0) > 10, "{name}: axe checked the page: {result}");

        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
        self.client.set_window_size(320, 1200).await.unwrap();
        let widths = self.js("return [window.innerWidth, document.documentElement.scrollWidth]").await;
        let (inner, scroll) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
        assert!(inner <= 340, "{name}: the window is narrow ({inner} px)");
        assert!(scroll <= inner, "{name}: at {inner} px the page scrolls sideways ({scroll} px)");
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}-320px.png")), png).unwrap();
        self.client.set_window_size(1280, 1600).await.unwrap();
    }

    async fn focused(&self) -> Value {
        self.js("const e = document.activeElement; const s = getComputedStyle(e);
             return { id: e.id, cls: e.className, tag: e.tagName, outline: s.outlineStyle, shadow: s.boxShadow };")
            .await
    }
}

#[test]
fn a_person_files_a_report_and_follows_it_up_in_a_real_browser() {
    if crate::e2e::on_redis() {
        eprintln!("the browser test runs on the SQLite pass only (see the module's comment)");
        return;
    }
    let mut options = crate::e2e::options().variable("submission_limit_per_hour", "100").only(&["intake", "triage"]);
    options.echo_logs = false;
    let app = crate::e2e::start(options);
    let driver = Driver::start();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let b = Browser::open(&driver, app.url()).await;
        let base = app.url();

        // The form, Dutch by default; a keyboard reaches the skip link, then the quick exit, with a visible focus.
        b.client.goto(&format!("{base}/intake/")).await.unwrap();
        assert_eq!(b.text("h1").await, "Meld bedreiging, intimidatie of geweld");
        b.check("01-report-form").await;
        let body = b.client.find(Locator::Css("body")).await.unwrap();
        body.send_keys("\u{E004}").await.unwrap();
        let first = b.focused().await;
        assert_eq!(first["cls"], "skip-link", "{first}");
        assert!(first["outline"] != "none" || first["shadow"] != "none", "a visible focus: {first}");
        b.client.active_element().await.unwrap().send_keys("\u{E004}").await.unwrap();
        let second = b.focused().await;
        assert_eq!(second["cls"], "quick-exit", "{second}");
        assert!(second["outline"] != "none" || second["shadow"] != "none", "a visible focus: {second}");

        // Sent empty: the form again, its error summary focused, linking to the fields.
        b.follow("form[action='/intake/reports'] button[type=submit]").await;
        assert!(b.text(".error-summary").await.contains("Er is een probleem"));
        assert_eq!(b.focused().await["cls"], "error-summary", "the summary takes the focus");
        b.check("02-report-form-errors").await;

        // Filled in with mouse and keyboard as a person would, and sent.
        b.select("#f-role", "mayor").await;
        b.click("#f-relation").await;
        b.select("#f-region", "VR09").await;
        b.type_in("#f-municipality", "Wijk bij Duurstede").await;
        b.click("#f-immediate_danger-false").await;
        b.click("#f-request_kind").await;
        b.click("#f-incident_kinds-intimidation").await;
        b.type_in("#f-description", "Een man staat elke avond voor de deur.").await;
        b.click("#f-contact-channel").await;
        b.type_in("#f-contact-phone", "+31 6 12345678").await;
        b.follow("form[action='/intake/reports'] button[type=submit]").await;
        assert_eq!(b.text("h1").await, "Uw melding is ontvangen");
        let code = b.text("#receipt-code").await;
        assert!(shared::receipt::ReceiptCode::parse(&code).is_ok(), "a receipt code on the page: {code:?}");
        assert!(!b.client.current_url().await.unwrap().as_str().contains(&code.replace('-', "")));
        b.check("03-confirmation").await;
        // Triage runs right after the page has been answered; a person reading the page
        // takes longer than that, a WebDriver script may not.
        assert!(app.settle_all(std::time::Duration::from_secs(60)), "triage still runs after 60 s");

        // Following up with the code read off the page.
        b.follow("main a[href='/intake/follow-up']").await;
        assert_eq!(b.text("h1").await, "Uw melding volgen");
        b.check("04-follow-up").await;
        // With the keyboard alone: Tab to the code field, type it, Enter.
        b.client.find(Locator::Css("body")).await.unwrap().send_keys("\u{E004}").await.unwrap();
        for _ in 0..10 {
            if b.focused().await["id"] == "f-receipt_code" {
                break;
            }
            b.client.active_element().await.unwrap().send_keys("\u{E004}").await.unwrap();
        }
        let field = b.focused().await;
        assert_eq!(field["id"], "f-receipt_code", "Tab reaches the code field: {field}");
        assert!(field["outline"] != "none" || field["shadow"] != "none", "a visible focus: {field}");
        let typed = b.client.active_element().await.unwrap();
        b.navigating(typed.send_keys(&format!("{code}\u{E007}"))).await;
        assert_eq!(b.text("#case-status").await, "Beoordeeld");
        b.check("05-status").await;

        // A reply in danger: 112 first, the message in the conversation.
        b.type_in("#f-text", "Hij is terug.").await;
        b.click("#f-immediate_danger").await;
        b.follow("form[action='/intake/reports/messages'] button[type=submit]").await;
        assert!(b.text("main .alert").await.starts_with("Bent u of is iemand anders nu in gevaar? Bel direct 112."));
        assert_eq!(b.text(".messages .message-text").await, "Hij is terug.");
        assert!(!b.client.current_url().await.unwrap().as_str().contains(&code.replace('-', "")));
        b.check("06-reply-sent").await;

        b.client.close().await.unwrap();
    });
}
