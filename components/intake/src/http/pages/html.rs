//! A tiny HTML writer that is safe by construction: markup can only be written from
//! `&'static str` literals of this crate, and every runtime value goes through
//! [`Html::text`] or an attribute, which escape it. No templating crate: the pages
//! are few, and the component stays small.

/// An HTML document being written.
#[derive(Default)]
pub struct Html(String);

/// Escapes text for element content and double-quoted attribute values.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

impl Html {
    /// Markup written by this crate (never a runtime value).
    pub fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Text, escaped.
    pub fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.0, text);
        self
    }

    /// Opens `<tag a="v" ...>`; values are escaped. A `None` value leaves the attribute
    /// out, an empty one writes it bare (`checked`).
    pub fn open(&mut self, tag: &'static str, attrs: &[(&'static str, Option<&str>)]) -> &mut Self {
        self.0.push('<');
        self.0.push_str(tag);
        for (name, value) in attrs {
            let Some(value) = value else { continue };
            self.0.push(' ');
            self.0.push_str(name);
            if !value.is_empty() {
                self.0.push_str("=\"");
                escape_into(&mut self.0, value);
                self.0.push('"');
            }
        }
        self.0.push('>');
        self
    }

    /// `</tag>`.
    pub fn close(&mut self, tag: &'static str) -> &mut Self {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    /// `<tag attrs>text</tag>`.
    pub fn element(&mut self, tag: &'static str, attrs: &[(&'static str, Option<&str>)], text: &str) -> &mut Self {
        self.open(tag, attrs).text(text).close(tag)
    }

    /// The document.
    pub fn finish(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        let mut h = Html::default();
        h.element("p", &[("title", Some("\"><script>")), ("hidden", None), ("checked", Some(""))], "<b>&'");
        assert_eq!(h.finish(), "<p title=\"&quot;&gt;&lt;script&gt;\" checked>&lt;b&gt;&amp;&#39;</p>");
    }
}
