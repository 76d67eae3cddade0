//! The directory's core: the member register, its index lists, matching, loads and the
//! contact-read audit. Everything here works on the store; nothing sees HTTP.

pub mod cards;
pub mod contact_audit;
pub mod index;
pub mod load;
pub mod matching;
pub mod member;
pub mod record;
pub mod registry;
