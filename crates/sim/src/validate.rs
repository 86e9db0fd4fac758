//! Request-body validation shared by the routes: field helpers and the metadata limits.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Most metadata pairs per resource (SDK 2.10.0 docstrings).
pub const MAX_METADATA_PAIRS: usize = 16;
/// Longest metadata key, in characters.
pub const MAX_METADATA_KEY: usize = 64;
/// Longest metadata value, in characters.
pub const MAX_METADATA_VALUE: usize = 512;

fn bad_metadata(message: String) -> ApiError {
    ApiError::invalid(message).with_code("invalid_metadata")
}

fn check_pair(key: &str, value: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.chars().count() > MAX_METADATA_KEY {
        return Err(bad_metadata(format!(
            "metadata: key {key:?} must be 1 to {MAX_METADATA_KEY} characters"
        )));
    }
    if value.chars().count() > MAX_METADATA_VALUE {
        return Err(bad_metadata(format!(
            "metadata: value of {key:?} is longer than {MAX_METADATA_VALUE} characters"
        )));
    }
    Ok(())
}

fn check_count(map: &Map<String, Value>) -> Result<(), ApiError> {
    if map.len() > MAX_METADATA_PAIRS {
        return Err(bad_metadata(format!(
            "metadata: at most {MAX_METADATA_PAIRS} pairs are allowed"
        )));
    }
    Ok(())
}

/// The `metadata` of a create body (absent or null: empty), validated.
pub fn metadata(body: &Value) -> Result<Value, ApiError> {
    let map = match body.get("metadata") {
        None | Some(Value::Null) => return Ok(Value::Object(Map::new())),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(bad_metadata("metadata: must be an object".to_owned())),
    };
    for (key, value) in map {
        let Some(value) = value.as_str() else {
            return Err(bad_metadata(format!(
                "metadata: value of {key:?} must be a string"
            )));
        };
        check_pair(key, value)?;
    }
    check_count(map)?;
    Ok(Value::Object(map.clone()))
}

/// Applies a metadata patch from an update body to `current`: a string upserts, `null` (and,
/// for environments, `""`) deletes. Absent `metadata` leaves it untouched.
pub fn patch_metadata(
    current: &mut Value,
    body: &Value,
    empty_deletes: bool,
) -> Result<bool, ApiError> {
    let patch = match body.get("metadata") {
        None | Some(Value::Null) => return Ok(false),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(bad_metadata("metadata: must be an object".to_owned())),
    };
    let mut next = current.as_object().cloned().unwrap_or_default();
    for (key, value) in patch {
        match value {
            Value::Null => {
                next.remove(key);
            }
            Value::String(s) if empty_deletes && s.is_empty() => {
                next.remove(key);
            }
            Value::String(s) => {
                check_pair(key, s)?;
                next.insert(key.clone(), value.clone());
            }
            _ => {
                return Err(bad_metadata(format!(
                    "metadata: value of {key:?} must be a string or null"
                )));
            }
        }
    }
    check_count(&next)?;
    let changed = Value::Object(next.clone()) != *current;
    *current = Value::Object(next);
    Ok(changed)
}

/// A required non-empty string field of at most `max` characters.
pub fn required_str(body: &Value, field: &str, max: usize) -> Result<String, ApiError> {
    match body.get(field) {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= max => Ok(s.clone()),
        Some(Value::String(_)) => Err(ApiError::invalid(format!(
            "{field}: must be 1 to {max} characters"
        ))),
        None | Some(Value::Null) => Err(ApiError::invalid(format!("{field}: Field required"))),
        Some(_) => Err(ApiError::invalid(format!("{field}: must be a string"))),
    }
}

/// An optional string field (absent or null: `None`).
pub fn optional_str(body: &Value, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid(format!("{field}: must be a string"))),
    }
}

/// The object of a request body, or 400.
pub fn object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object()
        .ok_or_else(|| ApiError::invalid("request body must be a JSON object"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_limits_are_enforced_with_the_invalid_metadata_code() {
        assert!(metadata(&json!({})).is_ok());
        let many: Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(metadata(&json!({ "metadata": many })).is_err());
        assert!(metadata(&json!({ "metadata": { "k".repeat(65): "v" } })).is_err());
        assert!(metadata(&json!({ "metadata": { "k": "v".repeat(513) } })).is_err());
        assert!(metadata(&json!({ "metadata": { "k": 1 } })).is_err());
        assert!(metadata(&json!({ "metadata": { "k".repeat(64): "v".repeat(512) } })).is_ok());
    }

    #[test]
    fn metadata_patches_upsert_and_delete() {
        let mut current = json!({ "a": "1", "b": "2" });
        let changed = patch_metadata(
            &mut current,
            &json!({ "metadata": { "a": null, "c": "3" } }),
            false,
        );
        assert!(changed.expect("patch"));
        assert_eq!(current, json!({ "b": "2", "c": "3" }));
    }
}
