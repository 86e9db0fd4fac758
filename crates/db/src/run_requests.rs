//! What the API asks of a run: cancel and soft delete.
//!
//! The bff only records the request (`cancel_requested_at`, `pending_delete_at`); the
//! `runs_notify_cancel` trigger wakes a worker, which does the actual work.

use antpath_types::{RunId, WorkspaceId};
use sqlx::PgExecutor;

/// Records a cancel request on an active run of the workspace. Returns whether a run matched
/// (an unknown, foreign or already-terminal run does not). Repeating it keeps the first time.
#[tracing::instrument(skip_all, fields(run.id = %id))]
pub async fn request_cancel(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    id: RunId,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "update runs set cancel_requested_at = coalesce(cancel_requested_at, now()),
                         updated_at = now()
         where id = $1 and workspace_id = $2
           and status not in ('succeeded', 'failed', 'timed_out', 'cancelled',
                              'pending_delete', 'deleted')",
        id as RunId,
        workspace_id as WorkspaceId,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records a delete request on a run of the workspace; an active run is also cancel-requested.
/// Returns whether a run matched. Repeating it keeps the first times.
#[tracing::instrument(skip_all, fields(run.id = %id))]
pub async fn request_delete(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    id: RunId,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "update runs set
             pending_delete_at = coalesce(pending_delete_at, now()),
             cancel_requested_at = case
                 when status in ('succeeded', 'failed', 'timed_out', 'cancelled',
                                 'pending_delete', 'deleted')
                 then cancel_requested_at
                 else coalesce(cancel_requested_at, now()) end,
             updated_at = now()
         where id = $1 and workspace_id = $2",
        id as RunId,
        workspace_id as WorkspaceId,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}
