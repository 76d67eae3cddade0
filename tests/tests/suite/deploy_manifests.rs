//! The per-component manifests under `deploy/<component>/spin.toml` run the same
//! artifacts as the main `spin.toml`, one app per component. They are written by hand,
//! so this test keeps them from drifting: a variable added to a component in the main
//! manifest and forgotten in its split manifest would only fail on a production start.

use std::path::{Component, Path, PathBuf};
use weerbaar_tests::manifest::{Manifest, TriggerRoute};

fn repo() -> PathBuf {
    weerbaar_tests::project_manifest().parent().unwrap().to_path_buf()
}

fn main_manifest() -> Manifest {
    Manifest::load(&weerbaar_tests::project_manifest()).expect("spin.toml parses")
}

fn split_path(component: &str) -> PathBuf {
    repo().join("deploy").join(component).join("spin.toml")
}

fn split_manifest(component: &str) -> Manifest {
    let path = split_path(component);
    assert!(path.exists(), "component `{component}` of spin.toml has no split manifest at {}", path.display());
    Manifest::load(&path).unwrap_or_else(|e| panic!("{} does not parse: {e:#}", path.display()))
}

/// The raw TOML, for the parts the host's parser skips (`[component.x.build]`).
fn raw(path: &Path) -> toml::Table {
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `a/b/../c` → `a/c`, without touching the file system (the artifact may not be built).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn routes_of(m: &Manifest, component: &str) -> Vec<TriggerRoute> {
    m.triggers.iter().filter(|t| t.component == component).map(|t| t.route.clone()).collect()
}

/// Application variables a component's templates (variables and outbound hosts) use.
fn used_variables(m: &Manifest, component: &str) -> Vec<String> {
    let c = &m.components[component];
    let mut used: Vec<String> =
        c.variables.values().chain(c.allowed_outbound_hosts.iter()).flat_map(|t| template_names(t)).collect();
    used.sort();
    used.dedup();
    used
}

fn template_names(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").expect("closed template");
        names.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    names
}

/// A peer URL: a variable naming where another component answers.
fn is_peer_url(name: &str) -> bool {
    name.ends_with("_url")
}

/// Every `spin.toml` in the checkout, build output and git's own files aside.
fn every_spin_toml(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let entry = entry.unwrap();
        let (path, name) = (entry.path(), entry.file_name());
        if entry.file_type().unwrap().is_dir() && name != "target" && name != ".git" {
            every_spin_toml(&path, found);
        } else if name == "spin.toml" {
            found.push(path);
        }
    }
}

/// Spin refuses a manifest with a name it cannot parse (a variable word starting with a
/// digit, a mixed-case component id) before serving anything; so does the host, and no
/// manifest of the repository may hold such a name.
#[test]
fn every_manifest_in_the_repository_has_only_names_spin_accepts() {
    let mut manifests = Vec::new();
    every_spin_toml(&repo(), &mut manifests);
    assert!(manifests.contains(&weerbaar_tests::project_manifest()), "the walk finds spin.toml: {manifests:?}");
    assert!(manifests.contains(&split_path("notification")), "the walk finds the split manifests: {manifests:?}");
    let refused: Vec<String> =
        manifests.iter().filter_map(|m| Manifest::load(m).err().map(|e| format!("{e:#}"))).collect();
    assert!(refused.is_empty(), "manifests Spin would refuse: {refused:#?}");
}

#[test]
fn every_component_of_the_main_manifest_has_a_split_manifest() {
    let main = main_manifest();
    assert!(!main.components.is_empty());
    let missing: Vec<&String> = main.components.keys().filter(|c| !split_path(c).exists()).collect();
    assert!(missing.is_empty(), "components without deploy/<component>/spin.toml: {missing:?}");
}

#[test]
fn each_split_manifest_runs_exactly_its_component() {
    for id in main_manifest().components.keys() {
        let split = split_manifest(id);
        let ids: Vec<&String> = split.components.keys().collect();
        assert_eq!(ids, vec![id], "deploy/{id}/spin.toml runs only `{id}`");
        assert_eq!(split.name, format!("weerbaar-{id}"), "deploy/{id}: application name");
    }
}

