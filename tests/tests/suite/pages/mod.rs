//! Helpers of the reporter-page tests: a client that reads pages as a browser would
//! (html5ever, through `scraper`) and fills and posts their forms as a browser does:
//! only fields the form really has, with the values a browser would send.
#![allow(dead_code)]

use scraper::{ElementRef, Html, Selector};
use weerbaar_tests::TestApp;

/// The Content-Security-Policy every page must carry.
pub const CSP: &str =
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page as received.
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub doc: Html,
}

pub fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("selector {css}: {e}"))
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn all(&self, css: &str) -> Vec<ElementRef<'_>> {
        self.doc.select(&sel(css)).collect()
    }

    pub fn one(&self, css: &str) -> Option<ElementRef<'_>> {
        self.doc.select(&sel(css)).next()
    }

    /// The text of the first element matching `css`, whitespace collapsed.
    pub fn text(&self, css: &str) -> String {
        self.one(css).map(|e| text_of(&e)).unwrap_or_default()
    }

    /// Fails unless the page has the safety headers every page must have.
    pub fn assert_safe(&self) -> &Self {
        assert_eq!(self.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(self.header("content-security-policy"), Some(CSP));
        assert_eq!(self.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert_eq!(self.header("x-content-type-options"), Some("nosniff"));
        assert!(self.header("set-cookie").is_none(), "pages set no cookie");
        assert!(self.all("script").is_empty(), "pages run no JavaScript");
        // Nothing from another origin: the one stylesheet is ours, forms post to us.
        for link in self.all("link") {
            assert!(link.attr("href").is_some_and(|h| h.starts_with("/intake/")), "{:?}", link.value());
        }
        for form in self.all("form") {
            assert!(form.attr("action").is_some_and(|a| a.starts_with("/intake/")), "{:?}", form.value());
            assert_eq!(form.attr("method"), Some("post"));
        }
        let embedded = self.all("img, iframe, object, embed, video, audio, source");
        assert!(embedded.is_empty(), "no embedded content expected: {:?}", embedded.first().map(|e| e.value()));
        self.assert_accessible_structure();
        self
    }

    /// The structural rules of WCAG the HTML alone can show (the browser test runs
    /// axe-core on top): one `h1`, a language, a title, every control labelled, every
    /// radio or check-box group in a fieldset with a legend, unique ids, and error
    /// summary links that lead to a field.
    pub fn assert_accessible_structure(&self) {
        assert_eq!(self.all("h1").len(), 1, "one h1");
        assert!(self.one("html").and_then(|h| h.attr("lang")).is_some_and(|l| !l.is_empty()));
        assert!(!self.text("title").is_empty());
        let mut ids: Vec<&str> = self.all("[id]").iter().filter_map(|e| e.attr("id")).collect();
        ids.sort_unstable();
        let count = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), count, "ids are unique");
        for control in self.all("input:not([type=hidden]), select, textarea") {
            let id = control.attr("id").unwrap_or_else(|| panic!("a control without id: {:?}", control.value()));
            let label = self.one(&format!("label[for=\"{id}\"]"));
            assert!(label.is_some_and(|l| !text_of(&l).is_empty()), "no label for #{id}");
        }
        for group in self.all("input[type=radio]") {
            let name = group.attr("name").unwrap_or("");
            if self.all(&format!("input[name=\"{name}\"]")).len() > 1 {
                let in_fieldset = group
                    .ancestors()
                    .filter_map(ElementRef::wrap)
                    .any(|a| a.value().name() == "fieldset" && a.select(&sel("legend")).next().is_some());
                assert!(in_fieldset, "radio group {name} is not in a fieldset with a legend");
            }
        }
        for link in self.all(".error-summary a") {
            let target = link.attr("href").and_then(|h| h.strip_prefix('#')).expect("a fragment link");
            assert!(self.one(&format!("#{target}")).is_some(), "the summary links to #{target}, which is missing");
        }
    }
}

pub fn text_of(e: &ElementRef<'_>) -> String {
    e.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into()
}

/// A page as received, not parsed yet (a parsed page cannot cross threads).
pub struct Received {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn parse(self) -> Page {
        Page { status: self.status, headers: self.headers, doc: Html::parse_document(&self.body) }
    }
}

