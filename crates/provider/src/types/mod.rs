//! Wire types of the Managed Agents API, named as in the official SDK.
//!
//! Two tolerance rules hold everywhere, because the API gains fields and variants often:
//! - no struct denies unknown fields; top-level resources keep them in `extra`;
//! - every union discriminated by `type` has an `Other` variant keeping the raw JSON of a type
//!   we do not know (or a known type we could not read), and every closed string set
//!   (statuses, orders) keeps an unknown value as `Other(String)`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod agent;
pub mod environment;
pub mod event;
pub mod file;
pub mod session;
pub mod skill;
pub mod usage;
pub mod vault;

/// Resource metadata: string keys to string values (at most 16 pairs on the provider).
pub type Metadata = BTreeMap<String, String>;

/// Fields of a resource this client does not model, kept for logs and round trips.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// A union variant that carries nothing besides its `type`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoFields {}

/// The answer of every DELETE: `{id, type:"…_deleted"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    /// The id of the deleted resource.
    pub id: String,
    /// `environment_deleted`, `session_deleted`, `vault_deleted`, `file_deleted`, …
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// A resource that carries metadata, which is what reconciliation matches on.
pub trait HasMetadata {
    /// The resource id.
    fn id(&self) -> &str;
    /// The resource metadata.
    fn metadata(&self) -> &Metadata;
}

/// Serialises `inner` as a JSON object and sets its `type` to `tag`.
#[doc(hidden)]
pub fn tagged<T: Serialize>(tag: &str, inner: &T) -> Result<serde_json::Value, serde_json::Error> {
    let mut value = serde_json::to_value(inner)?;
    match &mut value {
        serde_json::Value::Object(map) => {
            map.insert("type".to_owned(), tag.into());
        }
        other => {
            let mut map = serde_json::Map::new();
            map.insert("type".to_owned(), tag.into());
            if !other.is_null() {
                map.insert("value".to_owned(), other.take());
            }
            value = serde_json::Value::Object(map);
        }
    }
    Ok(value)
}

/// Declares a union discriminated by its `type` field, with an `Other(serde_json::Value)`
/// variant for anything unknown or unreadable.
macro_rules! open_union {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $tag:literal => $variant:ident($ty:ty), )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($ty), )*
            /// A `type` this client does not model, or one it could not read, as raw JSON.
            Other(serde_json::Value),
        }

        impl $name {
            /// The wire `type` of this value.
            pub fn type_name(&self) -> &str {
                match self {
                    $( Self::$variant(_) => $tag, )*
                    Self::Other(value) => value
                        .get("type")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or(""),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <serde_json::Value as serde::Deserialize>::deserialize(deserializer)?;
                let tag = value.get("type").and_then(serde_json::Value::as_str).unwrap_or("");
                let parsed = match tag {
                    $( $tag => serde_json::from_value::<$ty>(value.clone()).ok().map(Self::$variant), )*
                    _ => None,
                };
                Ok(parsed.unwrap_or(Self::Other(value)))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let value = match self {
                    $( Self::$variant(inner) => $crate::types::tagged($tag, inner)
                        .map_err(serde::ser::Error::custom)?, )*
                    Self::Other(value) => value.clone(),
                };
                serde::Serialize::serialize(&value, serializer)
            }
        }
    };
}

/// Declares a string enum that keeps an unknown value as `Other(String)`.
macro_rules! open_str_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $text:literal => $variant:ident, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this client does not know.
            Other(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )*
                    Self::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $( $text => Self::$variant, )*
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from(text.as_str()))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

pub(crate) use {open_str_enum, open_union};

/// Serialises a secret's value into a request body. Every caller is a place where a secret
/// leaves custody, on purpose.
pub(crate) fn expose<S: serde::Serializer>(
    secret: &antpath_redact::Secret<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}