#[test]
fn split_manifests_agree_with_the_main_one_on_source_routes_stores_variables_and_hosts() {
    let main = main_manifest();
    for (id, in_main) in &main.components {
        let split = split_manifest(id);
        let in_split = &split.components[id];
        assert_eq!(
            in_split.source.file_name(),
            in_main.source.file_name(),
            "deploy/{id}: `source` names another artifact"
        );
        assert_eq!(
            normalise(&in_split.source),
            normalise(&in_main.source),
            "deploy/{id}: `source` must be the very file the main manifest runs"
        );
        assert_eq!(routes_of(&split, id), routes_of(&main, id), "deploy/{id}: routes");
        assert_eq!(in_split.key_value_stores, in_main.key_value_stores, "deploy/{id}: key_value_stores");
        assert_eq!(in_split.variables, in_main.variables, "deploy/{id}: [component.{id}.variables]");
        assert_eq!(
            in_split.allowed_outbound_hosts, in_main.allowed_outbound_hosts,
            "deploy/{id}: allowed_outbound_hosts (templates over the same variables)"
        );
        assert_eq!(in_split.environment, in_main.environment, "deploy/{id}: environment");
    }
}

#[test]
fn split_manifests_declare_the_same_application_variables_with_peer_urls_required() {
    let main = main_manifest();
    for id in main.components.keys() {
        let split = split_manifest(id);
        let used = used_variables(&main, id);
        let declared: Vec<String> = split.variables.keys().cloned().collect();
        assert_eq!(declared, used, "deploy/{id}: [variables] declares exactly what `{id}` uses");
        for name in &used {
            let (m, s) = (&main.variables[name], &split.variables[name]);
            assert_eq!(s.secret, m.secret, "deploy/{id}: `{name}` secret flag");
            if is_peer_url(name) {
                assert!(
                    s.required && s.default.is_none(),
                    "deploy/{id}: peer URL `{name}` must be required, with no in-app default"
                );
                let peer = name.trim_end_matches("_url");
                assert_eq!(
                    m.default.as_deref(),
                    Some(format!("http://{peer}.spin.internal").as_str()),
                    "spin.toml: `{name}` defaults to in-app service chaining"
                );
            } else {
                assert_eq!(
                    (s.required, &s.default),
                    (m.required, &m.default),
                    "deploy/{id}: `{name}` must be declared as in spin.toml"
                );
            }
        }
    }
}

#[test]
fn peer_urls_are_the_only_outbound_hosts_of_intake_and_triage_and_no_wildcard_is_used() {
    let main = main_manifest();
    for (id, c) in &main.components {
        for host in &c.allowed_outbound_hosts {
            assert!(!host.contains("spin.internal"), "{id}: `{host}`: name peers through a variable, no literal host");
            assert!(host.starts_with("{{"), "{id}: `{host}` must be a template over a variable");
        }
        let peers: Vec<String> =
            c.allowed_outbound_hosts.iter().flat_map(|h| template_names(h)).filter(|n| is_peer_url(n)).collect();
        let peer_vars: Vec<String> = c.variables.keys().filter(|n| is_peer_url(n)).cloned().collect();
        assert_eq!(peers, peer_vars, "{id}: every peer URL it reads is an allowed host, and nothing else");
    }
}

#[test]
fn split_builds_run_the_main_build_command_from_the_workspace_root() {
    let main = raw(&weerbaar_tests::project_manifest());
    let components = main["component"].as_table().unwrap();
    for (id, c) in components {
        let split = raw(&split_path(id));
        let build = &split["component"][id.as_str()]["build"];
        assert_eq!(build["command"], c["build"]["command"], "deploy/{id}: build command");
        assert_eq!(build["workdir"].as_str(), Some("../.."), "deploy/{id}: build runs in the workspace root");
        assert_eq!(build["watch"], c["build"]["watch"], "deploy/{id}: watch globs");
    }
}

