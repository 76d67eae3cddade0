//! Property tests of shared's parsers (issue 15): whatever the input, a parser gives a
//! valid value (that round-trips where a serialiser exists) or refuses, and never
//! panics. One test binary, one module per parser; case counts are modest (256) so the
//! binary runs in seconds: `cargo test -p shared --test props`.

mod ids;
mod json_input;
mod query;
mod receipt;
mod text;
mod time;
mod wire;

use proptest::prelude::*;

/// Strings that look like what an attacker or a confused client sends: ASCII with
/// separators, percent signs and digits, and any Unicode.
pub fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9_%.+/ -]{0,40}", "[0-9: TZtz.+-]{0,40}", any::<String>(), "\\PC{0,30}",]
}
