//! The run state machine.
//!
//! A run's status says where its work is and, once the work is over, what its outcome was. It
//! never changes because cleanup struggles: cleanup is reported beside it
//! ([`crate::CleanupState`]).
//!
//! [`RunStatus::can_transition_to`] is the one table of allowed moves; the worker and the bff
//! refuse any other.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a run's work is, then its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Accepted and waiting for a worker.
    Queued,
    /// A worker holds the lease and is about to provision.
    Claiming,
    /// Creating the environment, agent, vault and credentials on the provider.
    Provisioning,
    /// The provider session exists; the prompt is not yet sent.
    SessionCreated,
    /// The prompt was sent; the provider has not reported running yet.
    Dispatched,
    /// The provider session is running.
    ProviderRunning,
    /// The provider session is idle but the run is not finished (for example files pending).
    ProviderIdle,
    /// The provider is retrying the session after a transient error of its own.
    ProviderRescheduled,
    /// A cancel or a time-out was requested; the session is being interrupted.
    Cancelling,
    /// Session outputs are being copied into object storage.
    CapturingOutputs,
    /// The agent finished its turn and the outputs were captured.
    Succeeded,
    /// The run failed; `error_class` says why.
    Failed,
    /// The run exceeded its maximum duration.
    TimedOut,
    /// The user cancelled the run.
    Cancelled,
    /// The user deleted the run; stored outputs are being removed.
    PendingDelete,
    /// The run's outputs are gone; only its metadata tombstone remains.
    Deleted,
}

impl RunStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [RunStatus; 16] = [
        Self::Queued,
        Self::Claiming,
        Self::Provisioning,
        Self::SessionCreated,
        Self::Dispatched,
        Self::ProviderRunning,
        Self::ProviderIdle,
        Self::ProviderRescheduled,
        Self::Cancelling,
        Self::CapturingOutputs,
        Self::Succeeded,
        Self::Failed,
        Self::TimedOut,
        Self::Cancelled,
        Self::PendingDelete,
        Self::Deleted,
    ];

    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Claiming => "claiming",
            Self::Provisioning => "provisioning",
            Self::SessionCreated => "session_created",
            Self::Dispatched => "dispatched",
            Self::ProviderRunning => "provider_running",
            Self::ProviderIdle => "provider_idle",
            Self::ProviderRescheduled => "provider_rescheduled",
            Self::Cancelling => "cancelling",
            Self::CapturingOutputs => "capturing_outputs",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
            Self::PendingDelete => "pending_delete",
            Self::Deleted => "deleted",
        }
    }

    /// True once the run's work is over and its outcome is known (cleanup and deletion may
    /// still follow, reported beside the status).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded
                | Self::Failed
                | Self::TimedOut
                | Self::Cancelled
                | Self::PendingDelete
                | Self::Deleted
        )
    }

    /// True for the four outcomes a run's work can end in.
    pub fn is_outcome(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::TimedOut | Self::Cancelled
        )
    }

    /// True while the run counts against active-run quotas.
    pub fn is_active(self) -> bool {
        !self.is_terminal()
    }

    /// The statuses this one may move to. Staying in the same status is always allowed and not
    /// listed.
    pub fn allowed_next(self) -> &'static [RunStatus] {
        use RunStatus::*;
        match self {
            Queued => &[Claiming, Provisioning, Cancelled, Failed],
            Claiming => &[Queued, Provisioning, Cancelling, Cancelled, Failed],
            Provisioning => &[
                SessionCreated,
                Cancelling,
                Queued,
                Failed,
                Cancelled,
                TimedOut,
            ],
            SessionCreated => &[Dispatched, Cancelling, Failed, Cancelled, TimedOut],
            Dispatched | ProviderRunning | ProviderIdle => &[
                ProviderRunning,
                ProviderIdle,
                ProviderRescheduled,
                Cancelling,
                CapturingOutputs,
                Failed,
                Cancelled,
                TimedOut,
            ],
            // A session the provider rescheduled, or a new provider attempt: a fresh session
            // is created and dispatched again.
            ProviderRescheduled => &[
                ProviderRunning,
                ProviderIdle,
                SessionCreated,
                Cancelling,
                CapturingOutputs,
                Failed,
                Cancelled,
                TimedOut,
            ],
            Cancelling => &[CapturingOutputs, Cancelled, TimedOut, Failed],
            CapturingOutputs => &[Succeeded, Failed, TimedOut, Cancelled],
            Succeeded | Failed | TimedOut | Cancelled => &[PendingDelete],
            PendingDelete => &[Deleted],
            Deleted => &[],
        }
    }

    /// Whether the move `self → next` is allowed.
    pub fn can_transition_to(self, next: RunStatus) -> bool {
        self == next || self.allowed_next().contains(&next)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for RunStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_spelling_and_serde() {
        for status in RunStatus::ALL {
            assert_eq!(status.as_str().parse::<RunStatus>(), Ok(status));
            let json = serde_json::to_string(&status).expect("serialises");
            assert_eq!(json, format!("\"{status}\""));
        }
        assert!("running".parse::<RunStatus>().is_err());
    }

    #[test]
    fn terminal_statuses_only_lead_to_deletion() {
        for status in RunStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            for next in status.allowed_next() {
                assert!(
                    matches!(next, RunStatus::PendingDelete | RunStatus::Deleted),
                    "{status} -> {next}"
                );
            }
        }
        assert!(RunStatus::Deleted.allowed_next().is_empty());
    }

    #[test]
    fn every_status_is_reachable_from_queued() {
        let mut seen = vec![RunStatus::Queued];
        let mut frontier = vec![RunStatus::Queued];
        while let Some(status) = frontier.pop() {
            for &next in status.allowed_next() {
                if !seen.contains(&next) {
                    seen.push(next);
                    frontier.push(next);
                }
            }
        }
        for status in RunStatus::ALL {
            assert!(seen.contains(&status), "{status} is unreachable");
        }
    }

    #[test]
    fn a_run_cannot_skip_capture_and_cleanup_to_succeed() {
        assert!(!RunStatus::ProviderRunning.can_transition_to(RunStatus::Succeeded));
        assert!(!RunStatus::Queued.can_transition_to(RunStatus::Succeeded));
        assert!(RunStatus::CapturingOutputs.can_transition_to(RunStatus::Succeeded));
        assert!(RunStatus::Succeeded.can_transition_to(RunStatus::Succeeded));
    }
}
