use proptest::prelude::*;
use shared::random::SeededRandom;
use shared::receipt::ReceiptCode;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_text_is_a_code_of_sixteen_digits_or_refused(text in prop_oneof![
        crate::hostile_text(),
        "[0-9 -]{10,24}",
        "[0-9０-９٠-٩ -]{14,20}",
    ]) {
        if let Ok(code) = ReceiptCode::parse(&text) {
            let canonical = code.canonical();
            prop_assert_eq!(canonical.len(), 16);
            prop_assert!(canonical.bytes().all(|b| b.is_ascii_digit()));
            // Only ASCII digits count: the input's digits, in order, are the code.
            let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
            prop_assert_eq!(&digits, &canonical);
            prop_assert!(text.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-'));
            // The shown form parses back to the same code.
            prop_assert_eq!(ReceiptCode::parse(&code.to_string()).unwrap(), code);
        }
    }

    #[test]
    fn generated_and_derived_codes_round_trip(seed in any::<u64>(), material in any::<[u8; 16]>()) {
        for code in [ReceiptCode::generate(&SeededRandom::new(seed)), ReceiptCode::derive(&material)] {
            prop_assert_eq!(ReceiptCode::parse(&code.to_string()).unwrap(), code.clone());
            prop_assert_eq!(ReceiptCode::parse(&code.canonical()).unwrap(), code);
        }
    }
}
