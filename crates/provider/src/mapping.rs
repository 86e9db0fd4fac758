//! From provider session states, stop reasons and session errors to antpath's [`RunStatus`] and
//! [`ErrorClass`]. The table is repeated in `docs/provider.md`.

use antpath_types::{ErrorClass, RunStatus};

use crate::types::event::{EventKind, RetryStatus, SessionErrorObject, SessionEvent, StopReason};
use crate::types::session::SessionStatus;

/// The run status that mirrors a provider session status while the run executes; `None` for
/// `terminated` (the run leaves execution; see [`TurnOutcome`]) and unknown statuses (keep
/// the current one).
pub fn run_status_for(status: &SessionStatus) -> Option<RunStatus> {
    match status {
        SessionStatus::Idle => Some(RunStatus::ProviderIdle),
        SessionStatus::Running => Some(RunStatus::ProviderRunning),
        SessionStatus::Rescheduling => Some(RunStatus::ProviderRescheduled),
        SessionStatus::Terminated | SessionStatus::Other(_) => None,
    }
}

/// How the prompt's turn ended, read from the event history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnOutcome {
    /// No end-of-turn signal yet.
    InProgress,
    /// `end_turn`: capture outputs, then succeed.
    Succeeded,
    /// `requires_action`: a tool waits for an approval or a custom result. A headless run
    /// cannot give one, so the worker fails it as the tenant's (their template asked for an
    /// approval-required tool) unless it answers the ids itself.
    RequiresAction(Vec<String>),
    /// `budget_reached`: the session's list cost reached its budget (the run's
    /// `maxSpendUsd`). The provider pauses the session rather than ending it; a run fails it
    /// as the tenant's, since only a larger limit would let it go on.
    BudgetReached,
    /// The turn or the session failed.
    Failed {
        /// The class of the failure.
        class: ErrorClass,
        /// The stop reason, error type or status that said so.
        reason: String,
    },
}

impl TurnOutcome {
    /// The error class of a failed outcome; `None` while in progress or on success.
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            Self::InProgress | Self::Succeeded => None,
            Self::RequiresAction(_) | Self::BudgetReached => Some(ErrorClass::TenantPermanent),
            Self::Failed { class, .. } => Some(*class),
        }
    }
}

/// The class of a `session.error`, by its `type`.
pub fn class_of_session_error(error: &SessionErrorObject) -> ErrorClass {
    match error.error_type.as_str() {
        "model_overloaded_error"
        | "model_rate_limited_error"
        | "model_request_failed_error"
        | "unknown_error" => ErrorClass::TransientProvider,
        "mcp_connection_failed_error"
        | "mcp_authentication_failed_error"
        | "credential_host_unreachable_error"
        | "billing_error"
        | "tool_use_limit_reached_error"
        | "compaction_limit_reached_error" => ErrorClass::TenantPermanent,
        t if t.starts_with("repository_") => ErrorClass::TenantPermanent,
        _ => ErrorClass::ProviderPermanent,
    }
}

/// The outcome of an idle stop reason. `last_error` is the latest non-retrying
/// `session.error`, which explains `retries_exhausted`.
pub fn outcome_of_stop(stop: &StopReason, last_error: Option<&SessionErrorObject>) -> TurnOutcome {
    let failed = |class, reason: &str| TurnOutcome::Failed {
        class,
        reason: reason.to_owned(),
    };
    match stop {
        StopReason::EndTurn(_) => TurnOutcome::Succeeded,
        StopReason::RequiresAction(action) => TurnOutcome::RequiresAction(action.event_ids.clone()),
        StopReason::RetriesExhausted(_) => match last_error {
            Some(error) => failed(class_of_session_error(error), &error.error_type),
            None => failed(ErrorClass::TransientProvider, "retries_exhausted"),
        },
        StopReason::BudgetReached(_) => TurnOutcome::BudgetReached,
        StopReason::Refusal(_) => failed(ErrorClass::TenantPermanent, "refusal"),
        StopReason::Other(_) => failed(ErrorClass::ProviderPermanent, stop.type_name()),
    }
}

