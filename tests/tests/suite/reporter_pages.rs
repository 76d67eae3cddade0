//! The reporter pages end to end: the real intake.wasm, real HTTP, pages read with a
//! real HTML parser and forms filled and posted as a browser does.

use crate::e2e::*;
use crate::pages::*;
use serde_json::json;
use weerbaar_tests::TestApp;

fn app() -> TestApp {
    let mut o = options().variable("submission_limit_per_hour", "100").only(&["intake", "triage"]);
    o.echo_logs = false;
    start(o)
}

fn report_form(app: &TestApp) -> Page {
    let page = open(app, "/intake/", &[]);
    assert_eq!(page.status, 200);
    page.assert_safe();
    page
}

fn cases(app: &TestApp) -> usize {
    store_text(app).into_iter().filter(|(k, _)| k.starts_with("case/") && k.matches('/').count() == 1).count()
}

/// The receipt code on a confirmation page, checked for shape.
fn receipt_on(page: &Page) -> String {
    let code = page.text("#receipt-code");
    assert!(
        code.len() == 19 && code.split('-').all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_digit())),
        "a receipt code of 16 digits in groups: {code:?}"
    );
    code
}

/// No link, form action or stylesheet of the page carries the receipt code.
fn assert_code_not_in_urls(page: &Page, code: &str) {
    let digits = code.replace('-', "");
    for element in page.all("[href], [action], [src]") {
        for attr in ["href", "action", "src"] {
            let url = element.attr(attr).unwrap_or("").replace(['-', '%'], "");
            assert!(!url.contains(&digits) && !url.contains(code), "the receipt code in a URL: {url}");
        }
    }
}

#[test]
fn the_form_is_dutch_by_default_and_english_by_accept_language_or_the_switch() {
    let app = app();
    let dutch = report_form(&app);
    assert_eq!(dutch.one("html").unwrap().attr("lang"), Some("nl"));
    assert_eq!(dutch.text("h1"), "Meld bedreiging, intimidatie of geweld");
    assert_eq!(dutch.text("label[for=f-municipality]"), "Gemeente");
    let switch = dutch.one("nav.languages a[lang=en]").expect("a visible switch to English");
    assert_eq!(switch.attr("href"), Some("/intake/?lang=en"));

    let typed = open(&app, "/intake", &[]);
    typed.assert_safe();
    assert_eq!(typed.text("h1"), dutch.text("h1"), "the address without the slash shows the form too");

    let by_header = open(&app, "/intake/", &[("accept-language", "en-GB,en;q=0.9")]);
    by_header.assert_safe();
    assert_eq!(by_header.one("html").unwrap().attr("lang"), Some("en"));
    assert_eq!(by_header.text("label[for=f-municipality]"), "Municipality");
    let by_switch = open(&app, "/intake/?lang=en", &[("accept-language", "nl")]);
    by_switch.assert_safe();
    assert_eq!(by_switch.text("h1"), "Report a threat, intimidation or violence");
    let follow_up = open(&app, "/intake/follow-up?lang=en", &[]);
    follow_up.assert_safe();
    assert_eq!(follow_up.text("h1"), "Follow your report");

    // The quick exit leads away, to a neutral site, and is the first thing after the skip link.
    let exit = dutch.one("a.quick-exit").expect("a quick-exit link");
    assert!(exit.attr("href").is_some_and(|h| h.starts_with("https://")));
    assert_eq!(exit.attr("rel"), Some("noreferrer"));

    let css = crate::e2e::get(&app, "/intake/style.css");
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.header("content-security-policy"), Some(CSP));
}

