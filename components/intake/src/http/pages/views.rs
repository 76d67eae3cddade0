//! The reporter pages as HTML: one layout and the four pages (report form,
//! confirmation, follow-up form, status with the conversation), built from the field
//! builders of `fields.rs`.

use super::fields::{field_id, hidden, options, Fields, Typed};
use super::form::{Form, KEY_FIELD, LANGUAGE_FIELD};
use super::html::Html;
use super::local_time::local_time;
use super::texts::{self, word, Texts};
use crate::core::lookup::Status;
use shared::case::{ContactChannel, MessageAuthor};
use shared::domain::{CaseStatus, IncidentKind, Recurrence, RegionCode, Relation, RequestKind, Role, SupportNeed};
use shared::time::Timestamp;

/// Where the quick-exit link leads: a neutral weather site, as support sites for people
/// under threat do.
pub const QUICK_EXIT_URL: &str = "https://www.buienradar.nl/";

/// What is wrong with a posted form: field messages and a message for the whole form.
#[derive(Debug, Default)]
pub struct Errors {
    pub fields: Vec<(String, &'static str)>,
    pub notice: Option<String>,
}

impl Errors {
    pub(super) fn of(&self, field: &str) -> Option<&'static str> {
        self.fields.iter().find(|(f, _)| f == field).map(|(_, m)| *m)
    }

    fn any(&self) -> bool {
        !self.fields.is_empty() || self.notice.is_some()
    }
}

