//! `spin.toml` (manifest version 2): the parts Spin's HTTP trigger reads.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

mod ids;

/// A parsed `spin.toml`, with component sources resolved against its directory.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Directory holding the manifest; `source` paths and `.env` are relative to it.
    pub dir: PathBuf,
    pub name: String,
    pub variables: BTreeMap<String, VariableDecl>,
    /// HTTP triggers in manifest order (order breaks ties between identical routes).
    pub triggers: Vec<HttpTrigger>,
    pub components: BTreeMap<String, ComponentDecl>,
}

/// An application variable from `[variables]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    pub component: String,
    pub route: TriggerRoute,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerRoute {
    /// A public route as written (`/intake/...`, `/cases/:id`).
    Public(String),
    /// `route = { private = true }`: reachable only by service chaining.
    Private,
}

/// One `[component.<id>]` table.
#[derive(Debug, Clone)]
pub struct ComponentDecl {
    pub id: String,
    /// Absolute path of the `.wasm` file.
    pub source: PathBuf,
    pub key_value_stores: Vec<String>,
    /// Entries as written; they may hold `{{ variable }}` templates.
    pub allowed_outbound_hosts: Vec<String>,
    /// Component variable name → template over application variables.
    pub variables: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawManifest {
    spin_manifest_version: u32,
    #[serde(default)]
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize, Default)]
struct RawApplication {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize, Default)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Deserialize)]
struct RawHttpTrigger {
    route: RawRoute,
    component: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

#[derive(Deserialize)]
struct RawComponent {
    source: String,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
}

impl Manifest {
    /// Reads and checks a manifest the way `spin up` would before starting.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read manifest {}", path.display()))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
        Self::parse(&text, &dir).with_context(|| format!("invalid manifest {}", path.display()))
    }

    pub fn parse(text: &str, dir: &Path) -> Result<Manifest> {
        let raw: RawManifest = toml::from_str(text)?;
        if raw.spin_manifest_version != 2 {
            bail!("only spin_manifest_version = 2 is supported");
        }
        check_names(&raw)?;
        for (name, decl) in &raw.variables {
            if decl.required && decl.default.is_some() {
                bail!("variable `{name}` cannot be both required and have a default");
            }
            if !decl.required && decl.default.is_none() {
                bail!("variable `{name}` needs a default or `required = true`");
            }
        }
        let mut components = BTreeMap::new();
        for (id, c) in raw.component {
            for (name, template) in &c.variables {
                for used in template_references(template)? {
                    if !raw.variables.contains_key(&used) {
                        bail!("component `{id}` variable `{name}` refers to undefined application variable `{used}`");
                    }
                }
            }
            for host in &c.allowed_outbound_hosts {
                for used in template_references(host)? {
                    if !raw.variables.contains_key(&used) {
                        bail!("component `{id}` allowed_outbound_hosts refers to undefined variable `{used}`");
                    }
                }
            }
            components.insert(
                id.clone(),
                ComponentDecl {
                    source: dir.join(&c.source),
                    id,
                    key_value_stores: c.key_value_stores,
                    allowed_outbound_hosts: c.allowed_outbound_hosts,
                    variables: c.variables,
                    environment: c.environment,
                },
            );
        }
        let mut triggers = Vec::new();
        for t in raw.trigger.http {
            if !components.contains_key(&t.component) {
                bail!(
                    "trigger for route {:?} names unknown component `{}`",
                    match &t.route {
                        RawRoute::Path(p) => p.as_str(),
                        RawRoute::Private { .. } => "(private)",
                    },
                    t.component
                );
            }
            let route = match t.route {
                RawRoute::Path(p) => TriggerRoute::Public(p),
                RawRoute::Private { private: true } => TriggerRoute::Private,
                RawRoute::Private { private: false } => {
                    bail!("`route = {{ private = false }}` is not a route")
                }
            };
            triggers.push(HttpTrigger { component: t.component, route });
        }
        Ok(Manifest {
            dir: dir.to_path_buf(),
            name: raw.application.name,
            variables: raw.variables,
            triggers,
            components,
        })
    }
}

