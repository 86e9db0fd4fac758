//! Plan defaults and operational limits, with conservative fallbacks.
//!
//! Every field here is optional in every source; the defaults below are what a deployment gets
//! when it sets nothing. They are listed, with their environment names, in
//! `docs/configuration.md`; keep the two in step.

use antpath_types::ClaudeSessionCleanup;
use serde::{Deserialize, Serialize};

/// Limits applied by the bff, the worker and the sweeper.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Longest a run may take, dispatch to end of work (seconds). Default 1 hour.
    pub max_run_duration_seconds: u32,
    /// Runs active at once per workspace. Default 5.
    pub max_active_runs_per_workspace: u32,
    /// Runs active at once per API token. Default 3.
    pub max_active_runs_per_token: u32,
    /// First poll interval of a running session (milliseconds). Default 1 s.
    pub poll_base_ms: u64,
    /// Longest poll interval of a long-running session (milliseconds). Default 15 s.
    pub poll_max_ms: u64,
    /// Random spread added to each poll interval, as a fraction of it. Default 0.2.
    pub poll_jitter: f64,
    /// Provider create calls per minute per provider key, shared by all replicas. Default 60.
    pub provider_creates_per_minute: u32,
    /// Provider read calls per second per provider key, shared by all replicas. Default 10.
    pub provider_reads_per_second: u32,
    /// How long a claimed lease lasts (seconds). Default 10: a killed worker's runs move again
    /// within this plus one claim poll (see `docs/reliability.md`, "Leases and recovery").
    pub lease_seconds: u32,
    /// Renew a lease when less than this remains (seconds). Default 6: a renewal every ~4 s,
    /// with 6 s for it to get through before the lease lapses.
    pub lease_renew_seconds: u32,
    /// Provider attempts per run: a session that ends for a provider-side reason is replaced
    /// by a fresh one up to this many times in all. Default 3.
    pub max_attempts: u32,
    /// Consecutive failures of one step (reset by progress; throttling does not count) before
    /// the run fails, or an ending step moves on. Default 5.
    pub max_step_retries: u32,
    /// How long after a run's work ended its cleanup keeps retrying before it is abandoned:
    /// the leftovers are listed on the run and its secrets destroyed (seconds). Default 1 day.
    pub cleanup_give_up_after_seconds: u32,
    /// What happens to Claude-side resources when neither the run nor its template says;
    /// applied at submission. Default `delete`.
    pub claude_session_cleanup_default: ClaudeSessionCleanup,
    /// First cleanup retry delay (seconds); doubles each try. Default 5.
    pub cleanup_backoff_base_seconds: u32,
    /// Longest cleanup retry delay (seconds). Default 300.
    pub cleanup_backoff_max_seconds: u32,
    /// Hard cap on one downloaded output file, whatever its listing says (bytes). Default 512 MiB.
    pub file_safety_cap_bytes: u64,
    /// Storage cap of a new workspace (bytes). Default 1 GiB.
    pub workspace_storage_cap_bytes: u64,
    /// Lifetime of a signed download link (seconds). Default 300.
    pub signed_url_ttl_seconds: u32,
    /// Run submissions per workspace per minute. Default 60.
    pub submit_per_minute: u32,
    /// Cancels and deletes per workspace per minute. Default 60.
    pub mutate_per_minute: u32,
    /// Signed links per workspace per minute. Default 120.
    pub links_per_minute: u32,
    /// Token creations and revocations per workspace per minute. Default 10.
    pub token_changes_per_minute: u32,
    /// Sign-in attempts per email per minute, with a burst of the same size. Default 5, so a
    /// guesser gets five tries and then one every twelve seconds.
    pub sign_in_per_minute: u32,
    /// Sign-in attempts per client address per minute, whatever the email. Default 30.
    pub sign_in_per_minute_per_address: u32,
    /// Agent and environment reuse: a run whose agent (environment) configuration matches a
    /// cached one of the same provider key uses it instead of creating its own, and the
    /// sweeper archives (deletes) a cached one idle this long with no unfinished run on it
    /// (seconds). `0` turns reuse off (and lets the sweeper retire every idle entry). Default
    /// 0: off, so every run owns its agent and environment as before.
    pub agent_cache_idle_seconds: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_run_duration_seconds: 3600,
            max_active_runs_per_workspace: 5,
            max_active_runs_per_token: 3,
            poll_base_ms: 1000,
            poll_max_ms: 15_000,
            poll_jitter: 0.2,
            provider_creates_per_minute: 60,
            provider_reads_per_second: 10,
            lease_seconds: 10,
            lease_renew_seconds: 6,
            max_attempts: 3,
            max_step_retries: 5,
            cleanup_give_up_after_seconds: 24 * 60 * 60,
            claude_session_cleanup_default: ClaudeSessionCleanup::Delete,
            cleanup_backoff_base_seconds: 5,
            cleanup_backoff_max_seconds: 300,
            file_safety_cap_bytes: 512 * 1024 * 1024,
            workspace_storage_cap_bytes: 1024 * 1024 * 1024,
            signed_url_ttl_seconds: 300,
            submit_per_minute: 60,
            mutate_per_minute: 60,
            links_per_minute: 120,
            token_changes_per_minute: 10,
            sign_in_per_minute: 5,
            sign_in_per_minute_per_address: 30,
            agent_cache_idle_seconds: 0,
        }
    }
}

impl Limits {
    /// Problems with the limits themselves (each a sentence naming the setting).
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut positive = |name: &str, value: u64| {
            if value == 0 {
                problems.push(format!(
                    "ANTPATH_LIMITS__{} must be greater than 0",
                    name.to_uppercase()
                ));
            }
        };
        positive(
            "max_run_duration_seconds",
            self.max_run_duration_seconds.into(),
        );
        positive(
            "max_active_runs_per_workspace",
            self.max_active_runs_per_workspace.into(),
        );
        positive(
            "max_active_runs_per_token",
            self.max_active_runs_per_token.into(),
        );
        positive("poll_base_ms", self.poll_base_ms);
        positive("lease_seconds", self.lease_seconds.into());
        positive("max_attempts", self.max_attempts.into());
        positive("file_safety_cap_bytes", self.file_safety_cap_bytes);
        positive("signed_url_ttl_seconds", self.signed_url_ttl_seconds.into());
        positive("sign_in_per_minute", self.sign_in_per_minute.into());
        positive(
            "sign_in_per_minute_per_address",
            self.sign_in_per_minute_per_address.into(),
        );
        if self.poll_max_ms < self.poll_base_ms {
            problems.push(
                "ANTPATH_LIMITS__POLL_MAX_MS must be at least ANTPATH_LIMITS__POLL_BASE_MS".into(),
            );
        }
        if !(0.0..=1.0).contains(&self.poll_jitter) {
            problems.push("ANTPATH_LIMITS__POLL_JITTER must be between 0 and 1".into());
        }
        if self.lease_renew_seconds >= self.lease_seconds {
            problems.push(
                "ANTPATH_LIMITS__LEASE_RENEW_SECONDS must be less than ANTPATH_LIMITS__LEASE_SECONDS".into(),
            );
        }
        problems
    }
}
