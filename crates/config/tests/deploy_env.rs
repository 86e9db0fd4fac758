//! The deployment files in `deploy/` (the Kubernetes manifests and the compose file) set only
//! environment variables the services read, and every service they start gets all it needs.
//!
//! The known names are derived from [`Settings`] itself (its defaults serialised, each field
//! path turned into its `ANTPATH_…__…` name), so a setting added, renamed or removed in the
//! structs is checked here without touching this file. Each container's environment (its
//! ConfigMap and Secret references resolved) is then loaded and validated for the role it runs,
//! exactly as the service does at start-up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use antpath_config::{Role, Settings};
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};

/// `ANTPATH_*` names read outside the settings tree: the config file path (the loader) and the
/// log format (crates/telemetry).
const READ_OUTSIDE_SETTINGS: [&str; 2] = ["ANTPATH_CONFIG", "ANTPATH_LOG_FORMAT"];

/// The value given to a variable set from the pod's own fields (`valueFrom.fieldRef`).
const FIELD_REF_VALUE: &str = "pod-name-from-the-downward-api";

/// Every environment name the services read: exact names, and prefixes of map-valued settings
/// (the vault keyring, `ANTPATH_ENCRYPTION__KEYS__<ID>`).
struct KnownNames {
    exact: BTreeSet<String>,
    prefixes: Vec<String>,
}

impl KnownNames {
    fn from_settings() -> Self {
        let tree = serde_json::to_value(Settings::default()).expect("settings serialise");
        let mut known = Self {
            exact: READ_OUTSIDE_SETTINGS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            prefixes: Vec::new(),
        };
        let serde_json::Value::Object(top) = tree else {
            panic!("settings serialise to a map");
        };
        for (key, value) in top {
            known.collect(format!("ANTPATH_{}", key.to_uppercase()), &value);
        }
        known
    }

    fn collect(&mut self, name: String, value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(fields) if fields.is_empty() => {
                self.prefixes.push(format!("{name}__"));
            }
            serde_json::Value::Object(fields) => {
                for (key, value) in fields {
                    self.collect(format!("{name}__{}", key.to_uppercase()), value);
                }
            }
            _ => {
                self.exact.insert(name);
            }
        }
    }

    fn reads(&self, name: &str) -> bool {
        self.exact.contains(name)
            || self
                .prefixes
                .iter()
                .any(|prefix| name.len() > prefix.len() && name.starts_with(prefix))
    }
}

/// One container (or compose service) and the environment it starts with.
struct Container {
    source: String,
    name: String,
    env: BTreeMap<String, String>,
}

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| {
            let mut value = Value::deserialize(doc).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            value.apply_merge().expect("merge keys resolve");
            value
        })
        .filter(|value| !value.is_null())
        .collect()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping().and_then(|map| map.get(key))
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_mapping)
        .map(|map| map.iter().map(|(k, v)| (text(k), text(v))).collect())
        .unwrap_or_default()
}

/// Every container of every manifest, its `envFrom` and `env` resolved.
fn kubernetes_containers() -> Vec<Container> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir().join("kubernetes"))
        .expect("deploy/kubernetes exists")
        .map(|entry| entry.expect("readable").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    let docs: Vec<(String, Value)> = files
        .iter()
        .flat_map(|path| {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            documents(path)
                .into_iter()
                .map(move |doc| (file.clone(), doc))
        })
        .collect();
    let mut config_maps = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    for (_, doc) in &docs {
        let kind = get(doc, "kind").map(text).unwrap_or_default();
        let name = get(doc, "metadata")
            .and_then(|m| get(m, "name"))
            .map(text)
            .unwrap_or_default();
        match kind.as_str() {
            "ConfigMap" => {
                config_maps.insert(name, string_map(get(doc, "data")));
            }
            "Secret" => {
                assert!(
                    get(doc, "data").is_none(),
                    "Secret {name}: write the template with stringData"
                );
                secrets.insert(name, string_map(get(doc, "stringData")));
            }
            _ => {}
        }
    }
    let mut containers = Vec::new();
    for (file, doc) in &docs {
        let mut found = Vec::new();
        find_containers(doc, &mut found);
        for container in found {
            let name = get(container, "name").map(text).unwrap_or_default();
            let mut env = BTreeMap::new();
            for source in get(container, "envFrom")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                for (kind, store) in [("configMapRef", &config_maps), ("secretRef", &secrets)] {
                    if let Some(reference) = get(source, kind) {
                        let target = get(reference, "name").map(text).unwrap_or_default();
                        let values = store.get(&target).unwrap_or_else(|| {
                            panic!("{file}: container {name} refers to a missing {kind} {target}")
                        });
                        env.extend(values.clone());
                    }
                }
            }
            for var in get(container, "env")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                let key = get(var, "name").map(text).expect("env entries have a name");
                let value = match (get(var, "value"), get(var, "valueFrom")) {
                    (Some(value), None) => text(value),
                    (None, Some(_)) => FIELD_REF_VALUE.to_owned(),
                    _ => panic!("{file}: {key} needs exactly one of value and valueFrom"),
                };
                env.insert(key, value);
            }
            containers.push(Container {
                source: file.clone(),
                name,
                env,
            });
        }
    }
    containers
}

