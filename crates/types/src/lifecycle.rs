//! The words of a run's lifecycle besides its status: the worker's next step ([`Phase`]), the
//! cleanup reported beside the outcome ([`CleanupState`]), and the provider resources a run
//! journals ([`ResourceKind`], [`ResourceState`]).

use crate::text_enum;

text_enum! {
    /// The next bounded step the worker takes for a run (`runs.phase`).
    pub enum Phase {
        /// Start an attempt, check platform rules, ensure environment, agent and vault.
        Provision = "provision",
        /// Ensure the attempt's session.
        Session = "session",
        /// Render the prompt and send it once.
        Dispatch = "dispatch",
        /// Poll the session and its events until the work ends.
        Observe = "observe",
        /// Stop a session that is still working after a cancel or time-out.
        Interrupt = "interrupt",
        /// Copy the session's files into object storage.
        Capture = "capture",
        /// Remove or retain provider resources, scan for leaks, destroy the secrets.
        Cleanup = "cleanup",
        /// Nothing left to do: no worker touches the run again.
        Done = "done",
    }
}

impl Phase {
    /// Phases that come after the end of the work was decided.
    pub fn is_ending(self) -> bool {
        matches!(
            self,
            Self::Interrupt | Self::Capture | Self::Cleanup | Self::Done
        )
    }
}

text_enum! {
    /// How the cleanup of a run's provider resources and secrets stands, reported beside its
    /// outcome.
    pub enum CleanupState {
        /// The work is not over; nothing to clean yet.
        Pending = "pending",
        /// The first cleanup round is due or under way.
        Running = "running",
        /// Every provider resource is gone and the secrets are destroyed.
        Succeeded = "succeeded",
        /// The secrets are destroyed; the provider resources were kept on request.
        Retained = "retained",
        /// A round failed; another follows with backoff until the give-up window ends.
        Retrying = "retrying",
        /// Cleanup gave up: the secrets are destroyed and the resources left are listed.
        Abandoned = "abandoned",
    }
}

impl CleanupState {
    /// True once no more cleanup work will happen.
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Succeeded | Self::Retained | Self::Abandoned)
    }
}

text_enum! {
    /// What a provider resource of a run is.
    pub enum ResourceKind {
        /// The container configuration.
        Environment = "environment",
        /// The agent definition.
        Agent = "agent",
        /// The credential store.
        Vault = "vault",
        /// One MCP credential in the vault.
        Credential = "credential",
        /// One session (one per provider attempt).
        Session = "session",
        /// A file uploaded for the run.
        File = "file",
    }
}

text_enum! {
    /// Where a journaled provider resource stands.
    pub enum ResourceState {
        /// Journaled before its create call; the provider id is not known yet.
        Intended = "intended",
        /// Exists on the provider.
        Created = "created",
        /// Deleted on the provider.
        Deleted = "deleted",
        /// Archived on the provider (agents cannot be deleted).
        Archived = "archived",
        /// Kept on the provider on the run's request.
        Retained = "retained",
        /// A cleanup call for it failed; it is retried.
        CleanupFailed = "cleanup_failed",
        /// Its create never happened (no provider resource carries its metadata).
        NeverCreated = "never_created",
        /// Left on the provider when cleanup gave up; listed on the run.
        Abandoned = "abandoned",
    }
}

text_enum! {
    /// Where a cached agent or environment (`provider_cache`) stands.
    pub enum CacheState {
        /// Journaled before its create call; the provider id is not known yet.
        Intended = "intended",
        /// Exists on the provider; runs of its key and configuration use it.
        Live = "live",
        /// Idle past its time with no unfinished run on it: the sweeper is removing it.
        Retiring = "retiring",
        /// Archived on the provider (agents cannot be deleted).
        Archived = "archived",
        /// Deleted on the provider.
        Deleted = "deleted",
        /// Its create never happened (no provider resource carries its metadata).
        NeverCreated = "never_created",
        /// Left on the provider: its key was refused when the sweeper came to remove it.
        Abandoned = "abandoned",
    }
}

impl ResourceState {
    /// States that need no more cleanup work.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            Self::Deleted | Self::Archived | Self::Retained | Self::NeverCreated | Self::Abandoned
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_round_trips_through_its_spelling_and_serde() {
        for phase in Phase::ALL {
            assert_eq!(phase.as_str().parse::<Phase>(), Ok(*phase));
            assert_eq!(
                serde_json::to_string(phase).expect("serialises"),
                format!("\"{phase}\"")
            );
        }
        for state in CleanupState::ALL {
            assert_eq!(state.as_str().parse::<CleanupState>(), Ok(*state));
        }
        for kind in ResourceKind::ALL {
            assert_eq!(kind.as_str().parse::<ResourceKind>(), Ok(*kind));
        }
        for state in ResourceState::ALL {
            assert_eq!(state.as_str().parse::<ResourceState>(), Ok(*state));
        }
        assert!("cleaning".parse::<Phase>().is_err());
    }

    #[test]
    fn only_final_cleanup_states_are_settled() {
        let settled: Vec<_> = CleanupState::ALL
            .iter()
            .filter(|s| s.is_settled())
            .collect();
        assert_eq!(
            settled,
            [
                &CleanupState::Succeeded,
                &CleanupState::Retained,
                &CleanupState::Abandoned
            ]
        );
    }
}
