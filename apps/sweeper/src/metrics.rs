//! The sweeper's Prometheus metrics: every [`Report`] counter summed over the passes
//! (`antpath_sweeper_<counter>_total`), plus passes and failed passes, in the text exposition
//! format. [`serve`] answers `/metrics` and `/healthz` when the sweeper loops; a one-shot
//! CronJob reports on its standard output instead.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Report;

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    counters: Report,
    passes: u64,
    failed_passes: u64,
}

/// The sweeper's metrics registry.
#[derive(Debug, Default)]
pub struct Metrics {
    totals: Mutex<Totals>,
}

impl Metrics {
    /// Adds a finished pass.
    pub fn observe_pass(&self, report: &Report) {
        let mut totals = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
        totals.counters.add(report);
        totals.passes += 1;
    }

    /// Counts a pass that failed.
    pub fn observe_failure(&self) {
        self.totals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .failed_passes += 1;
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let totals = *self.totals.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP antpath_sweeper_{name}_total {help}");
            let _ = writeln!(out, "# TYPE antpath_sweeper_{name}_total counter");
            let _ = writeln!(out, "antpath_sweeper_{name}_total {value}");
        };
        counter("passes", "Sweeper passes finished.", totals.passes);
        counter(
            "failed_passes",
            "Sweeper passes that failed (the next pass retries).",
            totals.failed_passes,
        );
        for (name, value) in totals.counters.counters() {
            counter(
                name,
                "Summed over the sweeper's passes; see the sweeper's Report.",
                value,
            );
        }
        out
    }
}

/// Serves `/metrics` and `/healthz` on `listener` until `stop` is cancelled.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, stop: CancellationToken) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(|State(metrics): State<Arc<Metrics>>| async move { metrics.render() }),
        )
        .with_state(metrics);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    if let Err(err) = served {
        tracing::error!(error.message = %err, "sweeper metrics endpoint failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drift_counters_are_summed_into_their_metrics() {
        let metrics = Metrics::default();
        let pass = Report {
            storage_drift_workspaces: 1,
            storage_drift_bytes: 40,
            ..Report::default()
        };
        metrics.observe_pass(&pass);
        metrics.observe_pass(&pass);
        metrics.observe_failure();
        let text = metrics.render();
        assert!(
            text.contains("antpath_sweeper_storage_drift_workspaces_total 2\n"),
            "{text}"
        );
        assert!(
            text.contains("antpath_sweeper_storage_drift_bytes_total 80\n"),
            "{text}"
        );
        assert!(text.contains("antpath_sweeper_passes_total 2\n"), "{text}");
        assert!(
            text.contains("antpath_sweeper_failed_passes_total 1\n"),
            "{text}"
        );
    }
}
