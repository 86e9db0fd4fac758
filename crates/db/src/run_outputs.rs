//! Tenant-scoped reads of what a run produced: event metadata, captured outputs and capture
//! failures. Each query joins on the run's workspace, so a foreign run yields nothing.

use antpath_types::{EventId, OutputId, RunId, WorkspaceId};
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// One stored event (metadata only).
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// Its id.
    pub id: EventId,
    /// Its position in the database's total order, also the page cursor.
    pub seq: i64,
    /// The provider's event type.
    pub event_type: String,
    /// The attempt number it was observed on.
    pub attempt: i32,
    /// The provider's event id.
    pub provider_event_id: String,
    /// When the provider processed it.
    pub processed_at: Option<DateTime<Utc>>,
    /// When antpath stored it.
    pub received_at: DateTime<Utc>,
    /// Allowlisted metadata.
    pub summary: serde_json::Value,
}

/// A page of a run's events, oldest first, after `after_seq`.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn list_events(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    run_id: RunId,
    after_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRecord>, sqlx::Error> {
    sqlx::query_as!(
        EventRecord,
        r#"select e.id as "id: EventId", e.seq, e.event_type, a.attempt_number as attempt,
                  e.provider_event_id, e.processed_at, e.received_at, e.summary
           from run_events e
           join run_attempts a on a.id = e.attempt_id
           where e.run_id = $1 and e.workspace_id = $2 and e.seq > coalesce($3::int8, 0)
           order by e.seq
           limit $4"#,
        run_id as RunId,
        workspace_id as WorkspaceId,
        after_seq,
        limit,
    )
    .fetch_all(db)
    .await
}

/// The `seq` of the run's newest event, or `None` before its first (read backwards along
/// `run_events_by_run`).
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn last_event_seq(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    run_id: RunId,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select max(seq) as "seq" from run_events where run_id = $1 and workspace_id = $2"#,
        run_id as RunId,
        workspace_id as WorkspaceId,
    )
    .fetch_one(db)
    .await
}

/// One captured output.
#[derive(Debug, Clone)]
pub struct OutputRecord {
    /// Its id.
    pub id: OutputId,
    /// The provider's filename, normalised (control characters dropped).
    pub filename: String,
    /// The provider's filename verbatim, control characters escaped.
    pub display_name: String,
    /// Where it is stored. A capability-adjacent detail: never returned by the API.
    pub storage_key: String,
    /// Its size.
    pub size_bytes: i64,
    /// Hex SHA-256 of its body.
    pub sha256: String,
    /// Its media type.
    pub content_type: Option<String>,
    /// When it was captured.
    pub created_at: DateTime<Utc>,
}

/// Every captured output of a run, oldest first.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn list_outputs(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    run_id: RunId,
) -> Result<Vec<OutputRecord>, sqlx::Error> {
    sqlx::query_as!(
        OutputRecord,
        r#"select id as "id: OutputId", filename, display_name, storage_key, size_bytes, sha256, content_type,
                  created_at
           from output_objects where run_id = $1 and workspace_id = $2
           order by created_at, id"#,
        run_id as RunId,
        workspace_id as WorkspaceId,
    )
    .fetch_all(db)
    .await
}

/// One output of a run of the workspace.
#[tracing::instrument(skip_all, fields(run.id = %run_id, output.id = %output_id))]
pub async fn get_output(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    run_id: RunId,
    output_id: OutputId,
) -> Result<Option<OutputRecord>, sqlx::Error> {
    sqlx::query_as!(
        OutputRecord,
        r#"select id as "id: OutputId", filename, display_name, storage_key, size_bytes, sha256, content_type,
                  created_at
           from output_objects where id = $1 and run_id = $2 and workspace_id = $3"#,
        output_id as OutputId,
        run_id as RunId,
        workspace_id as WorkspaceId,
    )
    .fetch_optional(db)
    .await
}

/// A file that could not be captured.
#[derive(Debug, Clone)]
pub struct CaptureFailureRecord {
    /// The provider's file id.
    pub provider_file_id: String,
    /// The provider's filename, normalised.
    pub filename: String,
    /// The provider's filename verbatim, control characters escaped.
    pub display_name: String,
    /// The size the provider reported.
    pub size_bytes: Option<i64>,
    /// Why (`workspace_quota_exceeded`, …).
    pub reason: String,
    /// A scrubbed explanation.
    pub message: Option<String>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// Every capture failure of a run, oldest first.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn list_capture_failures(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    run_id: RunId,
) -> Result<Vec<CaptureFailureRecord>, sqlx::Error> {
    sqlx::query_as!(
        CaptureFailureRecord,
        r#"select provider_file_id, filename, display_name, size_bytes, reason, message, created_at
           from output_capture_failures where run_id = $1 and workspace_id = $2
           order by created_at, id"#,
        run_id as RunId,
        workspace_id as WorkspaceId,
    )
    .fetch_all(db)
    .await
}

/// How many outputs each of `run_ids` (runs of the workspace) has; runs without outputs are
/// left out.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id, runs = run_ids.len()))]
pub async fn count_outputs(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    run_ids: &[RunId],
) -> Result<Vec<(RunId, i64)>, sqlx::Error> {
    let ids: Vec<uuid::Uuid> = run_ids.iter().map(RunId::as_uuid).collect();
    let rows = sqlx::query!(
        r#"select run_id as "run_id: RunId", count(*) as "count!"
           from output_objects
           where workspace_id = $1 and run_id = any($2)
           group by run_id"#,
        workspace_id as WorkspaceId,
        &ids,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.run_id, r.count)).collect())
}
