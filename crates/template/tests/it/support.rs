//! Shared fixtures: the golden vectors and a valid submission to mutate.

use std::path::PathBuf;

use antpath_template::{Format, ValidationErrors, parse_value};
use serde_json::{Value, json};

/// A recognisable API key: no output may ever contain it.
pub const API_KEY_CANARY: &str = "sk-ant-api03-CANARY-7f3a9c";
/// A recognisable bearer token: no output may ever contain it.
pub const BEARER_CANARY: &str = "bearer-CANARY-51d0e2";

/// `tests/vectors/templates` at the workspace root.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/templates")
}

/// A vector file read as a JSON value.
pub fn vector_value(file: &str) -> Value {
    let path = vectors_dir().join(file);
    let text = std::fs::read_to_string(&path).expect("vector file");
    parse_value(&text, Format::from_path(&path).expect("format")).expect("vector parses")
}

/// The quickstart template as JSON.
pub fn quickstart() -> Value {
    vector_value("quickstart.json")
}

/// A valid submission of the quickstart template.
pub fn submission() -> Value {
    json!({
        "template": quickstart(),
        "variables": {"topic": "rate limits"},
        "secrets": {
            "anthropic": {"apiKey": API_KEY_CANARY},
            "mcpServers": {"docs": {"bearerToken": BEARER_CANARY}}
        },
        "cleanup": {"claudeSession": "delete"},
        "limits": {"maxDurationSeconds": 300},
        "idempotencyKey": "req-1"
    })
}

/// Sets the value at a JSON pointer; the parent must exist (an index one past the end appends).
pub fn set(value: &mut Value, pointer: &str, new: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    let target = value.pointer_mut(parent).expect("parent exists");
    match target {
        Value::Object(map) => {
            map.insert(key.replace("~1", "/").replace("~0", "~"), new);
        }
        Value::Array(items) => {
            let i = key.parse::<usize>().expect("index");
            if i == items.len() {
                items.push(new)
            } else {
                items[i] = new
            }
        }
        _ => panic!("parent of {pointer} is not a container"),
    }
}

/// Removes the value at a JSON pointer.
pub fn remove(value: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    if let Some(Value::Object(map)) = value.pointer_mut(parent) {
        map.shift_remove(key);
    }
}

/// The paths of every error, in order.
pub fn paths(errors: &ValidationErrors) -> Vec<&str> {
    errors.details().iter().map(|d| d.path.as_str()).collect()
}

/// Fails unless some error is at `path` and its message contains `fragment`.
#[track_caller]
pub fn assert_error(errors: &ValidationErrors, path: &str, fragment: &str) {
    assert!(
        errors
            .details()
            .iter()
            .any(|d| d.path == path && d.message.contains(fragment)),
        "no error at {path} containing {fragment:?}; got {errors:#?}"
    );
}