fn find_containers<'a>(value: &'a Value, found: &mut Vec<&'a Value>) {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                if matches!(key.as_str(), Some("containers" | "initContainers")) {
                    found.extend(child.as_sequence().into_iter().flatten());
                } else {
                    find_containers(child, found);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|item| find_containers(item, found)),
        _ => {}
    }
}

/// Every service of the compose file with its `environment` (a map or `KEY=VALUE` list).
fn compose_services() -> Vec<Container> {
    let docs = documents(&deploy_dir().join("compose/compose.yaml"));
    let services = get(&docs[0], "services")
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_else(Mapping::new);
    services
        .iter()
        .map(|(name, service)| {
            let env = match get(service, "environment") {
                Some(Value::Sequence(items)) => items
                    .iter()
                    .map(|item| {
                        let item = text(item);
                        let (k, v) = item.split_once('=').unwrap_or((&item, ""));
                        (k.to_owned(), v.to_owned())
                    })
                    .collect(),
                other => string_map(other),
            };
            Container {
                source: "compose.yaml".into(),
                name: text(name),
                env,
            }
        })
        .collect()
}

/// The role a container runs, by its name (the same names in both kinds of file).
fn role_of(name: &str) -> Option<Role> {
    match name {
        "bff" => Some(Role::Bff),
        "worker" => Some(Role::Worker),
        "sweeper" => Some(Role::Sweeper),
        "migrate" => Some(Role::Admin),
        _ => None,
    }
}

/// Problems of one set of containers: unknown names, containers of no role that set antpath
/// settings, and each role's validation failures. Also checks every role is present.
fn problems(containers: &[Container]) -> Vec<String> {
    let known = KnownNames::from_settings();
    let mut problems = Vec::new();
    let mut roles = BTreeSet::new();
    for container in containers {
        let label = format!("{} ({})", container.name, container.source);
        for key in container.env.keys().filter(|k| k.starts_with("ANTPATH_")) {
            if !known.reads(key) {
                problems.push(format!("{label} sets {key}, which no service reads"));
            }
        }
        let Some(role) = role_of(&container.name) else {
            if container.env.keys().any(|k| k.starts_with("ANTPATH_")) {
                problems.push(format!(
                    "{label} sets ANTPATH_ settings but runs no service"
                ));
            }
            continue;
        };
        roles.insert(role.to_string());
        let env = container.env.iter().map(|(k, v)| (k.clone(), v.clone()));
        match Settings::load_from(None, env) {
            Ok(settings) => {
                if let Err(err) = settings.validate(role) {
                    problems.push(format!("{label} as {role}: {err}"));
                }
            }
            Err(err) => problems.push(format!("{label}: {err}")),
        }
    }
    for role in ["bff", "worker", "sweeper", "admin"] {
        if !roles.contains(role) {
            problems.push(format!("no container runs the {role} role"));
        }
    }
    problems
}

#[test]
fn the_known_names_come_from_every_part_of_the_settings() {
    let known = KnownNames::from_settings();
    for name in [
        "ANTPATH_DATABASE__URL",
        "ANTPATH_BFF__TOKEN_PEPPER",
        "ANTPATH_WORKER__ID",
        "ANTPATH_SWEEPER__ONCE",
        "ANTPATH_PROVIDER__BASE_URL",
        "ANTPATH_ENCRYPTION__ACTIVE_KEY_ID",
        "ANTPATH_ENCRYPTION__KEYS__K1",
        "ANTPATH_STORAGE__S3__SECRET_ACCESS_KEY",
        "ANTPATH_LIMITS__LEASE_SECONDS",
        "ANTPATH_LOG_FORMAT",
    ] {
        assert!(known.reads(name), "{name} should be known");
    }
    for name in [
        "ANTPATH_DATABASE_URL",
        "ANTPATH_WORKER__CONCURENCY",
        "ANTPATH_ENCRYPTION__KEYS__",
    ] {
        assert!(!known.reads(name), "{name} should not be known");
    }
}

#[test]
fn a_misspelt_or_missing_setting_is_reported() {
    let env = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let containers = [
        Container {
            source: "test".into(),
            name: "worker".into(),
            env: env(&[("ANTPATH_WORKER__CONCURENCY", "4")]),
        },
        Container {
            source: "test".into(),
            name: "postgres".into(),
            env: env(&[("ANTPATH_DATABASE__URL", "postgres://x")]),
        },
    ];
    let found = problems(&containers);
    assert!(
        found
            .iter()
            .any(|p| p.contains("ANTPATH_WORKER__CONCURENCY, which no service reads"))
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("ANTPATH_DATABASE__URL (or DATABASE_URL) is required"))
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("postgres (test) sets ANTPATH_ settings"))
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("no container runs the bff role"))
    );
}

#[test]
fn the_kubernetes_manifests_set_only_read_settings_and_all_required_ones() {
    let found = problems(&kubernetes_containers());
    assert!(
        found.is_empty(),
        "deploy/kubernetes:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_compose_file_sets_only_read_settings_and_all_required_ones() {
    let found = problems(&compose_services());
    assert!(
        found.is_empty(),
        "deploy/compose:\n  {}",
        found.join("\n  ")
    );
}
