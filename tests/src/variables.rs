//! Application variables: resolution at start (explicit values, then
//! `SPIN_VARIABLE_<NAME>`, then `.env`, then the default) and
//! `fermyon:spin/variables@2.0.0` for guests.

use crate::manifest::{check_variable_name, Manifest};
use crate::wit::fermyon::spin::variables as spin_vars;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use wasmtime::component::{HasData, Linker};

/// Where variable values come from, in order of precedence.
#[derive(Debug, Clone, Default)]
pub struct VariableSources {
    /// Like `spin up --variable name=value`.
    pub explicit: HashMap<String, String>,
    /// Read `SPIN_VARIABLE_<NAME>` from the process environment.
    pub environment: bool,
    /// Read `SPIN_VARIABLE_<NAME>` lines from this `.env` file, if it exists.
    pub dotenv: Option<std::path::PathBuf>,
}

/// Resolves every application variable, failing like Spin when a required
/// one has no value.
pub fn resolve(manifest: &Manifest, sources: &VariableSources) -> Result<HashMap<String, String>> {
    for name in sources.explicit.keys() {
        if !manifest.variables.contains_key(name) {
            bail!("variable `{name}` is given a value but the manifest does not declare it");
        }
    }
    let dotenv = match &sources.dotenv {
        Some(path) if path.exists() => read_dotenv(path)?,
        _ => HashMap::new(),
    };
    let mut values = HashMap::new();
    let mut missing = Vec::new();
    for (name, decl) in &manifest.variables {
        let env_name = format!("SPIN_VARIABLE_{}", name.to_uppercase());
        let value = sources
            .explicit
            .get(name)
            .cloned()
            .or_else(|| sources.environment.then(|| std::env::var(&env_name).ok()).flatten())
            .or_else(|| dotenv.get(&env_name).cloned())
            .or_else(|| decl.default.clone());
        match value {
            Some(v) => {
                values.insert(name.clone(), v);
            }
            None => missing.push(name.clone()),
        }
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|m| format!("Key({m:?})")).collect();
        bail!("provider error: no provider resolved required variable(s): [{}]", list.join(", "));
    }
    Ok(values)
}

fn read_dotenv(path: &Path) -> Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            out.insert(k.trim().to_string(), v.to_string());
        }
    }
    Ok(out)
}

/// The variables one component declared, already expanded.
pub struct VarsView<'a> {
    pub values: &'a Arc<HashMap<String, String>>,
}

pub struct VarsData;

impl HasData for VarsData {
    type Data<'a> = VarsView<'a>;
}

pub fn add_to_linker<T: 'static>(linker: &mut Linker<T>, view: fn(&mut T) -> VarsView<'_>) -> anyhow::Result<()> {
    spin_vars::add_to_linker::<T, VarsData>(linker, view)?;
    Ok(())
}

impl spin_vars::Host for VarsView<'_> {
    fn get(&mut self, name: String) -> wasmtime::Result<Result<String, spin_vars::Error>> {
        if let Err(e) = check_variable_name(&name) {
            return Ok(Err(spin_vars::Error::InvalidName(e.to_string())));
        }
        Ok(self
            .values
            .get(&name)
            .cloned()
            .ok_or_else(|| spin_vars::Error::Undefined(format!("no variable for {name:?}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
spin_manifest_version = 2
[variables]
secret_one = { required = true, secret = true }
plain = { default = "d" }
"#,
            Path::new("."),
        )
        .unwrap()
    }

    #[test]
    fn missing_required_variable_is_named() {
        let err = resolve(&manifest(), &VariableSources::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no provider resolved required variable(s)"), "{text}");
        assert!(text.contains("secret_one"), "{text}");
    }

    #[test]
    fn explicit_values_beat_defaults() {
        let mut sources = VariableSources::default();
        sources.explicit.insert("secret_one".into(), "s".into());
        sources.explicit.insert("plain".into(), "p".into());
        let v = resolve(&manifest(), &sources).unwrap();
        assert_eq!(v["plain"], "p");
    }

    #[test]
    fn dotenv_supplies_values_below_explicit_ones() {
        let dir = std::env::temp_dir().join(format!("weerbaar-dotenv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".env");
        std::fs::write(&path, "# comment\nSPIN_VARIABLE_SECRET_ONE=\"from-dotenv\"\nSPIN_VARIABLE_PLAIN=x\n").unwrap();
        let mut sources = VariableSources { dotenv: Some(path), ..Default::default() };
        let v = resolve(&manifest(), &sources).unwrap();
        assert_eq!(v["secret_one"], "from-dotenv");
        assert_eq!(v["plain"], "x");
        sources.explicit.insert("plain".into(), "explicit".into());
        assert_eq!(resolve(&manifest(), &sources).unwrap()["plain"], "explicit");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