#[test]
fn a_filed_form_shows_the_receipt_code_and_what_happens_next_and_the_code_opens_the_case() {
    let app = app();
    let form = report_form(&app);
    let confirmation = filled_report(&form).submit(&app, &[]);
    assert_eq!(confirmation.status, 201);
    confirmation.assert_safe();
    let code = receipt_on(&confirmation);
    assert_code_not_in_urls(&confirmation, &code);
    assert!(confirmation.one(".alert").is_none(), "no danger reported: no 112 alert");
    assert!(confirmation.text(".receipt-instruction").contains("Schrijf deze code nu op"));
    // The page answers once the report is safe, before triage has run: it says what
    // happens next and how soon, in the terms every priority shares.
    let next = confirmation.all("main > p").into_iter().map(|p| text_of(&p)).collect::<Vec<_>>().join("\n");
    assert!(next.contains("neemt contact met u op: bij acuut gevaar binnen 15 minuten"), "{next}");

    // The code is a real one: the API opens the case with it, and once triage has run
    // (right after the answer) it says by when a confidant calls.
    let status = post_json(&app, "/intake/reports/status", &json!({ "receipt_code": code }));
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.body["status"], "triaged");
    assert!(status.body["next_contact_due"].is_string(), "{}", status.body);
    assert_eq!(cases(&app), 1);

    // Nothing personal, and not the code, in clear in the store or the logs.
    let digits = code.replace('-', "");
    let logs = app.logs_text();
    assert!(logs.contains("/intake/reports"), "one log line per request");
    for needle in ["Wijk bij Duurstede", "Koolhoven", "6 12345678", "voor de deur", &digits, &code] {
        assert!(!logs.contains(needle), "{needle:?} in the logs");
        for (key, value) in store_text(&app) {
            assert!(!key.contains(needle) && !value.contains(needle), "{needle:?} in clear at {key}");
        }
    }
}

#[test]
fn danger_puts_the_112_advice_first() {
    let app = app();
    let form = report_form(&app);
    let page = filled_report(&form).choose("immediate_danger", "true").submit(&app, &[]);
    assert_eq!(page.status, 201);
    page.assert_safe();
    let main = page.one("main").unwrap();
    let first = main.select(&sel("h1 ~ *")).next().expect("content after the heading");
    assert!(first.value().classes().any(|c| c == "alert"), "the first thing after the heading is the alert");
    assert!(text_of(&first).contains("112"), "{}", text_of(&first));
    assert_eq!(first.attr("role"), Some("alert"));
    receipt_on(&page);
}