/// Reads the outcome of the latest turn from events in history order.
pub fn turn_outcome(events: &[SessionEvent]) -> TurnOutcome {
    let mut outcome = TurnOutcome::InProgress;
    let mut last_error: Option<&SessionErrorObject> = None;
    for event in events {
        match &event.kind {
            EventKind::StatusRunning(_) => outcome = TurnOutcome::InProgress,
            EventKind::SessionError(e)
                if !matches!(e.error.retry_status, RetryStatus::Retrying(_)) =>
            {
                last_error = Some(&e.error);
            }
            EventKind::StatusIdle(idle) => outcome = outcome_of_stop(&idle.stop_reason, last_error),
            EventKind::StatusTerminated(_) | EventKind::SessionDeleted(_) => {
                outcome = TurnOutcome::Failed {
                    class: last_error.map_or(ErrorClass::ProviderPermanent, class_of_session_error),
                    reason: last_error
                        .map_or_else(|| event.event_type().to_owned(), |e| e.error_type.clone()),
                };
            }
            _ => {}
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn events(values: serde_json::Value) -> Vec<SessionEvent> {
        serde_json::from_value(values).expect("events")
    }

    #[test]
    fn statuses_map_to_run_statuses() {
        assert_eq!(
            run_status_for(&SessionStatus::Idle),
            Some(RunStatus::ProviderIdle)
        );
        assert_eq!(
            run_status_for(&SessionStatus::Running),
            Some(RunStatus::ProviderRunning)
        );
        assert_eq!(
            run_status_for(&SessionStatus::Rescheduling),
            Some(RunStatus::ProviderRescheduled)
        );
        assert_eq!(run_status_for(&SessionStatus::Terminated), None);
        assert_eq!(run_status_for(&SessionStatus::from("hibernating")), None);
    }

    #[test]
    fn an_end_turn_after_running_is_success() {
        let history = events(json!([
            {"id": "e1", "type": "session.status_running"},
            {"id": "e2", "type": "session.status_idle", "stop_reason": {"type": "end_turn"}},
        ]));
        assert_eq!(turn_outcome(&history), TurnOutcome::Succeeded);
    }

    #[test]
    fn exhausted_retries_take_the_class_of_the_error_behind_them() {
        let history = events(json!([
            {"id": "e1", "type": "session.error", "error": {"type": "mcp_authentication_failed_error", "message": "401", "retry_status": {"type": "exhausted"}, "mcp_server_name": "crm"}},
            {"id": "e2", "type": "session.status_idle", "stop_reason": {"type": "retries_exhausted"}},
        ]));
        assert_eq!(
            turn_outcome(&history),
            TurnOutcome::Failed {
                class: ErrorClass::TenantPermanent,
                reason: "mcp_authentication_failed_error".into()
            }
        );
    }

    #[test]
    fn a_budget_stop_is_its_own_outcome_and_the_tenants() {
        let history = events(json!([
            {"id": "e1", "type": "session.status_running"},
            {"id": "e2", "type": "session.status_idle", "stop_reason": {"type": "budget_reached"}},
        ]));
        assert_eq!(turn_outcome(&history), TurnOutcome::BudgetReached);
        assert_eq!(
            TurnOutcome::BudgetReached.class(),
            Some(ErrorClass::TenantPermanent)
        );
    }

    #[test]
    fn a_terminated_session_fails_and_an_approval_wait_is_reported() {
        let history = events(json!([
            {"id": "e1", "type": "session.error", "error": {"type": "model_request_failed_error", "message": "x", "retry_status": {"type": "terminal"}}},
            {"id": "e2", "type": "session.status_terminated"},
        ]));
        assert!(matches!(
            turn_outcome(&history),
            TurnOutcome::Failed {
                class: ErrorClass::TransientProvider,
                ..
            }
        ));
        let history = events(json!([
            {"id": "e3", "type": "session.status_idle", "stop_reason": {"type": "requires_action", "event_ids": ["sevt_1"]}},
        ]));
        assert_eq!(
            turn_outcome(&history),
            TurnOutcome::RequiresAction(vec!["sevt_1".into()])
        );
    }
}
