//! Prefixed, typed identifiers.
//!
//! Every entity has a UUID in Postgres and a prefixed form on the wire (`run_0190c6…`), so an id
//! pasted into the wrong place is caught at parse time and a log line says what kind of thing it
//! names. The Rust types keep a run id from being passed where a workspace id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// Why a string is not a valid id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an id of the form {prefix}_<32 hex digits>")]
pub struct IdParseError {
    /// The prefix the id should have carried.
    pub prefix: &'static str,
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(pub Uuid);

        impl $name {
            /// The prefix of this id's wire form.
            pub const PREFIX: &'static str = $prefix;

            /// A new, time-ordered id (UUIDv7), so ids sort roughly by creation.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The UUID stored in Postgres.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.simple())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let err = IdParseError { prefix: $prefix };
                let rest = s
                    .strip_prefix($prefix)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .ok_or(err.clone())?;
                if rest.len() != 32 || !rest.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err);
                }
                Uuid::parse_str(rest).map(Self).map_err(|_| err)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

typed_id!(/// A workspace, the tenant boundary.
    WorkspaceId, "ws");
typed_id!(/// A human user of the dashboard and the creator of API tokens.
    UserId, "usr");
typed_id!(/// An API token (its id, never its value).
    TokenId, "tok");
typed_id!(/// A run: one submitted template executed on the provider.
    RunId, "run");
typed_id!(/// One provider attempt of a run.
    AttemptId, "att");
typed_id!(/// A journal row for a provider resource created for a run.
    ResourceId, "res");
typed_id!(/// A cached agent or environment, shared by the runs of one provider key.
    CacheEntryId, "pce");
typed_id!(/// A stored run event (metadata only).
    EventId, "evt");
typed_id!(/// A captured output object in storage.
    OutputId, "out");
typed_id!(/// An envelope-encrypted per-run secrets bundle.
    SecretId, "sec");
typed_id!(/// A dashboard sign-in session.
    SessionId, "ses");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_through_its_wire_form() {
        let id = RunId::new();
        let text = id.to_string();
        assert!(text.starts_with("run_"));
        assert_eq!(text.len(), 4 + 32);
        assert_eq!(text.parse::<RunId>(), Ok(id));
        let json = serde_json::to_string(&id).expect("serialises");
        assert_eq!(serde_json::from_str::<RunId>(&json).expect("parses"), id);
    }

    #[test]
    fn an_id_of_another_kind_or_malformed_is_rejected() {
        let run = RunId::new().to_string();
        assert!(run.parse::<WorkspaceId>().is_err());
        assert!("run_".parse::<RunId>().is_err());
        assert!("run_zzzz".parse::<RunId>().is_err());
        assert!(format!("{run}0").parse::<RunId>().is_err());
        assert!(run.replace("run_", "run-").parse::<RunId>().is_err());
    }
}
