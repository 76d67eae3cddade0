use proptest::prelude::*;
use shared::id::{CaseId, CheckInId, EventId, MemberId, MessageId, SubscriptionId, TokenId};
use shared::random::SeededRandom;

macro_rules! id_props {
    ($($test:ident: $ty:ty),+) => {$(
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn $test(text in prop_oneof![
                crate::hostile_text(),
                // Near misses: the right prefix with bodies of any length and case.
                "[0-9a-zA-Z]{0,30}".prop_map(|b| format!("{}{b}", <$ty>::PREFIX)),
                any::<u64>().prop_map(|seed| <$ty>::generate(&SeededRandom::new(seed)).to_string()),
            ]) {
                match <$ty>::parse(&text) {
                    Ok(id) => {
                        // Valid: prefix, 26 characters of the alphabet, and the text kept.
                        prop_assert_eq!(id.as_str(), text.as_str());
                        let body = text.strip_prefix(<$ty>::PREFIX).unwrap();
                        prop_assert_eq!(body.len(), 26);
                        prop_assert!(body.bytes().all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b)));
                        let json = serde_json::to_string(&id).unwrap();
                        prop_assert_eq!(serde_json::from_str::<$ty>(&json).unwrap(), id);
                    }
                    Err(e) => prop_assert_eq!(e.expected_prefix, <$ty>::PREFIX),
                }
            }
        }
    )+};
}

id_props!(
    case_ids: CaseId,
    member_ids: MemberId,
    subscription_ids: SubscriptionId,
    message_ids: MessageId,
    event_ids: EventId,
    token_ids: TokenId,
    check_in_ids: CheckInId
);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn generated_ids_always_parse(seed in any::<u64>()) {
        let id = CaseId::generate(&SeededRandom::new(seed));
        prop_assert_eq!(CaseId::parse(id.as_str()).unwrap(), id.clone());
        // One kind is never another.
        prop_assert!(MemberId::parse(id.as_str()).is_err());
    }
}
