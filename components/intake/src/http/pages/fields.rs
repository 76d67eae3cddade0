//! Builders for each kind of form field, so every field gets its label, hint, error
//! and group the same accessible way; what was typed is shown again.

use super::form::Form;
use super::html::Html;
use super::texts::{word, Texts};
use super::views::Errors;

/// The id of a field's element (`contact.phone` is `f-contact-phone`).
pub fn field_id(field: &str) -> String {
    format!("f-{}", field.replace('.', "-"))
}

/// A hidden field.
pub fn hidden(h: &mut Html, name: &str, value: &str) {
    h.open("input", &[("type", Some("hidden")), ("name", Some(name)), ("value", Some(value))]);
}

/// How a one-line field is typed in: its input type, whether it may stay empty, and
/// what the browser may fill in for it.
#[derive(Clone, Copy)]
pub struct Typed {
    kind: &'static str,
    optional: bool,
    autocomplete: &'static str,
}

impl Typed {
    /// A field that must be filled in.
    pub const fn required(kind: &'static str) -> Typed {
        Typed { kind, optional: false, autocomplete: "off" }
    }

    /// A field that may stay empty; the browser may fill it in as `autocomplete`.
    pub const fn optional(kind: &'static str, autocomplete: &'static str) -> Typed {
        Typed { kind, optional: true, autocomplete }
    }
}

/// Builds the fields of one form: what was typed is shown again, errors beside their field.
pub struct Fields<'a> {
    pub t: &'a Texts,
    pub values: &'a Form,
    pub errors: &'a Errors,
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
    pub fn input(&self, h: &mut Html, field: &str, label: &str, hint: Option<&str>, typed: Typed) {
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

    pub fn textarea(&self, h: &mut Html, field: &str, label: &str, hint: Option<&str>) {
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

    pub fn select(&self, h: &mut Html, field: &str, label: &str, hint: Option<&str>, options: &[(&str, &str)]) {
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
    pub fn choices(
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
    pub fn flag(&self, h: &mut Html, field: &str, label: &str, hint: Option<&str>) {
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

/// The options of a choice: each value's wire name and its word in the page's language.
pub fn options<T: Copy + PartialEq>(
    all: &[T],
    words: &[&'static str],
    wire: fn(T) -> &'static str,
) -> Vec<(&'static str, &'static str)> {
    all.iter().map(|v| (wire(*v), word(all, words, v))).collect()
}
