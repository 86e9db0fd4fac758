//! The worker's metrics, served as Prometheus text on the health endpoint's `/metrics`.
//!
//! Counters and histograms of this replica since it started: claims and claim latency, step
//! durations by phase, provider calls by endpoint and status, throttle waits, captured bytes,
//! cleanup outcomes, leases lost mid-step, and what cleanup and reconciliation found.
//! Labels are fixed words (phases, outcomes, route templates, status codes): never ids.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Histogram bucket bounds, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// A histogram of durations, with fixed [`BUCKETS`].
#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in BUCKETS.iter().zip(self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// The labelled series, behind one lock (updates are a few per step).
#[derive(Debug, Default)]
struct Series {
    claim_latency: Histogram,
    steps: BTreeMap<&'static str, Histogram>,
    provider_calls: BTreeMap<(String, String), u64>,
    throttle_waits: BTreeMap<&'static str, u64>,
    cleanups: BTreeMap<&'static str, u64>,
    agent_cache: BTreeMap<&'static str, u64>,
}

/// The worker's metrics registry.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    leaks_found: AtomicU64,
    cleanups_abandoned: AtomicU64,
    claims: AtomicU64,
    empty_claims: AtomicU64,
    lease_renewals: AtomicU64,
    capture_bytes: AtomicU64,
    leases_lost: AtomicU64,
    series: Mutex<Series>,
}

impl WorkerMetrics {
    fn series(&self) -> std::sync::MutexGuard<'_, Series> {
        self.series.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The leak scan found a resource with the run's metadata that the journal did not hold.
    pub fn leak_found(&self) {
        self.leaks_found.fetch_add(1, Ordering::Relaxed);
    }

    /// A run's cleanup was abandoned.
    pub fn cleanup_abandoned(&self) {
        self.cleanups_abandoned.fetch_add(1, Ordering::Relaxed);
        self.cleanup_ended("abandoned");
    }

    /// A run's cleanup ended with `outcome` (`succeeded`, `retained`, `abandoned`).
    pub fn cleanup_ended(&self, outcome: &'static str) {
        *self.series().cleanups.entry(outcome).or_default() += 1;
    }

