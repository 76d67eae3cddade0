//! The reporter pages as HTML: one layout, and typed builders for each kind of field,
//! so every field gets its label, hint, error and group the same accessible way.

use super::form::{Form, KEY_FIELD, LANGUAGE_FIELD};
use super::html::Html;
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
    fn of(&self, field: &str) -> Option<&'static str> {
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

fn field_id(field: &str) -> String {
    format!("f-{}", field.replace('.', "-"))
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

fn hidden(h: &mut Html, name: &str, value: &str) {
    h.open("input", &[("type", Some("hidden")), ("name", Some(name)), ("value", Some(value))]);
}

/// How a one-line field is typed in: its input type, whether it may stay empty, and
/// what the browser may fill in for it.
#[derive(Clone, Copy)]
struct Typed {
    kind: &'static str,
    optional: bool,
    autocomplete: &'static str,
}

impl Typed {
    const fn required(kind: &'static str) -> Typed {
        Typed { kind, optional: false, autocomplete: "off" }
    }

    const fn optional(kind: &'static str, autocomplete: &'static str) -> Typed {
        Typed { kind, optional: true, autocomplete }
    }
}

/// Builds the fields of one form: what was typed is shown again, errors beside their field.
struct Fields<'a> {
    t: &'a Texts,
    values: &'a Form,
    errors: &'a Errors,
}

/// A field's hint and error ids, for `aria-describedby`.
struct Described {
    id: String,
    hint: Option<String>,
    error: Option<&'static str>,
}

impl Described {
    fn describedby(&self) -> Option<String> {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    fn write(&self, h: &mut Html, t: &Texts) {
        if let Some(hint) = &self.hint {
            h.element("p", &[("class", Some("hint")), ("id", Some(&format!("{}-hint", self.id)))], hint);
        }
        if let Some(error) = self.error {
            h.open("p", &[("class", Some("field-error")), ("id", Some(&format!("{}-error", self.id)))]);
            h.raw("<span class=\"visually-hidden\">").text(t.error_prefix).raw(" </span>").text(error).close("p");
        }
    }
}

impl Fields<'_> {
    fn described(&self, field: &str, hint: Option<&str>) -> Described {
        Described { id: field_id(field), hint: hint.map(str::to_string), error: self.errors.of(field) }
    }

    fn group_class(&self, field: &str) -> &'static str {
        if self.errors.of(field).is_some() {
            "field field--error"
        } else {
            "field"
        }
    }

    fn label(&self, h: &mut Html, id: &str, label: &str, optional: bool) {
        h.open("label", &[("for", Some(id))]).text(label);
        if optional {
            h.raw(" <span class=\"optional\">").text(self.t.optional).raw("</span>");
        }
        h.close("label");
    }

    /// Opens a labelled field: its box, label, hint and error. The caller writes the
    /// control, described by what this returns, and closes the box.
    fn open_field(&self, h: &mut Html, field: &str, label: &str, hint: Option<&str>, optional: bool) -> Described {
        let d = self.described(field, hint);
        h.open("div", &[("class", Some(self.group_class(field)))]);
        self.label(h, &d.id, label, optional);
        d.write(h, self.t);
        d
    }

    /// A one-line text input.
    fn input(&self, h: &mut Html, field: &str, label: &str, hint: Option<&str>, typed: Typed) {
        let Typed { kind, optional, autocomplete } = typed;
        let d = self.open_field(h, field, label, hint, optional);
        let describedby = d.describedby();
        h.open(
            "input",
            &[
                ("type", Some(kind)),
                ("id", Some(&d.id)),
                ("name", Some(field)),
                ("value", Some(self.values.get(field).unwrap_or(""))),
                ("autocomplete", Some(autocomplete)),
                ("aria-describedby", describedby.as_deref()),
                ("aria-invalid", d.error.map(|_| "true")),
            ],
        );
        h.raw("</div>");
    }

    fn textarea(&self, h: &mut Html, field: &str, label: &str, hint: Option<&str>) {
        let d = self.open_field(h, field, label, hint, false);
        let describedby = d.describedby();
        h.open(
            "textarea",
            &[
                ("id", Some(&d.id)),
                ("name", Some(field)),
                ("rows", Some("8")),
                ("aria-describedby", describedby.as_deref()),
                ("aria-invalid", d.error.map(|_| "true")),
            ],
        );
        h.text(self.values.get(field).unwrap_or("")).raw("</textarea></div>");
    }

    fn select(&self, h: &mut Html, field: &str, label: &str, hint: Option<&str>, options: &[(&str, &str)]) {
        let d = self.open_field(h, field, label, hint, false);
        let describedby = d.describedby();
        h.open(
            "select",
            &[
                ("id", Some(&d.id)),
                ("name", Some(field)),
                ("aria-describedby", describedby.as_deref()),
                ("aria-invalid", d.error.map(|_| "true")),
            ],
        );
        h.open("option", &[("value", Some(""))]).text(self.t.choose).raw("…</option>");
        for (value, text) in options {
            let selected = self.values.has(field, value).then_some("");
            h.element("option", &[("value", Some(value)), ("selected", selected)], text);
        }
        h.raw("</select></div>");
    }

    /// A group of radio buttons or check boxes in a fieldset with a legend. The first
    /// box carries the field's id, so the error summary can link to the group.
    fn choices(
        &self,
        h: &mut Html,
        field: &str,
        legend: &str,
        hint: Option<&str>,
        kind: &str,
        options: &[(&str, &str)],
    ) {
        let d = self.described(field, hint);
        let describedby = d.describedby();
        h.open("div", &[("class", Some(self.group_class(field)))]);
        h.open("fieldset", &[("aria-describedby", describedby.as_deref())]);
        h.element("legend", &[], legend);
        d.write(h, self.t);
        h.open("div", &[("class", Some(if kind == "radio" { "radios" } else { "checkboxes" }))]);
        for (i, (value, text)) in options.iter().enumerate() {
            let id = if i == 0 { d.id.clone() } else { format!("{}-{value}", d.id) };
            let checked = self.values.has(field, value).then_some("");
            h.raw("<div class=\"choice\">");
            h.open(
                "input",
                &[
                    ("type", Some(kind)),
                    ("id", Some(&id)),
                    ("name", Some(field)),
                    ("value", Some(value)),
                    ("checked", checked),
                ],
            );
            h.element("label", &[("for", Some(&id))], text).raw("</div>");
        }
        h.raw("</div></fieldset></div>");
    }

    /// One check box that stands alone.
    fn flag(&self, h: &mut Html, field: &str, label: &str, hint: Option<&str>) {
        let d = self.described(field, hint);
        let describedby = d.describedby();
        let checked = self.values.has(field, "true").then_some("");
        h.open("div", &[("class", Some(self.group_class(field)))]);
        h.raw("<div class=\"choice\">");
        h.open(
            "input",
            &[
                ("type", Some("checkbox")),
                ("id", Some(&d.id)),
                ("name", Some(field)),
                ("value", Some("true")),
                ("checked", checked),
                ("aria-describedby", describedby.as_deref()),
            ],
        );
        h.element("label", &[("for", Some(&d.id))], label).raw("</div>");
        d.write(h, self.t);
        h.raw("</div>");
    }
}

