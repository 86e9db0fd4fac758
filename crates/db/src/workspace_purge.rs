//! The sweeper's side of a workspace deletion ([`crate::workspace_deletion`]): draining, purging
//! in bounded batches, and completing.
//!
//! - [`start_draining`]: `requested` → `draining`.
//! - [`drain`]: cancel-requests any run a cancel still affects, and once every run of the
//!   workspace is `phase = 'done'` moves on to `purging`.
//! - between the two the caller deletes the workspace's stored objects (one prefix deletion,
//!   outside any transaction);
//! - [`purge_batch`]: removes a batch of runs with everything that cascades from them (events,
//!   outputs, attempts, the resources journal, cleanup attempts, usage rows) and their secrets.
//! - [`complete`]: once no run is left, revokes the tokens, removes the memberships, and marks
//!   the workspace and its deletion `deleted`. The workspace row stays as a tombstone so the
//!   audit rows (which are kept) and their foreign keys still hold.

use antpath_types::{RunId, WorkspaceId};
use sqlx::{PgConnection, PgExecutor};

use crate::audit::{self, AuditEntry};
use crate::workspace_deletion::{DeletionState, cancel_active_runs};

/// A deletion still under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unfinished {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Where its deletion is.
    pub state: DeletionState,
}

/// Up to `limit` unfinished deletions, oldest first.
#[tracing::instrument(skip_all)]
pub async fn unfinished(
    db: impl PgExecutor<'_>,
    limit: i64,
) -> Result<Vec<Unfinished>, sqlx::Error> {
    sqlx::query_as!(
        Unfinished,
        r#"select workspace_id as "workspace_id: WorkspaceId", state as "state: DeletionState"
           from workspace_deletions where state <> 'deleted'
           order by requested_at, workspace_id limit $1"#,
        limit,
    )
    .fetch_all(db)
    .await
}

/// Moves a `requested` deletion to `draining`. Returns whether it moved.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn start_draining(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update workspace_deletions set state = 'draining', draining_at = now(), updated_at = now()
         where workspace_id = $1 and state = 'requested'",
        workspace_id as WorkspaceId,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What one drain step saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drain {
    /// Runs newly cancel-requested (ones that slipped past the request, if any).
    pub runs_cancelled: u64,
    /// Runs not yet `phase = 'done'`.
    pub runs_unfinished: i64,
    /// Whether the deletion moved on to `purging` (no run was left unfinished).
    pub purging: bool,
}

/// One drain step of a `draining` deletion, in the caller's transaction.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn drain(tx: &mut PgConnection, workspace_id: WorkspaceId) -> Result<Drain, sqlx::Error> {
    let runs_cancelled = cancel_active_runs(&mut *tx, workspace_id).await?;
    let runs_unfinished = sqlx::query_scalar!(
        r#"select count(*) as "n!" from runs where workspace_id = $1 and phase <> 'done'"#,
        workspace_id as WorkspaceId,
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut purging = false;
    if runs_unfinished == 0 {
        let moved = sqlx::query!(
            "update workspace_deletions set state = 'purging', purging_at = now(),
                 updated_at = now()
             where workspace_id = $1 and state = 'draining'",
            workspace_id as WorkspaceId,
        )
        .execute(&mut *tx)
        .await?;
        purging = moved.rows_affected() == 1;
    }
    Ok(Drain {
        runs_cancelled,
        runs_unfinished,
        purging,
    })
}

/// What one purge batch removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgedBatch {
    /// Run rows removed.
    pub runs: u64,
    /// Output rows removed.
    pub objects: u64,
    /// Their bytes, taken off the workspace's counter.
    pub bytes: i64,
}

