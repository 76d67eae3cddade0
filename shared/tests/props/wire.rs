//! Wire enums (`wire_enum!`): a word is one of the listed ones, exactly, or refused
//! with the list.
use proptest::prelude::*;
use shared::domain::*;

macro_rules! wire_props {
    ($($test:ident: $ty:ty),+) => {$(
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn $test(text in prop_oneof![
                crate::hostile_text(),
                // Near misses of real words: another case, padding, a suffix.
                (0..<$ty>::ALL.len(), 0..4u8).prop_map(|(i, how)| {
                    let word = <$ty>::ALL[i].as_str();
                    match how { 0 => word.to_uppercase(), 1 => format!(" {word}"), 2 => format!("{word}\u{0}"), _ => word.to_string() }
                }),
            ]) {
                match <$ty>::parse(&text) {
                    Ok(v) => {
                        prop_assert_eq!(v.as_str(), text.as_str());
                        let json = serde_json::to_string(&v).unwrap();
                        prop_assert_eq!(serde_json::from_str::<$ty>(&json).unwrap(), v);
                    }
                    Err(e) => {
                        prop_assert!(!<$ty>::ALL.iter().any(|v| v.as_str() == text));
                        prop_assert!(e.starts_with("must be one of: "), "{}", e);
                    }
                }
            }
        }
    )+};
}

wire_props!(
    roles: Role,
    relations: Relation,
    request_kinds: RequestKind,
    incident_kinds: IncidentKind,
    support_needs: SupportNeed,
    recurrences: Recurrence,
    languages: Language,
    organisations: Organisation,
    priorities: Priority,
    case_statuses: CaseStatus,
    region_codes: RegionCode
);
