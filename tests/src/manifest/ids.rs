//! Spin's rules for the names in a manifest (`docs/spin-host.md`, "Names Spin
//! refuses"). Spin parses variable names as lower-case snake ids and component ids as
//! kebab ids while reading the TOML, so a name it refuses stops `spin up` before
//! anything is served; the host refuses the same names the same way.

use anyhow::{bail, Result};

/// Fails unless `name` is a variable name Spin accepts: `_`-separated words, each
/// starting with an ASCII letter, all lower case (`webhook_outbound_host_a`).
pub(crate) fn check_variable_id(name: &str) -> Result<()> {
    if let Err(rule) = broken_rule(name, '_', true) {
        bail!("invalid variable name `{name}`: {rule}");
    }
    Ok(())
}

/// Fails unless `id` is a component id Spin accepts: `-`-separated words, each starting
/// with an ASCII letter and all lower or all upper case (`notification`, `my-COMP`).
pub(crate) fn check_component_id(id: &str) -> Result<()> {
    if let Err(rule) = broken_rule(id, '-', false) {
        bail!("invalid component id `{id}`: {rule}");
    }
    Ok(())
}

/// The first rule `id` breaks, worded as the rule.
fn broken_rule(id: &str, delim: char, lower_only: bool) -> Result<(), String> {
    if id.is_empty() {
        return Err("a name must not be empty".into());
    }
    for word in id.split(delim) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return Err(format!("`{delim}`-separated words must not be empty"));
        };
        if !first.is_ascii_alphabetic() {
            return Err(format!("`{delim}`-separated words must start with an ASCII letter (word `{word}`)"));
        }
        let upper = first.is_ascii_uppercase();
        for c in chars {
            if !c.is_ascii_alphanumeric() {
                return Err(format!("`{delim}`-separated words hold only ASCII letters and digits (found {c:?})"));
            }
            if c.is_ascii_alphabetic() && c.is_ascii_uppercase() != upper {
                return Err(format!(
                    "`{delim}`-separated words must be all lower case or all upper case (word `{word}`)"
                ));
            }
        }
        if lower_only && upper {
            return Err(format!("must be all lower case (word `{word}`)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each accepted name passes `check`; each refused one fails naming itself and `rule`.
    fn holds(check: fn(&str) -> Result<()>, accepted: &[&str], refused: &[(&str, &str)]) {
        for name in accepted {
            assert!(check(name).is_ok(), "`{name}` is a name Spin accepts: {:?}", check(name));
        }
        for (name, rule) in refused {
            let error = check(name).expect_err(name).to_string();
            assert!(error.contains(&format!("`{name}`")) && error.contains(rule), "`{name}`: {error}");
        }
    }

    #[test]
    fn variable_names_follow_spins_lower_snake_rule() {
        let accepted = [
            "a",
            "webhook_outbound_host1",
            "webhook_outbound_host_a",
            "webhook_outbound_host_one",
            "first_contact_sla_minutes",
            "a1_b2",
        ];
        let refused = [
            ("webhook_outbound_host_1", "must start with an ASCII letter"),
            ("", "must not be empty"),
            ("a__b", "must not be empty"),
            ("_a", "must not be empty"),
            ("a_", "must not be empty"),
            ("1a", "must start with an ASCII letter"),
            ("Abc", "all lower case"),
            ("ABC", "all lower case"),
            ("aBc", "all lower case or all upper case"),
            ("a-b", "only ASCII letters and digits"),
            ("a b", "only ASCII letters and digits"),
            ("caf\u{e9}", "only ASCII letters and digits"),
        ];
        holds(check_variable_id, &accepted, &refused);
    }

    #[test]
    fn component_ids_follow_spins_kebab_rule() {
        let accepted = ["notification", "my-comp", "my-COMP", "MY-COMP", "a1-b2", "peer"];
        let refused = [
            ("my-Comp", "all lower case or all upper case"),
            ("my--comp", "must not be empty"),
            ("-comp", "must not be empty"),
            ("comp-", "must not be empty"),
            ("", "must not be empty"),
            ("comp-1", "must start with an ASCII letter"),
            ("my_comp", "only ASCII letters and digits"),
            ("my.comp", "only ASCII letters and digits"),
        ];
        holds(check_component_id, &accepted, &refused);
    }
}