#[test]
fn runtime_configs_define_the_default_store_on_sqlite_and_on_redis() {
    let dir = repo().join("deploy/runtime-config");
    let sqlite = raw(&dir.join("local-sqlite.toml"));
    assert_eq!(sqlite["key_value_store"]["default"]["type"].as_str(), Some("spin"), "local-sqlite.toml");
    assert!(sqlite["key_value_store"]["default"]["path"].as_str().is_some_and(|p| p.ends_with(".db")));
    let redis = raw(&dir.join("redis.toml"));
    assert_eq!(redis["key_value_store"]["default"]["type"].as_str(), Some("redis"), "redis.toml");
    assert_eq!(
        redis["key_value_store"]["default"]["url"].as_str(),
        Some("REDIS_URL_PLACEHOLDER"),
        "redis.toml keeps its URL a placeholder: the real one carries a password"
    );
    for file in [&sqlite, &redis] {
        let labels: Vec<&String> = file["key_value_store"].as_table().unwrap().keys().collect();
        assert_eq!(labels, ["default"], "weerbaar uses one store, `default`, shared by all components");
    }
}

/// The guides send operators to files and tests by name; a renamed file must not leave
/// a guide pointing at nothing.
#[test]
fn the_deployment_guides_name_only_files_and_tests_that_exist() {
    let guides = [
        "README.md",
        "docs/deploy-local.md",
        "docs/deploy-fermyon-cloud.md",
        "docs/deploy-spinkube.md",
        "docs/operations.md",
        "deploy/runtime-config/README.md",
    ];
    let roots = ["deploy/", "docs/", "tests/", "components/", "shared/", "spin.toml", "openapi.yaml"];
    let mut missing = Vec::new();
    for guide in guides {
        let text = std::fs::read_to_string(repo().join(guide)).unwrap_or_else(|e| panic!("{guide}: {e}"));
        for (i, span) in text.split('`').enumerate() {
            // Odd pieces are inside backticks; look at each word of them.
            if i % 2 == 0 {
                continue;
            }
            for word in span.split_whitespace() {
                let word = word.trim_end_matches([',', '.', ')', ':']);
                let is_path = roots.iter().any(|r| word.starts_with(r));
                // Placeholders (`deploy/<component>/spin.toml`) and Kubernetes resource
                // names (`kubectl logs deploy/weerbaar-triage`) are not files.
                let not_a_file = word.contains(['<', '*', '$', '{']) || word.starts_with("deploy/weerbaar-");
                if is_path && !not_a_file && !repo().join(word).exists() {
                    missing.push(format!("{guide}: `{word}`"));
                }
            }
            if let Some(rest) = span.split("--test ").nth(1) {
                if !names_a_test(rest) {
                    missing.push(format!("{guide}: test `{rest}`"));
                }
            }
        }
        for line in text.lines().filter(|l| l.contains("cargo test -p weerbaar-tests --test ")) {
            let rest = line.split("--test ").nth(1).unwrap();
            if !names_a_test(rest) {
                missing.push(format!("{guide}: test `{rest}`"));
            }
        }
    }
    assert!(missing.is_empty(), "guides name what does not exist: {missing:#?}");
}

/// Whether what follows `--test ` names a test binary and a module of it: the one
/// binary of `tests/` (`suite need_to_know::`, `suite throughput::batch_reads`) or of a
/// component crate (`api escalation_and_listing::store_cost`).
fn names_a_test(rest: &str) -> bool {
    let mut words = rest.split_whitespace().map(|w| w.trim_end_matches(['`', ',', '.', ')']));
    let dirs: Vec<PathBuf> = match words.next() {
        Some("suite") => vec![repo().join("tests/tests/suite")],
        Some("api") => ["intake", "triage", "directory", "notification"]
            .iter()
            .map(|c| repo().join("components").join(c).join("tests/api"))
            .collect(),
        _ => return false,
    };
    let module = words.next().unwrap_or("").split("::").next().unwrap_or("");
    !module.is_empty() && dirs.iter().any(|d| d.join(format!("{module}.rs")).exists())
}

