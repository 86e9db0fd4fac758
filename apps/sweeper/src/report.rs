//! What one pass did: a counter per action, printed as one `name=value` line per pass and
//! summed into the metrics.

use std::fmt;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Leases cleared.
    pub leases_expired: u64,
    /// Secrets bundles destroyed: left on a finished run, or with a purged run.
    pub secrets_destroyed: u64,
    /// Runs nudged to reconcile their journal.
    pub intents_nudged: u64,
    /// Deleted runs purged (objects, output rows and secrets gone; tombstone left).
    pub runs_purged: u64,
    /// Bytes given back by purged runs.
    pub run_bytes_purged: u64,
    /// Workspaces whose storage counter disagreed with their output rows, now fixed.
    pub storage_drift_workspaces: u64,
    /// The disagreement in bytes, summed over those workspaces (in either direction).
    pub storage_drift_bytes: u64,
    /// Deleted workspaces still waiting for their runs to finish.
    pub workspaces_draining: u64,
    /// Runs of deleted workspaces newly cancel-requested by the drain.
    pub workspace_runs_cancelled: u64,
    /// Runs of deleted workspaces purged with everything that cascades from them.
    pub workspace_runs_purged: u64,
    /// Output rows of deleted workspaces removed.
    pub workspace_objects_purged: u64,
    /// Their bytes.
    pub workspace_bytes_purged: u64,
    /// Workspace deletions completed (tokens revoked, workspace tombstoned).
    pub workspaces_deleted: u64,
    /// Object-store deletions that failed; the next pass retries them.
    pub storage_errors: u64,
    /// Locked passes skipped because another sweeper held their lock.
    pub passes_skipped: u64,
    /// Cached agents archived and environments deleted (idle, no unfinished run on them).
    pub cache_retired: u64,
    /// Retirements that failed (the provider call); the entry is retried on a later pass.
    pub cache_errors: u64,
    /// Run-feed watches left by bff replicas that are gone (not renewed for ten minutes).
    pub watches_expired: u64,
}

impl Report {
    /// Every counter with its name, in a fixed order (the line and the metric names use it).
    pub fn counters(&self) -> [(&'static str, u64); 18] {
        [
            ("leases_expired", self.leases_expired),
            ("secrets_destroyed", self.secrets_destroyed),
            ("intents_nudged", self.intents_nudged),
            ("runs_purged", self.runs_purged),
            ("run_bytes_purged", self.run_bytes_purged),
            ("storage_drift_workspaces", self.storage_drift_workspaces),
            ("storage_drift_bytes", self.storage_drift_bytes),
            ("workspaces_draining", self.workspaces_draining),
            ("workspace_runs_cancelled", self.workspace_runs_cancelled),
            ("workspace_runs_purged", self.workspace_runs_purged),
            ("workspace_objects_purged", self.workspace_objects_purged),
            ("workspace_bytes_purged", self.workspace_bytes_purged),
            ("workspaces_deleted", self.workspaces_deleted),
            ("storage_errors", self.storage_errors),
            ("passes_skipped", self.passes_skipped),
            ("cache_retired", self.cache_retired),
            ("cache_errors", self.cache_errors),
            ("watches_expired", self.watches_expired),
        ]
    }

    /// Adds another report's counters to this one.
    pub fn add(&mut self, other: &Report) {
        let Report {
            leases_expired,
            secrets_destroyed,
            intents_nudged,
            runs_purged,
            run_bytes_purged,
            storage_drift_workspaces,
            storage_drift_bytes,
            workspaces_draining,
            workspace_runs_cancelled,
            workspace_runs_purged,
            workspace_objects_purged,
            workspace_bytes_purged,
            workspaces_deleted,
            storage_errors,
            passes_skipped,
            cache_retired,
            cache_errors,
            watches_expired,
        } = other;
        self.leases_expired += leases_expired;
        self.secrets_destroyed += secrets_destroyed;
        self.intents_nudged += intents_nudged;
        self.runs_purged += runs_purged;
        self.run_bytes_purged += run_bytes_purged;
        self.storage_drift_workspaces += storage_drift_workspaces;
        self.storage_drift_bytes += storage_drift_bytes;
        self.workspaces_draining += workspaces_draining;
        self.workspace_runs_cancelled += workspace_runs_cancelled;
        self.workspace_runs_purged += workspace_runs_purged;
        self.workspace_objects_purged += workspace_objects_purged;
        self.workspace_bytes_purged += workspace_bytes_purged;
        self.workspaces_deleted += workspaces_deleted;
        self.storage_errors += storage_errors;
        self.passes_skipped += passes_skipped;
        self.cache_retired += cache_retired;
        self.cache_errors += cache_errors;
        self.watches_expired += watches_expired;
    }
}

/// `leases_expired=0 secrets_destroyed=1 …`: every counter, on one line.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.counters().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_names_every_counter_once() {
        let report = Report {
            storage_drift_bytes: 7,
            ..Report::default()
        };
        let line = report.to_string();
        assert!(!line.contains('\n'));
        assert_eq!(line.split(' ').count(), report.counters().len());
        assert!(line.contains("storage_drift_bytes=7"), "{line}");
        assert!(line.starts_with("leases_expired=0 "), "{line}");
    }

    #[test]
    fn adding_reports_sums_every_counter() {
        let one = Report {
            runs_purged: 1,
            passes_skipped: 2,
            ..Report::default()
        };
        let mut total = one;
        total.add(&one);
        assert_eq!(total.runs_purged, 2);
        assert_eq!(total.passes_skipped, 4);
        assert_eq!(total.leases_expired, 0);
    }
}
