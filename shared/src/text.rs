//! Free text from people: the one way every component takes it.
//!
//! Names, reasons, notes and messages are shown to confidants, admins and reporters.
//! Control characters (a NUL, a terminal escape) and the Unicode bidirectional
//! formatting characters that reorder how text is displayed ("Trojan Source":
//! U+202A–U+202E embeddings and overrides, U+2066–U+2069 isolates) can make a stored
//! text show something other than it says, so they are refused where text comes in
//! ([`refusal`]). Line breaks and tabs are allowed in multi-line text; the marks
//! U+200E/U+200F (which only nudge neutral characters) are allowed everywhere, since
//! right-to-left writers need them.
//!
//! [`BoundedText<MAX>`] is one line: trimmed, 1 to `MAX` characters. [`Paragraphs<MAX>`]
//! is the same but keeps line breaks and tabs. Both are parsed by serde, so a bad value
//! is refused at its JSON pointer.

use serde::{Deserialize, Serialize};

/// Trimmed text of 1 to `MAX` characters without control or bidi-override characters;
/// newlines, carriage returns and tabs are kept when `MULTILINE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BoundedText<const MAX: usize, const MULTILINE: bool = false>(String);

/// Text of 1 to `MAX` characters that may span lines (messages, notes, reasons).
pub type Paragraphs<const MAX: usize> = BoundedText<MAX, true>;

/// Whether `c` reorders displayed text: an embedding, override or isolate.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Why `text` is refused, if it is: a control character (line breaks and tabs allowed
/// when `multiline`) or a bidirectional formatting character.
pub fn refusal(text: &str, multiline: bool) -> Option<&'static str> {
    if text.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
        return Some("must not contain control characters");
    }
    if text.chars().any(is_bidi_control) {
        return Some("must not contain bidirectional override or isolate characters (U+202A-U+202E, U+2066-U+2069)");
    }
    None
}

impl<const MAX: usize, const MULTILINE: bool> BoundedText<MAX, MULTILINE> {
    /// Parses `raw`: trimmed, then 1 to `MAX` characters, no control characters (but
    /// line breaks and tabs when `MULTILINE`), no bidi overrides. The error says why.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::parse_between(raw, 1)
    }

    /// As [`BoundedText::parse`], with at least `min` characters.
    pub fn parse_between(raw: &str, min: usize) -> Result<Self, String> {
        let text = raw.trim();
        let chars = text.chars().count();
        if !(min..=MAX).contains(&chars) {
            return Err(format!("must be {min} to {MAX} characters long"));
        }
        if let Some(why) = refusal(text, MULTILINE) {
            return Err(why.into());
        }
        Ok(BoundedText(text.to_string()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MAX: usize, const MULTILINE: bool> std::ops::Deref for BoundedText<MAX, MULTILINE> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize, const MULTILINE: bool> std::fmt::Display for BoundedText<MAX, MULTILINE> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de, const MAX: usize, const MULTILINE: bool> Deserialize<'de> for BoundedText<MAX, MULTILINE> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(BoundedText::<5>::parse("  abc ").unwrap().as_str(), "abc");
        assert!(BoundedText::<5>::parse("   ").is_err());
        assert!(BoundedText::<5>::parse("abcdef").is_err());
        assert_eq!(BoundedText::<5>::parse("ééééé").unwrap().len(), 10, "characters, not bytes");
        assert!(BoundedText::<5>::parse_between("a", 2).is_err());
    }

    #[test]
    fn line_breaks_only_where_text_may_span_lines() {
        assert!(BoundedText::<50>::parse("one\ntwo").is_err());
        assert_eq!(Paragraphs::<50>::parse("one\r\n\ttwo").unwrap().as_str(), "one\r\n\ttwo");
        assert!(Paragraphs::<50>::parse("bell\u{7}").is_err());
        assert!(Paragraphs::<50>::parse("nul\u{0}").is_err());
    }

    #[test]
    fn controls_and_bidi_overrides_are_refused() {
        assert_eq!(refusal("Een man staat voor de deur.", false), None);
        assert_eq!(refusal("regel één\nregel twee\tmet tab", true), None);
        assert!(refusal("regel één\nregel twee", false).is_some());
        assert_eq!(refusal("مرحبا \u{200F}abc\u{200E}", false), None);
        for bad in ["a\u{0}b", "\u{1b}[2J", "x\u{7f}", "\u{85}", "abc\u{202E}fdp.exe", "\u{2066}x\u{2069}", "\u{202A}"]
        {
            assert!(refusal(bad, true).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn bidi_overrides_are_refused_in_bounded_text() {
        assert!(Paragraphs::<50>::parse("pay \u{202E}gnp.exe").is_err());
        assert!(BoundedText::<50>::parse("a\u{2067}b").is_err());
        assert!(BoundedText::<50>::parse("مرحبا hallo").is_ok(), "right-to-left script itself is fine");
    }

    #[test]
    fn serde_refuses_with_the_reason() {
        let err = serde_json::from_str::<BoundedText<3>>("\"abcd\"").unwrap_err();
        assert!(err.to_string().contains("must be 1 to 3 characters long"), "{err}");
        let ok: Paragraphs<10> = serde_json::from_str("\" hi \"").unwrap();
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"hi\"");
    }
}