/// The README's "Where is what" table sends a newcomer to a file and a name in it, one
/// hop each: every file must exist and hold every name its row gives.
#[test]
fn the_readme_where_is_what_table_names_files_and_items_that_exist() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme.split("\n## Where is what\n").nth(1).expect("README.md has a \"Where is what\" section");
    let section = section.split("\n## ").next().unwrap();
    let backticked = |cell: &str| -> Vec<String> { cell.split('`').skip(1).step_by(2).map(String::from).collect() };
    let (mut rows, mut missing) = (0, Vec::new());
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').collect();
        let paths = backticked(cells.get(2).copied().unwrap_or(""));
        if paths.is_empty() {
            continue; // the header and its rule
        }
        rows += 1;
        let [path] = paths.as_slice() else {
            missing.push(format!("one file per row, not {paths:?}"));
            continue;
        };
        let Ok(text) = std::fs::read_to_string(repo().join(path)) else {
            missing.push(format!("`{path}` does not exist"));
            continue;
        };
        let items = backticked(cells.get(3).copied().unwrap_or(""));
        if items.is_empty() {
            missing.push(format!("`{path}`: the row names nothing to look for"));
        }
        missing.extend(
            items.iter().filter(|item| !text.contains(item.as_str())).map(|i| format!("`{path}` has no `{i}`")),
        );
    }
    assert!(rows >= 30, "the \"Where is what\" table lost its rows: {rows}");
    assert!(missing.is_empty(), "README.md's \"Where is what\" table is out of date: {missing:#?}");
}

/// `docs/deploy-local.md` explains every variable of `spin.toml`: a new variable without
/// a line there fails here.
#[test]
fn every_variable_of_spin_toml_is_explained_in_the_local_guide() {
    let guide = std::fs::read_to_string(repo().join("docs/deploy-local.md")).unwrap();
    let table: Vec<&str> = guide.lines().filter(|l| l.starts_with("| `")).collect();
    let explained = |name: &str| {
        // The three webhook fence slots share one row: `webhook_outbound_host_a`..`_c`.
        let row_name = if name.starts_with("webhook_outbound_host_") { "webhook_outbound_host_a" } else { name };
        table.iter().any(|row| row.starts_with(&format!("| `{row_name}`")))
    };
    let missing: Vec<String> = main_manifest().variables.keys().filter(|n| !explained(n)).cloned().collect();
    assert!(missing.is_empty(), "variables of spin.toml not explained in docs/deploy-local.md: {missing:?}");
}

/// Least privilege for keys: each keyring goes only to the components whose data it
/// seals, and no component holds a keyring it does not need; the one keyring every
/// component once held is gone, in the main manifest and in every split one.
#[test]
fn each_component_holds_only_the_keyrings_it_needs() {
    let keyrings = ["case_keys", "directory_keys", "webhook_keys", "record_mac_key", "encryption_keys"];
    let expected = [
        ("intake", vec!["case_keys"]),
        ("triage", vec!["case_keys", "record_mac_key"]),
        ("directory", vec!["directory_keys", "record_mac_key"]),
        ("notification", vec!["record_mac_key", "webhook_keys"]),
    ];
    let main = main_manifest();
    for (id, wanted) in expected {
        for (where_, manifest) in [("spin.toml", &main), (&*format!("deploy/{id}/spin.toml"), &split_manifest(id))] {
            let held: Vec<String> =
                used_variables(manifest, id).into_iter().filter(|n| keyrings.contains(&n.as_str())).collect();
            assert_eq!(held, wanted, "{where_}: the keys `{id}` holds");
            let variables: Vec<&String> = manifest.components[id].variables.keys().collect();
            assert!(
                !variables.iter().any(|v| v.as_str() == "encryption_keys"),
                "{where_}: `{id}` still gets encryption_keys"
            );
        }
    }
    for id in ["directory", "notification"] {
        assert!(!used_variables(&main, id).contains(&"case_keys".to_string()), "{id} never holds the case keyring");
    }
    for name in keyrings.iter().take(4) {
        let declared = &main.variables[*name];
        assert!(declared.required && declared.secret && declared.default.is_none(), "`{name}`: required secret");
    }
    assert!(!main.variables.contains_key("encryption_keys"), "spin.toml: encryption_keys is gone");
}

/// Issue 16's size budget: every component the main manifest runs is under 1 MiB, as
/// built (`tests/run` builds them first; `deploy/wasm-link` optimises each at link
/// time). A component that grows past it fails here, not only in the benchmark's table.
#[test]
fn every_component_the_manifest_runs_is_under_1_mib() {
    let manifest = main_manifest();
    assert_eq!(manifest.components.len(), 4);
    for (id, component) in &manifest.components {
        let path = &component.source;
        let bytes = std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{id}: {} is not built ({e}); tests/run builds it", path.display()))
            .len();
        assert!(
            bytes < 1024 * 1024,
            "{id}.wasm is {bytes} bytes, over the 1 MiB budget (docs/decisions.md, \"Components under 1 MiB\")"
        );
    }
}