/// Every way the report form can be refused: the form again, with the field named in the
/// summary (a link to it) and beside it, what was typed kept, and nothing stored.
#[test]
fn each_field_error_answers_the_form_again_with_everything_that_was_typed() {
    let app = app();
    let form = report_form(&app);
    type Break = fn(Filling) -> Filling;
    let breaks: &[(&str, Break, &str)] = &[
        ("role", |f| f.clear("role"), "Kies uw functie."),
        ("relation", |f| f.clear("relation"), "Kies wie deze melding doet."),
        ("region", |f| f.clear("region"), "Kies de veiligheidsregio."),
        ("municipality", |f| f.type_in("municipality", "U"), "Vul de gemeente in (2 tot 100 tekens)."),
        ("request_kind", |f| f.clear("request_kind"), "Kies waarvoor u contact zoekt."),
        ("incident_kinds", |f| f.clear("incident_kinds"), "Kies ten minste één soort voorval."),
        ("immediate_danger", |f| f.clear("immediate_danger"), "Geef aan of u nu in gevaar bent."),
        ("name", |f| f.type_in("name", &"J".repeat(201)), "Vul een naam in van hoogstens 200 tekens"),
        ("contact.channel", |f| f.clear("contact.channel"), "Kies hoe wij contact met u opnemen."),
        ("contact.phone", |f| f.clear("contact.phone"), "Vul een telefoonnummer in"),
        ("contact.phone", |f| f.type_in("contact.phone", "bel me"), "Vul een telefoonnummer in"),
        ("contact.email", |f| f.choose("contact.channel", "email"), "Vul een e-mailadres in"),
        ("contact.email", |f| f.type_in("contact.email", "geen adres"), "Vul een e-mailadres in"),
        ("contact.when", |f| f.type_in("contact.when", &"x".repeat(201)), "Vul hoogstens 200 tekens in"),
    ];
    let before = store_text(&app);
    for (field, break_it, message) in breaks {
        let sent = break_it(filled_report(&form));
        let page = sent.submit(&app, &[]);
        assert_eq!(page.status, 422, "{field}");
        page.assert_safe();
        let id = format!("f-{}", field.replace('.', "-"));
        let summary = page.all(".error-summary a");
        assert_eq!(summary.len(), 1, "{field}: one error in the summary");
        assert_eq!(summary[0].attr("href"), Some(format!("#{id}").as_str()), "{field}");
        assert!(text_of(&summary[0]).starts_with(message), "{field}: {}", text_of(&summary[0]));
        assert!(page.one(&format!("#{id}")).is_some(), "{field}: the summary links to the field");
        assert!(page.text(&format!("#{id}-error")).contains(message), "{field}: the message beside the field");
        assert!(page.text("title").starts_with("Fout:"), "{field}: the title tells there is an error");
        // What was typed is kept: the description, and the rest of the form.
        assert_eq!(
            page.text("#f-description"),
            "Een man staat elke avond voor de deur. Hij roept mijn naam.",
            "{field}: the description is kept"
        );
        let again = Filling::of(&page, "/intake/reports");
        for (name, value) in &sent.fields {
            if name != field {
                assert!(again.fields.contains(&(name.clone(), value.clone())), "{field}: {name}={value} is kept");
            }
        }
        assert_eq!(store_text(&app), before, "{field}: a refused form writes nothing");
    }
    // A form sent empty names every required field at once, in the summary and beside each.
    let empty = Filling::of(&form, "/intake/reports").submit(&app, &[]);
    assert_eq!(empty.status, 422);
    empty.assert_safe();
    let mut linked: Vec<&str> = empty.all(".error-summary a").iter().filter_map(|a| a.attr("href")).collect();
    linked.sort_unstable();
    assert_eq!(
        linked,
        [
            "#f-contact-channel",
            "#f-description",
            "#f-immediate_danger",
            "#f-municipality",
            "#f-region",
            "#f-relation",
            "#f-request_kind",
            "#f-role"
        ]
    );
    for target in linked {
        assert!(!empty.text(&format!("{target}-error")).is_empty(), "a message beside {target}");
    }
    // Several wrong values at once, and a rule across fields, in one answer.
    let several = filled_report(&form)
        .type_in("municipality", "U")
        .type_in("contact.email", "geen adres")
        .clear("incident_kinds")
        .clear("contact.phone")
        .submit(&app, &[]);
    let mut linked: Vec<&str> = several.all(".error-summary a").iter().filter_map(|a| a.attr("href")).collect();
    linked.sort_unstable();
    assert_eq!(linked, ["#f-contact-email", "#f-contact-phone", "#f-incident_kinds", "#f-municipality"]);
    assert_eq!(store_text(&app), before, "a refused form writes nothing");

    // An empty description too, in English.
    let english = open(&app, "/intake/?lang=en", &[]);
    let page = filled_report(&english).type_in("description", "   ").submit(&app, &[]);
    assert_eq!(page.status, 422);
    assert_eq!(page.text(".error-summary a"), "Describe what happened (at most 20,000 characters).");
    assert_eq!(page.one("html").unwrap().attr("lang"), Some("en"));
    assert_eq!(cases(&app), 0);
}