    /// One claim query took `elapsed` and leased `claimed` runs.
    pub fn observe_claim(&self, claimed: usize, elapsed: Duration) {
        self.claims.fetch_add(
            u64::try_from(claimed).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if claimed == 0 {
            self.empty_claims.fetch_add(1, Ordering::Relaxed);
        }
        self.series().claim_latency.observe(elapsed);
    }

    /// Claim queries so far that leased nothing (an idle replica's polls: one transaction
    /// each).
    pub fn empty_claims(&self) -> u64 {
        self.empty_claims.load(Ordering::Relaxed)
    }

    /// A lease renewal was sent (one transaction, however it ended).
    pub fn lease_renewed(&self) {
        self.lease_renewals.fetch_add(1, Ordering::Relaxed);
    }

    /// Lease renewals sent so far: one transaction per `lease_seconds - lease_renew_seconds`
    /// of a lease hold, so they depend on how long runs take, not on their work.
    pub fn lease_renewals(&self) -> u64 {
        self.lease_renewals.load(Ordering::Relaxed)
    }

    /// One step of `phase` took `elapsed`.
    pub fn observe_step(&self, phase: &'static str, elapsed: Duration) {
        self.series()
            .steps
            .entry(phase)
            .or_default()
            .observe(elapsed);
    }

    /// A provider call to `route` (a path template) ended with `status` (an HTTP status, or
    /// `error` when no response came).
    pub fn observe_provider_call(&self, route: &str, status: &str) {
        *self
            .series()
            .provider_calls
            .entry((route.to_owned(), status.to_owned()))
            .or_default() += 1;
    }

    /// A step was put off because of a rate limit: `ours` (the worker's own throttle) or
    /// `provider` (a 429).
    pub fn throttle_wait(&self, source: &'static str) {
        *self.series().throttle_waits.entry(source).or_default() += 1;
    }

    /// A provision step's look-up of the agent cache ended `outcome` (`hit`, `created`,
    /// `adopted`, `waited`).
    pub fn agent_cache(&self, outcome: &'static str) {
        *self.series().agent_cache.entry(outcome).or_default() += 1;
    }

    /// Captured output bytes written to storage.
    pub fn captured(&self, bytes: u64) {
        self.capture_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A lease expired (or was taken over) while this replica worked the run.
    pub fn lease_lost(&self) {
        self.leases_lost.fetch_add(1, Ordering::Relaxed);
    }

    /// Resources found by leak scans so far.
    pub fn leaks_found(&self) -> u64 {
        self.leaks_found.load(Ordering::Relaxed)
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {value}");
        };
        counter(
            &mut out,
            "antpath_worker_leaks_found_total",
            "Resources the leak scan found that the journal did not hold.",
            self.leaks_found.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "antpath_worker_cleanups_abandoned_total",
            "Run cleanups abandoned.",
            self.cleanups_abandoned.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "antpath_worker_claims_total",
            "Runs leased by this replica.",
            self.claims.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "antpath_worker_empty_claims_total",
            "Claim queries that leased nothing.",
            self.empty_claims.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "antpath_worker_lease_renewals_total",
            "Lease renewals sent by this replica.",
            self.lease_renewals.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "antpath_worker_capture_bytes_total",
            "Output bytes captured into storage.",
            self.capture_bytes.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "antpath_worker_leases_lost_total",
            "Leases that expired or were taken over while a step ran.",
            self.leases_lost.load(Ordering::Relaxed),
        );
        let series = self.series();
        let _ = writeln!(
            out,
            "# HELP antpath_worker_claim_seconds Time of one claim query.\n\
             # TYPE antpath_worker_claim_seconds histogram"
        );
        series
            .claim_latency
            .render(&mut out, "antpath_worker_claim_seconds", "");
        let _ = writeln!(
            out,
            "# HELP antpath_worker_step_seconds Step duration by phase.\n\
             # TYPE antpath_worker_step_seconds histogram"
        );
        for (phase, histogram) in &series.steps {
            histogram.render(
                &mut out,
                "antpath_worker_step_seconds",
                &format!("phase=\"{phase}\""),
            );
        }
        let _ = writeln!(
            out,
            "# HELP antpath_worker_provider_calls_total Provider calls by route and status.\n\
             # TYPE antpath_worker_provider_calls_total counter"
        );
        for ((route, status), count) in &series.provider_calls {
            let _ = writeln!(
                out,
                "antpath_worker_provider_calls_total{{route=\"{}\",status=\"{}\"}} {count}",
                escape(route),
                escape(status)
            );
        }
        let _ = writeln!(
            out,
            "# HELP antpath_worker_throttle_waits_total Steps put off by a rate limit.\n\
             # TYPE antpath_worker_throttle_waits_total counter"
        );
        for (source, count) in &series.throttle_waits {
            let _ = writeln!(
                out,
                "antpath_worker_throttle_waits_total{{source=\"{source}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP antpath_worker_cleanups_total Run cleanups ended, by outcome.\n\
             # TYPE antpath_worker_cleanups_total counter"
        );
        for (outcome, count) in &series.cleanups {
            let _ = writeln!(
                out,
                "antpath_worker_cleanups_total{{outcome=\"{outcome}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP antpath_worker_agent_cache_total Agent-cache look-ups of provision steps, by outcome.\n\
             # TYPE antpath_worker_agent_cache_total counter"
        );
        for (outcome, count) in &series.agent_cache {
            let _ = writeln!(
                out,
                "antpath_worker_agent_cache_total{{outcome=\"{outcome}\"}} {count}"
            );
        }
        out
    }
}

/// Escapes a label value for the text format.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_series_is_rendered_with_its_labels() {
        let metrics = WorkerMetrics::default();
        metrics.observe_claim(3, Duration::from_millis(20));
        metrics.observe_step("dispatch", Duration::from_millis(300));
        metrics.observe_provider_call("/v1/sessions/{id}", "200");
        metrics.throttle_wait("provider");
        metrics.captured(42);
        metrics.cleanup_ended("succeeded");
        metrics.cleanup_abandoned();
        metrics.lease_lost();
        let text = metrics.render();
        for line in [
            "antpath_worker_claims_total 3",
            "antpath_worker_claim_seconds_bucket{le=\"0.025\"} 1",
            "antpath_worker_claim_seconds_bucket{le=\"0.01\"} 0",
            "antpath_worker_step_seconds_count{phase=\"dispatch\"} 1",
            "antpath_worker_provider_calls_total{route=\"/v1/sessions/{id}\",status=\"200\"} 1",
            "antpath_worker_throttle_waits_total{source=\"provider\"} 1",
            "antpath_worker_capture_bytes_total 42",
            "antpath_worker_cleanups_total{outcome=\"succeeded\"} 1",
            "antpath_worker_cleanups_total{outcome=\"abandoned\"} 1",
            "antpath_worker_leases_lost_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
    }
}
