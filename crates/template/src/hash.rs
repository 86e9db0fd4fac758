//! Stable content hashes: `sha256:` and the hex SHA-256 of a value's canonical JSON.
//!
//! # What a template hash covers
//!
//! The hash is taken over the **normalised** template, so that two templates that mean the same
//! thing hash the same, whatever their format (JSON, YAML, TOML), key order or spelling of
//! defaults. Normalisation:
//!
//! - fills in sections that have a default: `environment` (no packages, `unrestricted`
//!   networking), `cleanup` (`delete`), each MCP server's `auth` (`none`), the booleans of
//!   `limited` networking (`false`);
//! - writes each variable's effective `required`, and `integer: false` for numbers without it;
//! - drops empty lists and maps (`tools: []` equals no `tools`);
//! - writes numbers canonically (`1.0` equals `1`).
//!
//! Defaults that belong to the provider (a toolset's `enabled`, a missing permission policy)
//! are *not* filled in: an explicit value and an absent one really can behave differently when
//! the provider changes its defaults, so they hash differently.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical::canonical_json;
use crate::model::Template;

/// The prefix naming the hash function, so that stored hashes stay readable if it changes.
pub const HASH_PREFIX: &str = "sha256:";

/// A content hash such as `sha256:9f86d0…` (64 lowercase hex digits after the prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentHash(String);

impl ContentHash {
    /// The hash of `value`'s canonical JSON.
    pub fn of_value(value: &Value) -> Self {
        Self::of_bytes(canonical_json(value).as_bytes())
    }

    /// The hash of raw bytes.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(format!(
            "{HASH_PREFIX}{}",
            hex::encode(Sha256::digest(bytes))
        ))
    }

    /// The text form, prefix included.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Template {
    /// Writes the effective defaults explicitly (see the module doc). Templates returned by
    /// the parsing functions are already normalised; calling this again changes nothing.
    pub fn normalise(&mut self) {
        for spec in self.variables.values_mut() {
            spec.normalise();
        }
    }

    /// The normalised template as a JSON value: what is hashed and what is stored.
    pub fn to_normalised_value(&self) -> Value {
        let mut template = self.clone();
        template.normalise();
        // Serialising plain data with string keys cannot fail.
        serde_json::to_value(&template).unwrap_or(Value::Null)
    }

    /// The template hash (see the module doc).
    pub fn hash(&self) -> ContentHash {
        ContentHash::of_value(&self.to_normalised_value())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_hash_of_empty_input_is_the_well_known_sha256() {
        assert_eq!(
            ContentHash::of_bytes(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn key_order_and_number_spelling_do_not_change_a_value_hash() {
        let a = json!({"b": 1.0, "a": [1e2, "x"]});
        let b: Value = serde_json::from_str(r#"{"a":[100,"x"],"b":1}"#).expect("json");
        assert_eq!(ContentHash::of_value(&a), ContentHash::of_value(&b));
    }
}