#[test]
fn a_double_submit_files_one_report_and_shows_the_same_receipt_code_twice() {
    let app = app();
    let form = report_form(&app);
    let filled = filled_report(&form);
    let first = filled.submit(&app, &[]);
    let second = filled.submit(&app, &[]);
    assert_eq!((first.status, second.status), (201, 201));
    second.assert_safe();
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(receipt_on(&first), receipt_on(&second));
    assert_eq!(cases(&app), 1);
    // A fresh form is a fresh key: a second report is a second case.
    let third = filled_report(&report_form(&app)).submit(&app, &[]);
    assert_eq!(third.status, 201);
    assert_ne!(receipt_on(&third), receipt_on(&first));
    assert_eq!(cases(&app), 2);
    // The same form sent again with other content is refused, and offers a fresh key.
    let changed = filled.clone().type_in("municipality", "Utrecht").submit(&app, &[]);
    assert_eq!(changed.status, 422);
    changed.assert_safe();
    assert!(changed.text(".error-summary").contains("al verstuurd"));
    let key = |f: &Filling| f.fields.iter().find(|(n, _)| n == "idempotency_key").map(|(_, v)| v.clone());
    assert_ne!(key(&Filling::of(&changed, "/intake/reports")), key(&filled));
    assert_eq!(cases(&app), 2);
}

#[test]
fn a_double_click_sending_twice_at_once_files_one_report() {
    let app = app();
    let filled = filled_report(&report_form(&app));
    let (a, b) = std::thread::scope(|s| {
        let first = s.spawn(|| filled.send(&app, &[]));
        let second = s.spawn(|| filled.send(&app, &[]));
        (first.join().unwrap().parse(), second.join().unwrap().parse())
    });
    let mut codes = Vec::new();
    for page in [&a, &b] {
        page.assert_safe();
        match page.status {
            201 => codes.push(receipt_on(page)),
            // The other send was still being filed: the form comes back, same key, to send again.
            409 => {
                assert!(page.text(".error-summary").contains("wordt al verwerkt"));
                let again = Filling::of(page, "/intake/reports");
                let sorted = |f: &Filling| {
                    let mut fields = f.fields.clone();
                    fields.sort();
                    fields
                };
                assert_eq!(sorted(&again), sorted(&filled), "the form comes back as sent, with its key");
                codes.push(receipt_on(&again.submit(&app, &[])));
            }
            other => panic!("a double click answered {other}"),
        }
    }
    assert_eq!(codes[0], codes[1], "both sends show the one receipt code");
    assert_eq!(cases(&app), 1);
}

#[test]
fn following_up_shows_the_status_and_the_conversation_and_takes_a_reply_with_danger() {
    let app = app();
    let code = receipt_on(&filled_report(&report_form(&app)).submit(&app, &[]));

    let ask = open(&app, "/intake/follow-up", &[]);
    ask.assert_safe();
    assert_eq!(ask.text("label[for=f-receipt_code]"), "Ontvangstcode");
    let status = Filling::of(&ask, "/intake/reports/status").type_in("receipt_code", &code).submit(&app, &[]);
    assert_eq!(status.status, 200);
    status.assert_safe();
    assert_code_not_in_urls(&status, &code);
    assert_eq!(status.text("#case-status"), "Beoordeeld");
    assert_eq!(status.all(".messages li").len(), 0);

    let reply = Filling::of(&status, "/intake/reports/messages")
        .type_in("text", "Hij staat er weer, met een mes.")
        .tick("immediate_danger", "true")
        .submit(&app, &[]);
    assert_eq!(reply.status, 201);
    reply.assert_safe();
    assert_code_not_in_urls(&reply, &code);
    let first = reply.one("main").unwrap().select(&sel("h1 ~ *")).next().unwrap();
    assert!(
        text_of(&first).starts_with("Bent u of is iemand anders nu in gevaar? Bel direct 112."),
        "{}",
        text_of(&first)
    );
    let messages = reply.all(".messages .message-text");
    assert_eq!(messages.len(), 1);
    assert_eq!(text_of(&messages[0]), "Hij staat er weer, met een mes.");

    // The danger reached triage: the message is stored with its follow-up facts.
    let api = post_json(&app, "/intake/reports/status", &json!({ "receipt_code": code }));
    assert_eq!(api.body["messages"][0]["text"], "Hij staat er weer, met een mes.");
    let stored = store_text(&app);
    assert!(stored.iter().any(|(k, v)| k.contains("/messages/") && v.contains("\"immediate_danger\":true")));

    // A reply without text keeps the conversation and says what is missing.
    let empty = Filling::of(&reply, "/intake/reports/messages").type_in("text", " ").submit(&app, &[]);
    assert_eq!(empty.status, 422);
    empty.assert_safe();
    assert_eq!(empty.one(".error-summary a").unwrap().attr("href"), Some("#f-text"));
    assert_eq!(empty.all(".messages .message-text").len(), 1, "the conversation is still shown");
}

