use proptest::prelude::*;
use shared::text::{is_bidi_control, refusal};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn text_is_refused_exactly_for_controls_and_bidi_overrides(text in prop_oneof![
        any::<String>(),
        "[a-z\\n\\t\u{202a}-\u{202e}\u{2066}-\u{2069}\u{200e}\u{200f}\u{0}-\u{1f}]{0,20}",
    ], multiline in any::<bool>()) {
        let bad = text.chars().any(|c| {
            is_bidi_control(c) || (c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
        });
        prop_assert_eq!(refusal(&text, multiline).is_some(), bad);
        // What is refused on many lines is refused on one.
        if refusal(&text, true).is_some() {
            prop_assert!(refusal(&text, false).is_some());
        }
    }
}