/// How a page offers the other languages.
pub enum Switch<'a> {
    /// Links to this page (a `GET` page) in each language.
    Links(&'static str),
    /// A form that posts the receipt code again (the status page).
    Status(&'a str),
    /// None: the page answers a post whose input a link would lose.
    None,
}

/// The page around `body`.
pub fn layout(t: &Texts, title: &str, errors: &Errors, switch: Switch<'_>, body: impl FnOnce(&mut Html)) -> String {
    let mut h = Html::default();
    h.raw("<!DOCTYPE html>").open("html", &[("lang", Some(t.language.as_str()))]);
    h.raw("<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.open("title", &[]);
    if errors.any() {
        h.text(t.error_prefix).raw(" ");
    }
    h.text(title).raw(" | ").text(t.site_name).close("title");
    h.raw("<link rel=\"stylesheet\" href=\"/intake/style.css\"></head><body>");
    h.raw("<a class=\"skip-link\" href=\"#main\">").text(t.skip_link).raw("</a>");
    h.raw("<header class=\"top\"><div class=\"wrap\">");
    h.open("a", &[("class", Some("quick-exit")), ("href", Some(QUICK_EXIT_URL)), ("rel", Some("noreferrer"))])
        .text(t.quick_exit)
        .close("a");
    h.raw("<p class=\"site-name\">").text(t.site_name).raw("</p>");
    language_switch(&mut h, t, switch);
    h.raw("</div></header><div class=\"wrap\"><p class=\"danger-banner\">").text(t.danger_banner).raw("</p>");
    h.raw("<main id=\"main\" tabindex=\"-1\">");
    if errors.any() {
        error_summary(&mut h, t, errors);
    }
    h.element("h1", &[], title);
    body(&mut h);
    h.raw("</main></div></body></html>");
    h.finish()
}

fn language_switch(h: &mut Html, t: &Texts, switch: Switch<'_>) {
    let others = texts::ALL.iter().filter(|o| o.language != t.language);
    match switch {
        Switch::None => {}
        Switch::Links(path) => {
            h.open("nav", &[("class", Some("languages")), ("aria-label", Some(t.language_switch))]).raw("<ul>");
            for other in others {
                let href = format!("{path}?lang={}", other.language.as_str());
                let lang = Some(other.language.as_str());
                h.raw("<li>").open("a", &[("href", Some(&href)), ("lang", lang), ("hreflang", lang)]);
                h.text(other.language_name).raw("</a></li>");
            }
            h.raw("</ul></nav>");
        }
        Switch::Status(receipt) => {
            h.open("nav", &[("class", Some("languages")), ("aria-label", Some(t.language_switch))]);
            for other in others {
                h.raw("<form method=\"post\" action=\"/intake/reports/status\">");
                hidden(h, "receipt_code", receipt);
                hidden(h, LANGUAGE_FIELD, other.language.as_str());
                h.open(
                    "button",
                    &[("type", Some("submit")), ("class", Some("link")), ("lang", Some(other.language.as_str()))],
                );
                h.text(other.language_name).raw("</button></form>");
            }
            h.raw("</nav>");
        }
    }
}

fn error_summary(h: &mut Html, t: &Texts, errors: &Errors) {
    h.raw("<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" autofocus aria-labelledby=\"error-summary-title\">");
    h.raw("<h2 id=\"error-summary-title\">").text(t.error_summary_title).raw("</h2>");
    if let Some(notice) = &errors.notice {
        h.element("p", &[], notice);
    }
    if !errors.fields.is_empty() {
        h.raw("<ul>");
        for (field, message) in &errors.fields {
            let href = format!("#{}", field_id(field));
            h.raw("<li>").element("a", &[("href", Some(&href))], message).raw("</li>");
        }
        h.raw("</ul>");
    }
    h.raw("</div>");
}

/// The report form.
pub fn report_form(t: &Texts, values: &Form, key: &str, errors: &Errors) -> String {
    layout(t, t.report_title, errors, if errors.any() { Switch::None } else { Switch::Links("/intake/") }, |h| {
        h.element("p", &[("class", Some("lead"))], t.report_intro);
        h.raw("<p>").element("a", &[("href", Some("/intake/follow-up"))], t.follow_up_instead).raw("</p>");
        h.raw("<form method=\"post\" action=\"/intake/reports\" novalidate>");
        hidden(h, LANGUAGE_FIELD, t.language.as_str());
        hidden(h, KEY_FIELD, key);
        let f = Fields { t, values, errors };

        h.element("h2", &[], t.about_you);
        f.select(h, "role", t.role, None, &options(Role::ALL, &t.roles, Role::as_str));
        f.choices(h, "relation", t.relation, None, "radio", &options(Relation::ALL, &t.relations, Relation::as_str));
        let regions: Vec<(&str, String)> =
            RegionCode::ALL.iter().map(|r| (r.as_str(), format!("{} ({})", r.name(), r.as_str()))).collect();
        let regions: Vec<(&str, &str)> = regions.iter().map(|(v, n)| (*v, n.as_str())).collect();
        f.select(h, "region", t.region, Some(t.region_hint), &regions);
        f.input(h, "municipality", t.municipality, None, Typed::required("text"));

        h.element("h2", &[], t.what_happened);
        f.choices(
            h,
            "immediate_danger",
            t.immediate_danger,
            Some(t.immediate_danger_hint),
            "radio",
            &[("true", t.yes), ("false", t.no)],
        );
        f.flag(h, "threat_to_life", t.threat_to_life, None);
        f.choices(
            h,
            "request_kind",
            t.request_kind,
            None,
            "radio",
            &options(RequestKind::ALL, &t.request_kinds, RequestKind::as_str),
        );
        let kinds = options(IncidentKind::ALL, &t.incident_kind_names, IncidentKind::as_str);
        f.choices(h, "incident_kinds", t.incident_kinds, Some(t.incident_kinds_hint), "checkbox", &kinds);
        f.choices(
            h,
            "recurrence",
            t.recurrence,
            None,
            "radio",
            &options(Recurrence::ALL, &t.recurrences, Recurrence::as_str),
        );
        h.raw("<div class=\"field\"><fieldset>").element("legend", &[], t.police);
        f.flag(h, "police_informed", t.police_informed, None);
        f.flag(h, "police_report_filed", t.police_report_filed, None);
        h.raw("</fieldset></div>");
        let needs = options(SupportNeed::ALL, &t.support_needs, SupportNeed::as_str);
        f.choices(h, "support_requested", t.support_requested, None, "checkbox", &needs);
        f.textarea(h, "description", t.description, Some(t.description_hint));

        h.element("h2", &[], t.contact);
        f.input(h, "name", t.name, Some(t.name_hint), Typed::optional("text", "name"));
        let channels = options(ContactChannel::ALL, &t.channels, ContactChannel::as_str);
        f.choices(h, "contact.channel", t.channel, None, "radio", &channels);
        f.input(h, "contact.phone", t.phone, Some(t.phone_hint), Typed::optional("tel", "tel"));
        f.input(h, "contact.email", t.email, Some(t.email_hint), Typed::optional("email", "email"));
        f.input(h, "contact.when", t.when, Some(t.when_hint), Typed::optional("text", "off"));
        h.raw("<button type=\"submit\" class=\"button\">").text(t.submit_report).raw("</button></form>");
    })
}

/// The confirmation of a filed report: the 112 advice first when there is danger, the
/// receipt code large, then what happens next.
pub fn filed(t: &Texts, receipt: &str, emergency: bool, advice: &[&str], contact_due: Option<Timestamp>) -> String {
    layout(t, t.filed_title, &Errors::default(), Switch::None, |h| {
        if emergency {
            h.element("p", &[("class", Some("alert")), ("role", Some("alert"))], texts_112(advice, t));
        }
        h.raw("<div class=\"receipt-panel\">").element("h2", &[("id", Some("receipt-label"))], t.receipt_label);
        h.element(
            "p",
            &[("class", Some("receipt")), ("id", Some("receipt-code")), ("aria-labelledby", Some("receipt-label"))],
            receipt,
        );
        h.element("p", &[("class", Some("receipt-instruction"))], t.receipt_instruction).raw("</div>");
        h.element("h2", &[], t.next_title);
        match contact_due {
            Some(due) => h.element("p", &[], &t.next_due.replace("{when}", &local_time(t, due))),
            None => h.element("p", &[], t.next_unknown),
        };
        h.raw("<ul class=\"advice\">");
        for line in advice.iter().skip(usize::from(emergency)) {
            h.element("li", &[], line);
        }
        h.raw("</ul><p>").element("a", &[("href", Some("/intake/follow-up"))], t.follow_up_link).raw("</p>");
    })
}

/// The call-112 line of the advice (always its first line when there is danger).
fn texts_112<'a>(advice: &[&'a str], t: &'a Texts) -> &'a str {
    advice.first().copied().unwrap_or(t.danger_banner)
}

/// The form that asks for the receipt code.
pub fn follow_up_form(t: &Texts, values: &Form, errors: &Errors) -> String {
    let switch = if errors.any() { Switch::None } else { Switch::Links("/intake/follow-up") };
    layout(t, t.follow_up_title, errors, switch, |h| {
        h.element("p", &[("class", Some("lead"))], t.follow_up_intro);
        h.raw("<form method=\"post\" action=\"/intake/reports/status\" novalidate>");
        hidden(h, LANGUAGE_FIELD, t.language.as_str());
        let f = Fields { t, values, errors };
        f.input(h, "receipt_code", t.receipt_code, Some(t.receipt_code_hint), Typed::required("text"));
        h.raw("<button type=\"submit\" class=\"button\">").text(t.show_status).raw("</button></form>");
        h.raw("<p>").element("a", &[("href", Some("/intake/"))], t.new_report_link).raw("</p>");
    })
}

/// A case's status and conversation, with the reply form. `advice` answers a message
/// just sent (112 first when it reported danger); `reply` is what the reporter typed
/// when the reply was refused.
pub fn status(t: &Texts, receipt: &str, view: &Status, advice: &[&str], reply: &Form, errors: &Errors) -> String {
    layout(t, t.status_title, errors, Switch::Status(receipt), |h| {
        if let Some(first) = advice.first() {
            let role = if first.contains("112") { "alert" } else { "status" };
            h.open("div", &[("class", Some(if role == "alert" { "alert" } else { "notice" })), ("role", Some(role))]);
            for line in advice {
                h.element("p", &[], line);
            }
            h.raw("</div>");
        }
        h.raw("<dl class=\"facts\">");
        h.element("dt", &[], t.status).element(
            "dd",
            &[("id", Some("case-status"))],
            word(CaseStatus::ALL, &t.statuses, &view.status),
        );
        h.element("dt", &[], t.received_at).element("dd", &[], &local_time(t, view.received_at));
        if let Some(due) = view.next_contact_due {
            h.element("dt", &[], t.contact_due).element("dd", &[], &local_time(t, due));
        }
        if let Some(planned) = view.next_planned_contact {
            h.element("dt", &[], t.planned_contact).element("dd", &[], &local_time(t, planned));
        }
        h.raw("</dl>").element("h2", &[], t.messages);
        if view.messages.is_empty() {
            h.element("p", &[], t.no_messages);
        } else {
            h.raw("<ol class=\"messages\">");
            for m in &view.messages {
                let class = if m.author == MessageAuthor::Reporter { "message message--own" } else { "message" };
                h.open("li", &[("class", Some(class))]).raw("<p class=\"message-meta\"><strong>");
                h.text(word(MessageAuthor::ALL, &t.authors, &m.author)).raw("</strong> ").text(&local_time(t, m.at));
                h.raw("</p>").element("p", &[("class", Some("message-text"))], &m.text).close("li");
            }
            h.raw("</ol>");
        }
        h.element("h2", &[], t.reply_title);
        h.raw("<form method=\"post\" action=\"/intake/reports/messages\" novalidate>");
        hidden(h, LANGUAGE_FIELD, t.language.as_str());
        hidden(h, "receipt_code", receipt);
        let f = Fields { t, values: reply, errors };
        f.textarea(h, "text", t.reply_text, None);
        f.flag(h, "immediate_danger", t.danger_now, Some(t.danger_now_hint));
        h.raw("<button type=\"submit\" class=\"button\">").text(t.send_reply).raw("</button></form>");
    })
}
