//! The documented Managed Agents rate limits, applied per API key by default.
//!
//! The platform's rate-limit page (platform.claude.com, API reference, "Rate limits", the
//! Managed Agents section; see `docs/provider.md`) sets them per organisation in two classes: **create** endpoints (300 requests per minute)
//! and every other endpoint — retrieve, list, stream, update, archive, delete, send (1,200
//! requests per minute). The simulator treats one API key as one organisation and keeps a
//! token bucket per key and class: full at the minute's allowance, refilled continuously at
//! allowance/60 per second, so a burst up to the allowance passes and a steady rate above it
//! gets 429 `rate_limit_error` with `retry-after` and the `anthropic-ratelimit-requests-*`
//! headers the API sends (see [`crate::layers`]).

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Requests per minute of the create endpoints, per organisation.
pub const CREATES_PER_MINUTE: u32 = 300;
/// Requests per minute of every other endpoint (reads), per organisation.
pub const READS_PER_MINUTE: u32 = 1_200;

/// The documented limits, per key; part of [`crate::FaultConfig`] (`null` turns them off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DocumentedLimits {
    /// Allowance of the create endpoints per minute.
    pub creates_per_minute: u32,
    /// Allowance of every other endpoint per minute.
    pub reads_per_minute: u32,
}

impl Default for DocumentedLimits {
    fn default() -> Self {
        Self {
            creates_per_minute: CREATES_PER_MINUTE,
            reads_per_minute: READS_PER_MINUTE,
        }
    }
}

/// The class of a request under the documented limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// A `POST` to a collection: `/v1/agents`, `/v1/sessions`, `/v1/vaults/{id}/credentials`,
    /// `/v1/files`, …
    Create,
    /// Anything else.
    Read,
}

impl Class {
    /// The class of `method path`.
    pub fn of(method: &str, path: &str) -> Self {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let collection = match segments.as_slice() {
            ["v1", _] => true,
            ["v1", parent, _, child] => {
                matches!(
                    (*parent, *child),
                    ("vaults", "credentials") | ("sessions", "resources")
                )
            }
            _ => false,
        };
        if method.eq_ignore_ascii_case("POST") && collection {
            Class::Create
        } else {
            Class::Read
        }
    }
}

/// What one request's bucket said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Admitted; the bucket's allowance and what is left.
    Admitted {
        /// Requests per minute of the class.
        limit: u32,
        /// Whole requests left in the bucket.
        remaining: u32,
    },
    /// Refused until a token is back, in whole seconds (at least 1).
    Refused {
        /// Requests per minute of the class.
        limit: u32,
        /// Seconds until one request is allowed again.
        retry_after_secs: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every key (one entry per key and class: bounded by the keys in use).
#[derive(Debug, Default)]
pub struct Buckets {
    buckets: HashMap<(String, Class), Bucket>,
}

impl Buckets {
    /// Takes one request of `class` for `key` at `now`.
    pub fn take(
        &mut self,
        limits: DocumentedLimits,
        key: &str,
        class: Class,
        now: Instant,
    ) -> Take {
        let limit = match class {
            Class::Create => limits.creates_per_minute,
            Class::Read => limits.reads_per_minute,
        };
        let capacity = f64::from(limit.max(1));
        let per_second = capacity / 60.0;
        let bucket = self
            .buckets
            .entry((key.to_owned(), class))
            .or_insert(Bucket {
                tokens: capacity,
                at: now,
            });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Take::Admitted {
                limit,
                remaining: bucket.tokens as u32,
            }
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Take::Refused {
                limit,
                retry_after_secs: (wait.ceil() as u64).max(1),
            }
        }
    }

    /// `(limit, remaining)` of `key`'s bucket of `class`, without taking anything.
    pub fn peek(&self, limits: DocumentedLimits, key: &str, class: Class) -> (u32, u32) {
        let limit = match class {
            Class::Create => limits.creates_per_minute,
            Class::Read => limits.reads_per_minute,
        };
        let remaining = self
            .buckets
            .get(&(key.to_owned(), class))
            .map_or(limit, |b| b.tokens as u32);
        (limit, remaining)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn posts_to_collections_are_creates_and_everything_else_reads() {
        assert_eq!(Class::of("POST", "/v1/sessions"), Class::Create);
        assert_eq!(
            Class::of("POST", "/v1/vaults/vlt_1/credentials"),
            Class::Create
        );
        assert_eq!(Class::of("POST", "/v1/sessions/s/archive"), Class::Read);
        assert_eq!(Class::of("POST", "/v1/sessions/s/events"), Class::Read);
        assert_eq!(Class::of("GET", "/v1/sessions"), Class::Read);
        assert_eq!(Class::of("DELETE", "/v1/sessions/s"), Class::Read);
    }

    #[test]
    fn a_burst_up_to_the_allowance_passes_then_the_refill_rate_holds() {
        let limits = DocumentedLimits {
            creates_per_minute: 60,
            reads_per_minute: 120,
        };
        let mut buckets = Buckets::default();
        let start = Instant::now();
        for _ in 0..60 {
            assert!(matches!(
                buckets.take(limits, "k", Class::Create, start),
                Take::Admitted { limit: 60, .. }
            ));
        }
        assert_eq!(
            buckets.take(limits, "k", Class::Create, start),
            Take::Refused {
                limit: 60,
                retry_after_secs: 1
            }
        );
        // Reads and other keys have their own buckets.
        assert!(matches!(
            buckets.take(limits, "k", Class::Read, start),
            Take::Admitted { .. }
        ));
        assert!(matches!(
            buckets.take(limits, "other", Class::Create, start),
            Take::Admitted { .. }
        ));
        // One create per second comes back.
        let later = start + Duration::from_millis(1_001);
        assert!(matches!(
            buckets.take(limits, "k", Class::Create, later),
            Take::Admitted { .. }
        ));
        assert!(matches!(
            buckets.take(limits, "k", Class::Create, later),
            Take::Refused { .. }
        ));
    }
}
