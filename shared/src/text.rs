//! Free text from people: what it may not contain.
//!
//! Names, reasons, notes and messages are shown to confidants, admins and reporters.
//! Control characters (a NUL, a terminal escape) and the Unicode bidirectional
//! formatting characters that reorder how text is displayed ("Trojan Source":
//! U+202A–U+202E embeddings and overrides, U+2066–U+2069 isolates) can make a stored
//! text show something other than it says, so they are refused where text comes in.
//! Line breaks and tabs are allowed in multi-line text; the marks U+200E/U+200F (which
//! only nudge neutral characters) are allowed everywhere, since right-to-left writers need them.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
