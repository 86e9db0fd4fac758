//! The [`Secret`] wrapper.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What every formatted or serialised secret turns into.
pub const REDACTED: &str = "[redacted]";

/// A value that must never reach a log line, an error message, a response body or a database
/// column in plain text.
///
/// It deserialises transparently (so a request body can carry one), but serialises, debugs and
/// displays as [`REDACTED`]. The only way to read it is [`Secret::expose_secret`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Reads the secret value. Every call site is a place where the secret leaves custody, so
    /// keep them few and obvious.
    pub fn expose_secret(&self) -> &T {
        &self.0
    }

    /// Unwraps the secret value, giving up the protection of the wrapper.
    pub fn into_exposed(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

impl Secret<String> {
    /// True when the secret is the empty string (useful for validation messages that must not
    /// echo the value).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
