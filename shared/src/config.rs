//! The variables port: configuration and secrets come from Spin variables.

use crate::problem::Problem;
use std::collections::HashMap;

/// Reads a component variable; `None` when it is not set.
pub trait Variables {
    /// The variable's value.
    fn get(&self, name: &str) -> Option<String>;
}

/// Variables from a map, for tests.
#[derive(Debug, Default, Clone)]
pub struct MapVariables(pub HashMap<String, String>);

impl MapVariables {
    /// Variables from pairs.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        MapVariables(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    /// Sets one.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_string(), value.into());
    }
}

impl Variables for MapVariables {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// A variable that is missing or malformed. Names the variable, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable.
    pub variable: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "variable `{}` {}", self.variable, self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for Problem {
    /// 503 `misconfigured`, naming the variable and what is wrong with it, never its
    /// value (the reasons never quote one).
    fn from(err: ConfigError) -> Self {
        Problem::new(
            crate::problem::ProblemKind::Misconfigured,
            format!("the service is not configured correctly ({err}); the operator has been told"),
        )
    }
}

/// The shortest secret we accept (`admin_token`, `internal_secret`): guessable short
/// secrets are refused at use instead of protecting nothing.
pub const MIN_SECRET_CHARS: usize = 32;

/// A required secret of at least [`MIN_SECRET_CHARS`] characters.
pub fn secret(vars: &dyn Variables, name: &str) -> Result<String, ConfigError> {
    let value = required(vars, name)?;
    if value.chars().count() < MIN_SECRET_CHARS {
        return Err(ConfigError {
            variable: name.into(),
            reason: format!("is shorter than {MIN_SECRET_CHARS} characters"),
        });
    }
    Ok(value)
}

/// A variable that must be set and non-empty.
pub fn required(vars: &dyn Variables, name: &str) -> Result<String, ConfigError> {
    match vars.get(name) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError { variable: name.into(), reason: "is not set".into() }),
    }
}

/// A required variable, parsed.
pub fn parsed<T>(
    vars: &dyn Variables,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    let raw = required(vars, name)?;
    parse(&raw).map_err(|reason| ConfigError { variable: name.into(), reason: format!("is invalid: {reason}") })
}

/// A required variable holding a number.
pub fn number<T: std::str::FromStr>(vars: &dyn Variables, name: &str) -> Result<T, ConfigError> {
    parsed(vars, name, |raw| raw.trim().parse().map_err(|_| "must be a whole number".to_string()))
}

/// A retention period in whole days (1 to 3650), `default` when the variable is unset
/// or empty: older manifests without it keep the documented default.
pub fn days_or(vars: &dyn Variables, name: &str, default: u32) -> Result<u32, ConfigError> {
    match vars.get(name) {
        None => Ok(default),
        Some(raw) if raw.trim().is_empty() => Ok(default),
        Some(raw) => raw.trim().parse().ok().filter(|d| (1..=3650).contains(d)).ok_or_else(|| ConfigError {
            variable: name.into(),
            reason: "must be a whole number of days from 1 to 3650".into(),
        }),
    }
}

/// The bootstrap admin token to accept: `admin_token`, or nothing when
/// `bootstrap_admin_enabled` is `false` (default `true`), once real programme admins exist.
pub fn bootstrap_admin_token(vars: &dyn Variables) -> Result<String, ConfigError> {
    let token = secret(vars, "admin_token")?;
    match vars.get("bootstrap_admin_enabled").as_deref().map(str::trim) {
        None | Some("") | Some("true") => Ok(token),
        Some("false") => Ok(String::new()),
        Some(_) => {
            Err(ConfigError { variable: "bootstrap_admin_enabled".into(), reason: "must be true or false".into() })
        }
    }
}

/// A URL of another component: no trailing slash, http or https.
pub fn base_url(vars: &dyn Variables, name: &str) -> Result<String, ConfigError> {
    parsed(vars, name, |raw| {
        let url = raw.trim().trim_end_matches('/');
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(url.to_string())
        } else {
            Err("must start with http:// or https://".into())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named() {
        let vars = MapVariables::default();
        let err = required(&vars, "internal_secret").unwrap_err();
        assert_eq!(err.to_string(), "variable `internal_secret` is not set");
    }

    #[test]
    fn a_malformed_variable_is_named_without_its_value() {
        let vars = MapVariables::from_pairs(&[("limit", "ten-thousand")]);
        let err = number::<u32>(&vars, "limit").unwrap_err().to_string();
        assert!(err.contains("`limit`") && !err.contains("ten-thousand"), "{err}");
        let vars = MapVariables::from_pairs(&[("u", "http://triage.spin.internal/")]);
        assert_eq!(base_url(&vars, "u").unwrap(), "http://triage.spin.internal");
    }
}
