//! The worker's counters, served as Prometheus text on the health endpoint's `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of what cleanup and reconciliation did in this replica since it started.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    leaks_found: AtomicU64,
    cleanups_abandoned: AtomicU64,
}

impl WorkerMetrics {
    /// The leak scan found a resource with the run's metadata that the journal did not hold.
    pub fn leak_found(&self) {
        self.leaks_found.fetch_add(1, Ordering::Relaxed);
    }

    /// A run's cleanup was abandoned.
    pub fn cleanup_abandoned(&self) {
        self.cleanups_abandoned.fetch_add(1, Ordering::Relaxed);
    }

    /// Resources found by leak scans so far.
    pub fn leaks_found(&self) -> u64 {
        self.leaks_found.load(Ordering::Relaxed)
    }

    /// The counters in the Prometheus text format.
    pub fn render(&self) -> String {
        format!(
            "# TYPE antpath_worker_leaks_found_total counter\n\
             antpath_worker_leaks_found_total {}\n\
             # TYPE antpath_worker_cleanups_abandoned_total counter\n\
             antpath_worker_cleanups_abandoned_total {}\n",
            self.leaks_found.load(Ordering::Relaxed),
            self.cleanups_abandoned.load(Ordering::Relaxed),
        )
    }
}
