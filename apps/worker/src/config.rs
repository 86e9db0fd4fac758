//! The worker's settings, derived once from [`antpath_config::Settings`].

use std::time::Duration;

use antpath_config::{LeakScan, Limits, Settings};
use antpath_provider::RetryPolicy;

/// Everything the worker reads from configuration.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This replica's identity (the lease owner).
    pub owner: String,
    /// Runs worked on at once by this replica.
    pub concurrency: usize,
    /// Plan defaults and operational limits.
    pub limits: Limits,
    /// The provider's base URL (no `/v1`).
    pub provider_base_url: String,
    /// Per-request timeout of provider calls.
    pub provider_timeout: Duration,
    /// Retries of idempotent provider calls inside one step.
    pub provider_retry: RetryPolicy,
    /// When cleanup scans the provider for resources the journal may miss.
    pub leak_scan: LeakScan,
    /// Internal timings with safe defaults; tests shorten them.
    pub tuning: Tuning,
}

/// Worker-internal timings that are not deployment settings.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Most runs claimed by one query.
    pub claim_batch: usize,
    /// Longest idle sleep of the claim loop (polling is the source of truth).
    pub claim_poll: Duration,
    /// How long a busy claim loop waits for half a batch of free slots before claiming fewer
    /// (`antpath_lease::ClaimerConfig::claim_linger`). A due run waits this much longer only
    /// when the replica is nearly full; default 5 ms, a few steps' commits.
    pub claim_linger: Duration,
    /// Whether to `LISTEN` for wake-ups.
    pub listen: bool,
    /// Running steps get this long to finish on shutdown before their runs are handed back.
    /// The leases are still renewed meanwhile. Default 10 s, the longest wait a step sets
    /// itself (`capture_deadline`); `terminationGracePeriodSeconds` in
    /// `deploy/kubernetes/worker.yaml` is derived from it.
    pub shutdown_grace: Duration,
    /// Steps one claim may chain while the next is due at once.
    pub chain_limit: u32,
    /// Capture trusts an empty file listing only this long after the work ended (files may be
    /// listed late).
    pub capture_settle: Duration,
    /// Pause between two file listings while waiting for them to agree.
    pub capture_relist: Duration,
    /// Capture gives up waiting for listings to settle after this long in one step.
    pub capture_deadline: Duration,
    /// After an interrupt, how long to wait for the session to stop before moving on.
    pub interrupt_deadline: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            claim_batch: 16,
            claim_poll: Duration::from_secs(2),
            claim_linger: Duration::from_millis(5),
            listen: true,
            shutdown_grace: Duration::from_secs(10),
            chain_limit: 8,
            capture_settle: Duration::from_secs(3),
            capture_relist: Duration::from_millis(300),
            capture_deadline: Duration::from_secs(10),
            interrupt_deadline: Duration::from_secs(60),
        }
    }
}

impl WorkerConfig {
    /// Reads the worker's part of validated settings.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            owner: settings.worker.id.clone().unwrap_or_default(),
            concurrency: settings.worker.concurrency,
            limits: settings.limits.clone(),
            provider_base_url: settings.provider.base_url.clone(),
            provider_timeout: Duration::from_millis(settings.provider.request_timeout_ms),
            provider_retry: RetryPolicy::default(),
            leak_scan: settings.worker.leak_scan,
            tuning: Tuning {
                claim_poll: Duration::from_millis(settings.worker.claim_poll_ms.max(10)),
                ..Tuning::default()
            },
        }
    }

    /// The lease length.
    pub fn lease_ttl(&self) -> Duration {
        Duration::from_secs(self.limits.lease_seconds.into())
    }
}
