//! Configuration of a simulator instance: accepted keys, timings and the fault knobs.
//!
//! [`SimConfig`] is what [`crate::spawn`] and [`crate::serve`] take; the CLI in `main.rs` builds
//! one from flags. [`FaultConfig`] is also the JSON body of `POST /__sim/faults`, so tests can
//! change faults at run time.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::limits::DocumentedLimits;
use crate::store::Retention;

/// Prefix every accepted API key must start with when no explicit key list is configured.
pub const DEFAULT_KEY_PREFIX: &str = "sk-ant-";

/// Everything a simulator instance is built from.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Keys accepted in `x-api-key` or `Authorization: Bearer`. Empty: any key starting with
    /// [`DEFAULT_KEY_PREFIX`] is accepted.
    pub api_keys: Vec<String>,
    /// Fault injection and rate limits; replaceable at run time via `POST /__sim/faults`.
    pub faults: FaultConfig,
    /// Pause between two events emitted by the scripted agent. Tens of milliseconds keep tests
    /// quick while still letting a poller observe the `running` state.
    pub step_delay: Duration,
    /// HTTP status for archiving or deleting a running session (the docs leave it open: 400 or
    /// 409). Defaults to 409.
    pub busy_status: u16,
    /// How much deleted, archived and event history the store keeps.
    pub retention: Retention,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            api_keys: Vec::new(),
            faults: FaultConfig::default(),
            step_delay: Duration::from_millis(10),
            busy_status: 409,
            retention: Retention::default(),
        }
    }
}

impl SimConfig {
    /// Whether `key` is accepted by this configuration.
    pub fn accepts_key(&self, key: &str) -> bool {
        if self.api_keys.is_empty() {
            key.starts_with(DEFAULT_KEY_PREFIX) && key.len() > DEFAULT_KEY_PREFIX.len()
        } else {
            self.api_keys.iter().any(|k| k == key)
        }
    }
}

/// Which failure an injected fault produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 `rate_limit_error` with a `retry-after` header.
    RateLimited,
    /// 500 `api_error`.
    ServerError,
    /// 529 `overloaded_error`.
    Overloaded,
    /// The connection is closed without any response; the request is not handled.
    Drop,
    /// The request is handled in full (the provider acts: a resource is created, deleted or
    /// archived, an event is accepted) and then the connection is closed without a response,
    /// as when a reply is lost on the way back.
    LostResponse,
}

/// A deterministic fault on the requests that match `method`, `path_prefix` and `path_suffix`:
/// either the next `count` of them, or, with `for_ms`, every one for a while.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailRule {
    /// How many matching requests still fail. Ignored when `for_ms` is set.
    #[serde(default)]
    pub count: u32,
    /// A time window instead of a count: every matching request fails for this many
    /// milliseconds after the rule is installed. Reading the faults back shows the time left.
    #[serde(default)]
    pub for_ms: Option<u64>,
    /// HTTP method to match (case-insensitive); `None` matches any method.
    #[serde(default)]
    pub method: Option<String>,
    /// Path prefix to match, e.g. `/v1/sessions`. Empty matches every `/v1` path.
    #[serde(default)]
    pub path_prefix: String,
    /// Path suffix to match as well, e.g. `/archive`. Empty matches any ending.
    #[serde(default)]
    pub path_suffix: String,
    /// What the matching requests get.
    pub fault: FaultKind,
}

impl FailRule {
    /// Whether this rule is about `method` and `path` (whether it still fires is up to the
    /// fault state).
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.starts_with(self.path_prefix.as_str())
            && path.ends_with(self.path_suffix.as_str())
    }
}

/// Fault injection and rate limiting. Faults only ever hit `/v1/…`, never `/__sim/…`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Seed of the random generator behind the `*_rate` knobs, so a run is repeatable.
    pub seed: u64,
    /// Probability (0–1) that a request gets a 429 with `retry-after`.
    pub rate_429: f64,
    /// Probability (0–1) that a request gets a 500.
    pub rate_500: f64,
    /// Probability (0–1) that a request gets a 529.
    pub rate_529: f64,
    /// Probability (0–1) that the connection is closed without a response (request not handled).
    pub drop_rate: f64,
    /// Probability (0–1) that the request is handled and then its response lost
    /// ([`FaultKind::LostResponse`]).
    pub lost_response_rate: f64,
    /// Value of the `retry-after` header (seconds) on injected and rate-limit 429s.
    pub retry_after_secs: u64,
    /// Latency added before every `/v1` request is handled, in milliseconds.
    pub latency_ms: u64,
    /// Extra latency drawn uniformly from `0..=latency_jitter_ms` per request, on top of
    /// `latency_ms` (so `50` and `250` give the 50–300 ms a real API call takes).
    pub latency_jitter_ms: u64,
    /// Deterministic rules, checked before the random knobs, in order.
    pub fail_next: Vec<FailRule>,
    /// Requests per second allowed per API key, every route alike; `None` disables this
    /// extra limiter (the documented limits below still apply).
    pub rate_limit_rps: Option<u32>,
    /// The documented per-organisation limits (creates and reads per minute, one API key
    /// standing for one organisation); on by default, `null` turns them off.
    pub documented_limits: Option<DocumentedLimits>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            rate_429: 0.0,
            rate_500: 0.0,
            rate_529: 0.0,
            drop_rate: 0.0,
            lost_response_rate: 0.0,
            retry_after_secs: 1,
            latency_ms: 0,
            latency_jitter_ms: 0,
            fail_next: Vec::new(),
            rate_limit_rps: None,
            documented_limits: Some(DocumentedLimits::default()),
        }
    }
}