/// Refuses the manifest, as Spin does while parsing it, if any variable name or
/// component id (declared or referenced by a trigger) breaks Spin's identifier rules.
fn check_names(raw: &RawManifest) -> Result<()> {
    for name in raw.variables.keys() {
        ids::check_variable_id(name)?;
    }
    for (id, component) in &raw.component {
        ids::check_component_id(id)?;
        for name in component.variables.keys() {
            ids::check_variable_id(name).with_context(|| format!("in [component.{id}.variables]"))?;
        }
    }
    for trigger in &raw.trigger.http {
        ids::check_component_id(&trigger.component).context("in a [[trigger.http]] `component`")?;
    }
    Ok(())
}

/// The looser rule Spin applies to a name a guest asks for, or a template refers to:
/// lower-case ASCII letters, digits and underscores, starting with a letter. Declared
/// names also pass [`check_names`].
pub(crate) fn check_variable_name(name: &str) -> Result<()> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        bail!("invalid variable name `{name}`: use lower-case letters, digits and underscores");
    }
    Ok(())
}

/// Names of the variables a `{{ name }}` template refers to.
pub(crate) fn template_references(template: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    expand_template(template, |name| {
        names.push(name.to_string());
        Ok(String::new())
    })?;
    Ok(names)
}

/// Replaces every `{{ name }}` in `template` by `lookup(name)`.
pub(crate) fn expand_template(template: &str, mut lookup: impl FnMut(&str) -> Result<String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").with_context(|| format!("unclosed `{{{{` in template {template:?}"))?;
        let name = after[..end].trim();
        check_variable_name(name)?;
        out.push_str(&lookup(name)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Expands all templates of a map against resolved application variables.
pub(crate) fn expand_all(
    templates: &BTreeMap<String, String>,
    values: &HashMap<String, String>,
) -> Result<HashMap<String, String>> {
    templates
        .iter()
        .map(|(k, t)| {
            let v = expand_template(t, |name| {
                values.get(name).cloned().with_context(|| format!("variable `{name}` has no value"))
            })?;
            Ok((k.clone(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_with_and_without_spaces() {
        let v = expand_template("a{{ x }}b{{y}}c", |n| Ok(n.to_uppercase())).unwrap();
        assert_eq!(v, "aXbYc");
    }

    #[test]
    fn private_and_public_routes_parse() {
        let m = Manifest::parse(
            r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
a = { default = "x" }
[[trigger.http]]
route = "/p/..."
component = "p"
[[trigger.http]]
route = { private = true }
component = "q"
[component.p]
source = "p.wasm"
allowed_outbound_hosts = ["{{ a }}"]
[component.q]
source = "q.wasm"
"#,
            Path::new("/m"),
        )
        .unwrap();
        assert_eq!(m.triggers[0].route, TriggerRoute::Public("/p/...".into()));
        assert_eq!(m.triggers[1].route, TriggerRoute::Private);
        assert_eq!(m.components["p"].source, Path::new("/m/p.wasm"));
    }

    /// A manifest whose names are set by the test: `var` in `[variables]`, `comp_var` in
    /// `[component.<id>.variables]`, `id` as the component and `trigger` in its trigger.
    fn manifest_named(var: &str, comp_var: &str, id: &str, trigger: &str) -> String {
        format!(
            r#"
spin_manifest_version = 2
[variables]
{var} = {{ default = "x" }}
[[trigger.http]]
route = "/p/..."
component = "{trigger}"
[component.{id}]
source = "p.wasm"
[component.{id}.variables]
{comp_var} = "{{{{ {var} }}}}"
"#
        )
    }

    #[test]
    fn names_spin_refuses_fail_the_load_naming_the_name_and_the_rule() {
        let ok = manifest_named("host_a", "host_a", "my-COMP", "my-COMP");
        Manifest::parse(&ok, Path::new(".")).expect("names Spin accepts");
        let refused = [
            (manifest_named("host_1", "host_a", "p", "p"), "`host_1`", "must start with an ASCII letter"),
            (manifest_named("host_a", "host_1", "p", "p"), "`host_1`", "must start with an ASCII letter"),
            (manifest_named("host_a", "Host", "p", "p"), "`Host`", "all lower case"),
            (manifest_named("host_a", "host_a", "my-Comp", "my-Comp"), "`my-Comp`", "all lower case or all upper"),
            (manifest_named("host_a", "host_a", "p", "p--q"), "`p--q`", "must not be empty"),
        ];
        for (text, name, rule) in refused {
            let error = format!("{:#}", Manifest::parse(&text, Path::new(".")).expect_err(name));
            assert!(error.contains(name) && error.contains(rule), "{name}: {error}");
        }
    }
}