/// Removes up to `limit` finished runs of a `purging` workspace, in the caller's transaction:
/// their output rows first (their bytes come off the counter), then the runs (the rest
/// cascades), then their sealed secrets, which are not tied to the run by a foreign key.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn purge_batch(
    tx: &mut PgConnection,
    workspace_id: WorkspaceId,
    limit: i64,
) -> Result<PurgedBatch, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        r#"select r.id as "id: RunId" from runs r
           join workspace_deletions d on d.workspace_id = r.workspace_id and d.state = 'purging'
           where r.workspace_id = $1 and r.phase = 'done'
           limit $2 for update of r skip locked"#,
        workspace_id as WorkspaceId,
        limit,
    )
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        return Ok(PurgedBatch::default());
    }
    let uuids: Vec<uuid::Uuid> = ids.iter().map(RunId::as_uuid).collect();
    let outputs = sqlx::query!(
        r#"with gone as (delete from output_objects where run_id = any($1) returning size_bytes)
           select count(*) as "objects!", coalesce(sum(size_bytes), 0)::bigint as "bytes!"
           from gone"#,
        &uuids,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "update workspaces set storage_used_bytes = greatest(0, storage_used_bytes - $2),
             updated_at = now()
         where id = $1",
        workspace_id as WorkspaceId,
        outputs.bytes,
    )
    .execute(&mut *tx)
    .await?;
    let runs = sqlx::query!("delete from runs where id = any($1)", &uuids)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query!("delete from run_secrets where run_id = any($1)", &uuids)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "update workspace_deletions set runs_purged = runs_purged + $2,
             bytes_purged = bytes_purged + $3, updated_at = now()
         where workspace_id = $1",
        workspace_id as WorkspaceId,
        i64::try_from(runs).unwrap_or(i64::MAX),
        outputs.bytes,
    )
    .execute(&mut *tx)
    .await?;
    Ok(PurgedBatch {
        runs,
        objects: u64::try_from(outputs.objects).unwrap_or(0),
        bytes: outputs.bytes,
    })
}

/// What completing a deletion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    /// Tokens revoked now (ones revoked earlier keep their time).
    pub tokens_revoked: u64,
    /// Runs the purge removed in all.
    pub runs_purged: i64,
    /// Bytes the purge removed in all.
    pub bytes_purged: i64,
}

/// Completes a `purging` deletion whose runs are all gone, in the caller's transaction, and
/// audits it. `None` while runs remain (or when the deletion is not purging).
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn complete(
    tx: &mut PgConnection,
    workspace_id: WorkspaceId,
) -> Result<Option<Completed>, sqlx::Error> {
    let totals = sqlx::query!(
        "select runs_purged, bytes_purged from workspace_deletions
         where workspace_id = $1 and state = 'purging' for update",
        workspace_id as WorkspaceId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(totals) = totals else {
        return Ok(None);
    };
    let runs_left = sqlx::query_scalar!(
        r#"select exists (select 1 from runs where workspace_id = $1) as "left!""#,
        workspace_id as WorkspaceId,
    )
    .fetch_one(&mut *tx)
    .await?;
    if runs_left {
        return Ok(None);
    }
    let tokens_revoked = sqlx::query!(
        "update api_tokens set revoked_at = now()
         where workspace_id = $1 and revoked_at is null",
        workspace_id as WorkspaceId,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!(
        "update workspace_memberships set status = 'removed'
         where workspace_id = $1 and status <> 'removed'",
        workspace_id as WorkspaceId,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update workspaces set status = 'deleted', deleted_at = now(), storage_used_bytes = 0,
             updated_at = now()
         where id = $1",
        workspace_id as WorkspaceId,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update workspace_deletions set state = 'deleted', completed_at = now(), updated_at = now()
         where workspace_id = $1",
        workspace_id as WorkspaceId,
    )
    .execute(&mut *tx)
    .await?;
    let completed = Completed {
        tokens_revoked,
        runs_purged: totals.runs_purged,
        bytes_purged: totals.bytes_purged,
    };
    audit::record(
        &mut *tx,
        &AuditEntry {
            workspace_id,
            actor_user: None,
            actor_token: None,
            action: "workspace.delete_completed",
            target_type: "workspace",
            target_id: workspace_id.to_string(),
            request_id: None,
            metadata: serde_json::json!({
                "runs_purged": completed.runs_purged,
                "bytes_purged": completed.bytes_purged,
                "tokens_revoked": completed.tokens_revoked,
            }),
        },
    )
    .await?;
    Ok(Some(completed))
}
