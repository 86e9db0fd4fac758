//! Tenant-scoped reads of how a run went, for the dashboard's run page: its lifecycle history
//! (`run_phase_history`, appended by a trigger), its provider attempts, and its provider
//! resources with their cleanup tries. Each query names the workspace, so a foreign run yields
//! nothing.

use antpath_types::{
    CleanupState, Phase, ResourceKind, ResourceState, RunId, RunStatus, WorkspaceId,
};
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// One step of a run's lifecycle: where it was from `entered_at` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseStep {
    /// The worker's next step then.
    pub phase: Phase,
    /// The status then.
    pub status: RunStatus,
    /// The cleanup state then.
    pub cleanup_state: CleanupState,
    /// When the run got there.
    pub entered_at: DateTime<Utc>,
}

/// The lifecycle history of a run of the workspace, oldest first.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn phase_history(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    run_id: RunId,
) -> Result<Vec<PhaseStep>, sqlx::Error> {
    sqlx::query_as!(
        PhaseStep,
        r#"select h.phase as "phase: Phase", h.status as "status: RunStatus",
                  h.cleanup_state as "cleanup_state: CleanupState", h.entered_at
           from run_phase_history h
           join runs r on r.id = h.run_id
           where h.run_id = $1 and r.workspace_id = $2
           order by h.id"#,
        run_id as RunId,
        workspace_id as WorkspaceId,
    )
    .fetch_all(db)
    .await
}

/// One provider attempt of a run.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// 1-based.
    pub attempt_number: i32,
    /// `started`, `succeeded`, `failed`, `rescheduled` or `abandoned`.
    pub state: String,
    /// Why it failed, if it did.
    pub error_class: Option<String>,
    /// The scrubbed failure message.
    pub error_message: Option<String>,
    /// Whether its session used a tool.
    pub used_tools: bool,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
}

/// Every provider attempt of a run of the workspace, in order.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn attempts(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    run_id: RunId,
) -> Result<Vec<AttemptRecord>, sqlx::Error> {
    sqlx::query_as!(
        AttemptRecord,
        r#"select a.attempt_number, a.state, a.error_class, a.error_message, a.used_tools,
                  a.started_at, a.ended_at
           from run_attempts a
           join runs r on r.id = a.run_id
           where a.run_id = $1 and r.workspace_id = $2
           order by a.attempt_number"#,
        run_id as RunId,
        workspace_id as WorkspaceId,
    )
    .fetch_all(db)
    .await
}

/// A provider resource of a run as the run page shows it (never its provider metadata).
#[derive(Debug, Clone)]
pub struct ResourceStanding {
    /// What it is.
    pub kind: ResourceKind,
    /// Which resource of the run (`environment`, `credential:docs`, …).
    pub logical_key: String,
    /// The attempt that created it.
    pub attempt_number: i32,
    /// The provider's id, once known.
    pub provider_id: Option<String>,
    /// Where it stands.
    pub state: ResourceState,
    /// Whether the leak scan found it rather than the journal.
    pub found_by_scan: bool,
    /// Cleanup calls for it that failed.
    pub failed_cleanup_tries: i64,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Every provider resource of a run of the workspace, oldest first, with its failed cleanup
/// tries counted from `cleanup_attempts`.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn resources(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    run_id: RunId,
) -> Result<Vec<ResourceStanding>, sqlx::Error> {
    sqlx::query_as!(
        ResourceStanding,
        r#"select p.kind as "kind: ResourceKind", p.logical_key, p.attempt_number,
                  p.provider_id, p.state as "state: ResourceState", p.found_by_scan,
                  (select count(*) from cleanup_attempts c
                   where c.resource_id = p.id and c.status = 'failed') as "failed_cleanup_tries!",
                  p.updated_at
           from provider_resources p
           where p.run_id = $1 and p.workspace_id = $2
           order by p.created_at, p.id"#,
        run_id as RunId,
        workspace_id as WorkspaceId,
    )
    .fetch_all(db)
    .await
}