fn received(app: &TestApp, result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Received {
    let mut response = result.expect("the request reaches the host");
    let headers: Vec<(String, String)> =
        response.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    let chain = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-correlation-id")).map(|(_, v)| v.as_str());
    crate::e2e::settle_chain(app, chain, "a page");
    Received { status: response.status().as_u16(), headers, body }
}

fn page(app: &TestApp, result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Page {
    received(app, result).parse()
}

/// `GET path` with extra headers.
pub fn open(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Page {
    let mut request = agent().get(format!("{}{path}", app.url()));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    page(app, request.call())
}

/// A form of a page, filled in as a browser would.
#[derive(Clone, Debug)]
pub struct Filling {
    pub action: String,
    /// Every control of the form: (name, value, kind) with kind `text`, `radio`,
    /// `checkbox`, `select` (one row per option) or `hidden`.
    controls: Vec<(String, String, &'static str)>,
    /// What the browser would send, in order.
    pub fields: Vec<(String, String)>,
}

impl Filling {
    /// The form whose `action` is `action`, with its initial values.
    pub fn of(page: &Page, action: &str) -> Filling {
        let form = page
            .all("form")
            .into_iter()
            .find(|f| f.attr("action") == Some(action))
            .unwrap_or_else(|| panic!("no form posting to {action}"));
        let mut controls = Vec::new();
        let mut fields = Vec::new();
        for control in form.select(&sel("input, select, textarea")) {
            let Some(name) = control.attr("name") else { continue };
            let name = name.to_string();
            match control.value().name() {
                "textarea" => {
                    fields.push((name.clone(), control.text().collect()));
                    controls.push((name, String::new(), "text"));
                }
                "select" => {
                    for option in control.select(&sel("option")) {
                        let value = option.attr("value").unwrap_or("").to_string();
                        if option.attr("selected").is_some() {
                            fields.push((name.clone(), value.clone()));
                        }
                        controls.push((name.clone(), value, "select"));
                    }
                }
                _ => {
                    let value = control.attr("value").unwrap_or("").to_string();
                    match control.attr("type").unwrap_or("text") {
                        kind @ ("radio" | "checkbox") => {
                            if control.attr("checked").is_some() {
                                fields.push((name.clone(), value.clone()));
                            }
                            controls.push((name, value, if kind == "radio" { "radio" } else { "checkbox" }));
                        }
                        "hidden" => {
                            fields.push((name.clone(), value));
                            controls.push((name, String::new(), "hidden"));
                        }
                        _ => {
                            fields.push((name.clone(), value));
                            controls.push((name, String::new(), "text"));
                        }
                    }
                }
            }
        }
        Filling { action: action.to_string(), controls, fields }
    }

    fn has(&self, name: &str, value: Option<&str>, kinds: &[&str]) -> bool {
        self.controls.iter().any(|(n, v, k)| n == name && kinds.contains(k) && value.is_none_or(|value| v == value))
    }

    /// Types into a text field or text area (replacing what is there).
    pub fn type_in(mut self, name: &str, text: &str) -> Filling {
        assert!(self.has(name, None, &["text"]), "no text field {name} in the form");
        self.fields.retain(|(n, _)| n != name);
        self.fields.push((name.to_string(), text.to_string()));
        self
    }

    /// Chooses an option of a select or a radio button.
    pub fn choose(mut self, name: &str, value: &str) -> Filling {
        assert!(self.has(name, Some(value), &["select", "radio"]), "no choice {name}={value} in the form");
        self.fields.retain(|(n, _)| n != name);
        self.fields.push((name.to_string(), value.to_string()));
        self
    }

    /// Ticks a check box.
    pub fn tick(mut self, name: &str, value: &str) -> Filling {
        assert!(self.has(name, Some(value), &["checkbox"]), "no check box {name}={value} in the form");
        if !self.fields.iter().any(|(n, v)| n == name && v == value) {
            self.fields.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// Clears a field: empties a text field, unchooses a choice, unticks every box.
    pub fn clear(mut self, name: &str) -> Filling {
        assert!(self.has(name, None, &["text", "select", "radio", "checkbox"]), "no field {name} in the form");
        let text = self.has(name, None, &["text"]);
        self.fields.retain(|(n, _)| n != name);
        // A text field and a select with an empty option still send the name, empty.
        if text || self.has(name, Some(""), &["select"]) {
            self.fields.push((name.to_string(), String::new()));
        }
        self
    }

    /// The body a browser sends.
    pub fn body(&self) -> String {
        self.fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
    }

    /// Posts the form as a browser does.
    pub fn submit(&self, app: &TestApp, headers: &[(&str, &str)]) -> Page {
        self.send(app, headers).parse()
    }

    /// [`Filling::submit`], the answer not parsed yet.
    pub fn send(&self, app: &TestApp, headers: &[(&str, &str)]) -> Received {
        let request = agent()
            .post(format!("{}{}", app.url(), self.action))
            .header("content-type", "application/x-www-form-urlencoded");
        let request = headers.iter().fold(request, |r, (k, v)| r.header(*k, *v));
        received(app, request.send(&self.body()))
    }
}

/// Posts a form body.
pub fn post_form(app: &TestApp, path: &str, body: &str, headers: &[(&str, &str)]) -> Page {
    let mut request =
        agent().post(format!("{}{path}", app.url())).header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    page(app, request.send(body))
}

/// Form encoding as browsers do it (`application/x-www-form-urlencoded`).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The report form, filled in validly for a mayor in Utrecht.
pub fn filled_report(form: &Page) -> Filling {
    Filling::of(form, "/intake/reports")
        .choose("role", "mayor")
        .choose("relation", "self")
        .choose("region", "VR09")
        .type_in("municipality", "Wijk bij Duurstede")
        .choose("request_kind", "incident")
        .tick("incident_kinds", "intimidation")
        .choose("immediate_danger", "false")
        .type_in("description", "Een man staat elke avond voor de deur.\nHij roept mijn naam.")
        .type_in("name", "Jeroen Koolhoven")
        .choose("contact.channel", "phone")
        .type_in("contact.phone", "+31 6 12345678")
}