#[test]
fn a_wrong_receipt_code_answers_the_follow_up_form_with_the_error_beside_the_field() {
    let app = app();
    let ask = open(&app, "/intake/follow-up?lang=en", &[]);
    let unknown =
        Filling::of(&ask, "/intake/reports/status").type_in("receipt_code", "0000-0000-0000-0000").submit(&app, &[]);
    assert_eq!(unknown.status, 404);
    unknown.assert_safe();
    assert_eq!(
        unknown.text("#f-receipt_code-error"),
        "Error: There is no report with this receipt code. Check the code."
    );
    let malformed = Filling::of(&ask, "/intake/reports/status").type_in("receipt_code", "12345").submit(&app, &[]);
    assert_eq!(malformed.status, 422);
    malformed.assert_safe();
    assert_eq!(malformed.one(".error-summary a").unwrap().attr("href"), Some("#f-receipt_code"));
    assert_eq!(Filling::of(&malformed, "/intake/reports/status").fields[1], ("receipt_code".into(), "12345".into()));
}

#[test]
fn past_the_submission_limit_the_form_says_the_report_was_not_sent_and_keeps_it() {
    let mut o = options().variable("submission_limit_per_hour", "1").only(&["intake", "triage"]);
    o.echo_logs = false;
    let app = start(o);
    assert_eq!(filled_report(&report_form(&app)).submit(&app, &[]).status, 201);
    let refused = filled_report(&report_form(&app)).submit(&app, &[]);
    assert_eq!(refused.status, 429);
    refused.assert_safe();
    let notice = refused.text(".error-summary");
    assert!(notice.contains("niet verstuurd") && notice.contains("112") && notice.contains("minuten"), "{notice}");
    assert_eq!(refused.text("#f-description"), "Een man staat elke avond voor de deur. Hij roept mijn naam.");
    assert_eq!(cases(&app), 1);
}

#[test]
fn the_json_api_is_unchanged_and_a_form_post_never_gets_json() {
    let app = app();
    // Whatever a form post gets wrong, it gets the form again, not a problem document.
    let page = post_form(&app, "/intake/reports", "role=%FF&surprise=1", &[]);
    assert_eq!(page.status, 422);
    page.assert_safe();
    assert!(page.one(".error-summary").is_some());
    // The HTML endpoints are in the contract, with their media types.
    let form = report_form(&app);
    let filed = filled_report(&form).submit(&app, &[]);
    for (method, path, status, media) in [
        ("GET", "/intake/", 200, "text/html"),
        ("GET", "/intake/follow-up", 200, "text/html"),
        ("GET", "/intake/style.css", 200, "text/css"),
        ("POST", "/intake/reports", filed.status, "text/html"),
        ("POST", "/intake/reports", 422, "text/html"),
        ("POST", "/intake/reports", 429, "text/html"),
        ("POST", "/intake/reports/status", 200, "text/html"),
        ("POST", "/intake/reports/status", 404, "text/html"),
        ("POST", "/intake/reports/messages", 201, "text/html"),
        ("POST", "/intake/reports/messages", 422, "text/html"),
    ] {
        shared::contract::validate_response_as(method, path, status, media, b"")
            .unwrap_or_else(|e| panic!("{method} {path} {status} {media}: {e}"));
    }
    let json = post_json(&app, "/intake/reports", &json!({"role": "mayor"}));
    assert_eq!(json.status, 422);
    assert_eq!(json.header("content-type"), Some("application/problem+json"));
}