fn options<T: Copy + PartialEq>(
    all: &[T],
    words: &[&'static str],
    wire: fn(T) -> &'static str,
) -> Vec<(&'static str, &'static str)> {
    all.iter().map(|v| (wire(*v), word(all, words, v))).collect()
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

/// A time as people in the Netherlands read it: Dutch local time (CET, CEST from the
/// last Sunday of March to the last Sunday of October, changing at 01:00 UTC).
pub fn local_time(t: &Texts, at: Timestamp) -> String {
    let utc = at.unix_seconds();
    let (year, _, _) = civil_from_days(utc.div_euclid(86_400));
    let change = |month: i64| (last_sunday(year, month) * 86_400) + 3_600;
    let offset = if utc >= change(3) && utc < change(10) { 7_200 } else { 3_600 };
    let local = utc + offset;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let minutes = local.rem_euclid(86_400) / 60;
    let month = t.months[(m - 1) as usize];
    format!("{d} {month} {y}, {:02}:{:02}", minutes / 60, minutes % 60)
}

/// Days since 1970-01-01 of a date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// The day number of the last Sunday of a 31-day month (March, October).
fn last_sunday(year: i64, month: i64) -> i64 {
    let last = days_from_civil(year, month, 31);
    // 1970-01-01 was a Thursday: (days + 4) mod 7 is 0 on Sundays.
    last - (last + 4).rem_euclid(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> String {
        local_time(&texts::NL, Timestamp::parse(text).unwrap())
    }

    #[test]
    fn times_are_shown_in_dutch_local_time_across_the_clock_changes() {
        assert_eq!(at("2026-12-01T18:30:00Z"), "1 december 2026, 19:30");
        assert_eq!(at("2026-07-01T18:30:00Z"), "1 juli 2026, 20:30");
        // Summer time 2026: 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(at("2026-03-29T00:59:00Z"), "29 maart 2026, 01:59");
        assert_eq!(at("2026-03-29T01:00:00Z"), "29 maart 2026, 03:00");
        assert_eq!(at("2026-10-25T00:59:00Z"), "25 oktober 2026, 02:59");
        assert_eq!(at("2026-10-25T01:00:00Z"), "25 oktober 2026, 02:00");
        assert_eq!(at("2026-12-31T23:30:00Z"), "1 januari 2027, 00:30");
    }
}
