//! The run model as the suite reads it: the one place that knows which columns say a run's
//! outcome, its phase and its cleanup. When the model changes, this file changes.
//!
//! `status` is the run's outcome once its work is over (`succeeded`, `failed`, `timed_out`,
//! `cancelled`; `pending_delete` and `deleted` after a user's delete); `cleanup_state`
//! (`pending|running|succeeded|retained|retrying|abandoned`) and `cleanup_rounds` report the
//! cleanup beside it; `phase = 'done'` means no worker will touch the run again.

use sqlx::{PgPool, Row as _};

/// Every run, in the shape of [`RunRow`].
pub const RUNS_SQL: &str = "select 'run_' || replace(r.id::text, '-', '') as id,
        'ws_' || replace(r.workspace_id::text, '-', '') as workspace,
        r.status::text as status, r.phase::text as phase,
        r.cleanup_state::text as cleanup, r.cleanup_rounds, r.cleanup_policy::text as cleanup_policy,
        r.error_class::text as error_class, r.pending_delete_at is not null as delete_requested,
        exists (select 1 from run_secrets s where s.run_id = r.id) as has_secrets,
        extract(epoch from coalesce(r.ended_at, now()) - r.created_at)::float8 as seconds
    from runs r order by r.created_at";

/// Cleanup states after which nothing is left to do (secrets gone, provider settled).
pub const CLEANUP_OVER: [&str; 3] = ["succeeded", "retained", "abandoned"];

/// The cleanup state of a run whose cleanup gave up and left resources behind.
pub const CLEANUP_ABANDONED: &str = "abandoned";

/// The phase of a run no worker touches again.
pub const PHASE_DONE: &str = "done";

/// API statuses of a run that is working on the provider: a cancel now is "mid-run".
pub const RUNNING_STATUSES: [&str; 4] = [
    "dispatched",
    "provider_running",
    "provider_idle",
    "provider_rescheduled",
];

/// API statuses of a run whose work has ended (its outcome is decided), cleanup or not.
pub const ENDED_STATUSES: [&str; 6] = [
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
    "pending_delete",
    "deleted",
];

/// The outcome of a run, as the suite compares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// `succeeded`.
    Succeeded,
    /// `failed`.
    Failed,
    /// `cancelled`.
    Cancelled,
    /// `timed_out`.
    TimedOut,
    /// Deleted by the user and purged (`deleted`).
    Deleted,
    /// Anything else: not (yet) an outcome.
    Other(String),
}

impl Outcome {
    fn parse(text: &str) -> Self {
        match text {
            "succeeded" => Outcome::Succeeded,
            "failed" => Outcome::Failed,
            "cancelled" => Outcome::Cancelled,
            "timed_out" => Outcome::TimedOut,
            "deleted" => Outcome::Deleted,
            other => Outcome::Other(other.to_owned()),
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::TimedOut => "timed_out",
            Outcome::Deleted => "deleted",
            Outcome::Other(other) => other,
        })
    }
}

/// One run as the database holds it.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// The wire id (`run_…`), as the API and the provider metadata show it.
    pub id: String,
    /// The workspace's wire id.
    pub workspace: String,
    /// `runs.status`.
    pub status: String,
    /// `runs.phase`.
    pub phase: String,
    /// `runs.cleanup_state`.
    pub cleanup: String,
    /// `runs.cleanup_rounds`.
    pub cleanup_rounds: i32,
    /// `delete` or `retain`.
    pub cleanup_policy: String,
    /// The recorded error class.
    pub error_class: Option<String>,
    /// Whether the user asked for a delete.
    pub delete_requested: bool,
    /// Whether a `run_secrets` row still exists for it.
    pub has_secrets: bool,
    /// Seconds from submission to the end (to now while it has not ended).
    pub seconds: f64,
}

impl RunRow {
    /// What the run ended with (`Other` while it works, and while a delete is pending).
    pub fn outcome(&self) -> Outcome {
        Outcome::parse(&self.status)
    }

    /// Its outcome is decided (the work ended), whatever its cleanup is doing.
    pub fn ended(&self) -> bool {
        ENDED_STATUSES.contains(&self.status.as_str())
    }

    /// No worker will touch it again.
    pub fn is_done(&self) -> bool {
        self.phase == PHASE_DONE
    }

    /// Its cleanup is over (secrets destroyed, provider resources removed or retained).
    pub fn cleanup_over(&self) -> bool {
        CLEANUP_OVER.contains(&self.cleanup.as_str())
    }

    /// Nothing is left to happen to it: done, cleaned up, and purged if deleted.
    pub fn settled(&self) -> bool {
        self.is_done()
            && self.cleanup_over()
            && (!self.delete_requested || self.status == "deleted")
    }
}

/// Every run of the database.
pub async fn runs(pool: &PgPool) -> anyhow::Result<Vec<RunRow>> {
    let rows = sqlx::query(RUNS_SQL).fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok(RunRow {
                id: row.try_get("id")?,
                workspace: row.try_get("workspace")?,
                status: row.try_get("status")?,
                phase: row.try_get("phase")?,
                cleanup: row.try_get("cleanup")?,
                cleanup_rounds: row.try_get("cleanup_rounds")?,
                cleanup_policy: row.try_get("cleanup_policy")?,
                error_class: row.try_get("error_class")?,
                delete_requested: row.try_get("delete_requested")?,
                has_secrets: row.try_get("has_secrets")?,
                seconds: row.try_get("seconds")?,
            })
        })
        .collect()
}
