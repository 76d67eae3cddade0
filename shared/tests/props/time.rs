use proptest::prelude::*;
use shared::time::{Duration, Timestamp};

/// RFC 3339-looking text: right shapes with wrong numbers, offsets and fractions.
fn timestamp_like() -> impl Strategy<Value = String> {
    (
        0..=10_000i32,
        0..=13u8,
        0..=32u8,
        0..=25u8,
        0..=61u8,
        0..=61u8,
        "(\\.[0-9]{0,12})?",
        prop_oneof![Just("Z".to_string()), Just("z".to_string()), "[+-][0-2][0-9]:[0-6][0-9]", Just(String::new()),],
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, zone)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_text_is_an_instant_or_refused(text in prop_oneof![crate::hostile_text(), timestamp_like()]) {
        if let Ok(t) = Timestamp::parse(&text) {
            // Shown in the one canonical form, which parses back to the same instant.
            let shown = t.to_string();
            prop_assert_eq!(shown.len(), 24);
            prop_assert_eq!(Timestamp::parse(&shown).unwrap(), t);
            let json = serde_json::to_string(&t).unwrap();
            prop_assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        }
    }

    #[test]
    fn millis_round_trip(millis in -62_135_596_800_000i64..253_402_300_799_999i64) {
        let t = Timestamp::from_unix_millis(millis);
        prop_assert_eq!(t.unix_millis(), millis);
        prop_assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
    }

    #[test]
    fn until_is_never_negative(a in any::<i64>(), b in any::<i64>()) {
        let (a, b) = (Timestamp::from_unix_millis(a), Timestamp::from_unix_millis(b));
        prop_assert!(a.until(b) >= Duration::ZERO);
    }
}
