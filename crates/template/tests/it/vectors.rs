//! The golden vectors under `tests/vectors/templates`: pinned hashes, cross-format equality and
//! canonical JSON. Set `ANTPATH_BLESS_VECTORS=1` to rewrite `hashes.json` and
//! `normal-forms.json` after a deliberate change of the normal form (and say so in the change
//! description). The TypeScript SDK's tests (`sdks/typescript/test/unit`) read the same files,
//! so a template defined in TypeScript is held to the very text and hash pinned here.

use std::collections::BTreeMap;

use antpath_template::{Template, canonical_json, load_template};
use serde_json::{Value, json};

use super::support::{quickstart, vector_value, vectors_dir};

const TEMPLATE_VECTORS: &[&str] = &[
    "quickstart.json",
    "quickstart.yaml",
    "quickstart.toml",
    "minimal.json",
    "minimal.yaml",
    "everything.json",
];

/// The JSON templates whose normal form and hash `normal-forms.json` pins, as paths from the
/// workspace root: the JSON vectors and the examples the SDK quickstarts mirror.
const NORMAL_FORM_FILES: &[&str] = &[
    "tests/vectors/templates/quickstart.json",
    "tests/vectors/templates/minimal.json",
    "tests/vectors/templates/everything.json",
    "examples/quickstart.json",
    "examples/mcp-static-bearer.json",
];

fn computed_hashes() -> BTreeMap<String, String> {
    TEMPLATE_VECTORS
        .iter()
        .map(|file| {
            let template = load_template(&vectors_dir().join(file)).expect("vector is valid");
            ((*file).to_owned(), template.hash().to_string())
        })
        .collect()
}

#[test]
fn every_template_vector_hashes_to_its_pinned_value() {
    let computed = computed_hashes();
    let path = vectors_dir().join("hashes.json");
    if std::env::var_os("ANTPATH_BLESS_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&computed).expect("serialise") + "\n";
        std::fs::write(&path, text).expect("write hashes.json");
    }
    let pinned: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("hashes.json")).expect("json");
    assert_eq!(computed, pinned);
}

#[test]
fn the_quickstart_normal_form_is_pinned_byte_for_byte() {
    let template = load_template(&vectors_dir().join("quickstart.json")).expect("valid");
    let canonical = canonical_json(&template.to_normalised_value());
    let path = vectors_dir().join("quickstart.canonical.json");
    if std::env::var_os("ANTPATH_BLESS_VECTORS").is_some() {
        std::fs::write(&path, format!("{canonical}\n")).expect("write");
    }
    let pinned = std::fs::read_to_string(&path).expect("quickstart.canonical.json");
    assert_eq!(canonical, pinned.trim_end_matches('\n'));
    let expected = format!("sha256:{}", sha256_hex(canonical.as_bytes()));
    assert_eq!(
        template.hash().to_string(),
        expected,
        "the hash is over exactly this text"
    );
}

#[test]
fn the_normal_form_and_hash_of_every_json_template_are_pinned_for_both_sdks() {
    let root = vectors_dir().join("../../..");
    let computed: BTreeMap<String, Value> = NORMAL_FORM_FILES
        .iter()
        .map(|file| {
            let template = load_template(&root.join(file)).expect("template is valid");
            let canonical = canonical_json(&template.to_normalised_value());
            let hash = template.hash().to_string();
            (
                (*file).to_owned(),
                json!({"canonical": canonical, "hash": hash}),
            )
        })
        .collect();
    let path = vectors_dir().join("normal-forms.json");
    if std::env::var_os("ANTPATH_BLESS_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&computed).expect("serialise") + "\n";
        std::fs::write(&path, text).expect("write normal-forms.json");
    }
    let pinned: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("normal-forms.json"))
            .expect("json");
    assert_eq!(computed, pinned);
    for (file, entry) in &pinned {
        let canonical = entry["canonical"].as_str().expect("canonical");
        let expected = format!("sha256:{}", sha256_hex(canonical.as_bytes()));
        assert_eq!(
            entry["hash"],
            json!(expected),
            "{file}: the hash is over the canonical text"
        );
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    antpath_template::ContentHash::of_bytes(bytes)
        .as_str()
        .trim_start_matches("sha256:")
        .to_owned()
}

#[test]
fn the_same_template_in_json_yaml_and_toml_has_one_hash_and_one_normal_form() {
    let load = |file: &str| load_template(&vectors_dir().join(file)).expect("valid");
    let json = load("quickstart.json");
    let yaml = load("quickstart.yaml");
    let toml = load("quickstart.toml");
    assert_eq!(json.to_normalised_value(), yaml.to_normalised_value());
    assert_eq!(json.to_normalised_value(), toml.to_normalised_value());
    assert_eq!(json.hash(), yaml.hash());
    assert_eq!(json.hash(), toml.hash());
}

#[test]
fn spelling_out_every_default_does_not_change_the_hash() {
    let load = |file: &str| load_template(&vectors_dir().join(file)).expect("valid");
    assert_eq!(load("minimal.json").hash(), load("minimal.yaml").hash());
}

#[test]
fn any_meaningful_change_changes_the_hash() {
    let base = Template::from_value(&quickstart()).expect("valid");
    let mut changed = quickstart();
    changed["agent"]["model"] = json!("claude-opus-4-1");
    let changed = Template::from_value(&changed).expect("valid");
    assert_ne!(base.hash(), changed.hash());
}

#[test]
fn the_hash_is_written_with_its_algorithm_prefix_and_lowercase_hex() {
    let hash = Template::from_value(&quickstart())
        .expect("valid")
        .hash()
        .to_string();
    let hex = hash.strip_prefix("sha256:").expect("prefix");
    assert_eq!(hex.len(), 64);
    assert!(
        hex.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    );
}

#[test]
fn normalisation_makes_required_and_integer_explicit() {
    let value = Template::from_value(&quickstart())
        .expect("valid")
        .to_normalised_value();
    assert_eq!(value["variables"]["topic"]["required"], json!(true));
    assert_eq!(value["variables"]["citations"]["required"], json!(false));
    assert_eq!(value["variables"]["depth"]["integer"], json!(true));
    assert_eq!(
        value["agent"]["mcpServers"][0]["auth"],
        json!("static_bearer")
    );
    let minimal = load_template(&vectors_dir().join("minimal.yaml")).expect("valid");
    let minimal = minimal.to_normalised_value();
    assert_eq!(
        minimal["environment"]["networking"],
        json!({"type": "unrestricted"})
    );
    assert_eq!(minimal["cleanup"], json!({"claudeSession": "delete"}));
    assert!(minimal.get("labels").is_none(), "empty maps are dropped");
}

#[test]
fn every_canonicalisation_vector_produces_its_exact_output() {
    let file = vector_value("canonical.json");
    let vectors = file["vectors"].as_array().expect("vectors");
    assert!(vectors.len() >= 10);
    for vector in vectors {
        let input: Value =
            serde_json::from_str(vector["input"].as_str().expect("input")).expect("input json");
        let expected = vector["canonical"].as_str().expect("canonical");
        assert_eq!(canonical_json(&input), expected, "{}", vector["name"]);
        let reparsed: Value = serde_json::from_str(expected).expect("canonical is JSON");
        assert_eq!(
            canonical_json(&reparsed),
            expected,
            "canonical form is a fixed point"
        );
    }
}
