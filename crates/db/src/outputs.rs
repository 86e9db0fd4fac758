//! Captured outputs (`output_objects`), capture failures, and the workspace storage counter
//! they move.
//!
//! An output row, its storage increment and its ledger row are written in one transaction; the
//! increment is conditional on the cap, so two runs of a workspace capturing at once can never
//! push it past its quota. `(run_id, provider_file_id)` is unique in both tables, so a retried
//! capture never stores or counts a file twice.

use antpath_types::{OutputId, RunId, UserId, WorkspaceId};
use sqlx::{PgConnection, PgExecutor};

use crate::storable;

/// The provider file ids of a run already captured or recorded as failed.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn settled_files(
    db: impl PgExecutor<'_>,
    run_id: RunId,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select provider_file_id as "id!" from output_objects where run_id = $1
           union select provider_file_id from output_capture_failures where run_id = $1"#,
        run_id as RunId,
    )
    .fetch_all(db)
    .await
}

/// The provider file ids of a run's stored outputs (failures not included).
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn stored_file_ids(
    db: impl PgExecutor<'_>,
    run_id: RunId,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select provider_file_id from output_objects where run_id = $1",
        run_id as RunId,
    )
    .fetch_all(db)
    .await
}

/// A workspace's storage use and cap, in bytes.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn storage(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        "select storage_used_bytes, storage_cap_bytes from workspaces where id = $1",
        workspace_id as WorkspaceId,
    )
    .fetch_one(db)
    .await?;
    Ok((row.storage_used_bytes, row.storage_cap_bytes))
}

/// A stored output, ready to be recorded.
#[derive(Debug, Clone)]
pub struct NewOutput<'a> {
    /// Its id (part of the storage key).
    pub id: OutputId,
    /// The run.
    pub run_id: RunId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The user the run is attributed to.
    pub user_id: UserId,
    /// The provider's file id.
    pub provider_file_id: &'a str,
    /// The provider's filename, verbatim (normalised and escaped here on the way in).
    pub filename: &'a str,
    /// The storage key.
    pub storage_key: &'a str,
    /// Bytes stored.
    pub size_bytes: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: &'a str,
    /// The media type.
    pub content_type: Option<&'a str>,
}

/// What [`record_output`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored, counted and ledgered.
    Stored,
    /// The file was already recorded for this run; nothing changed.
    Duplicate,
    /// Counting it would pass the workspace cap; nothing changed.
    OverQuota,
}

/// Records a stored output: the row, the storage increment (only within the cap) and the ledger
/// row, in the caller's transaction. On anything but [`Recorded::Stored`] the caller should roll
/// back and remove the object.
#[tracing::instrument(skip_all, fields(run.id = %output.run_id))]
pub async fn record_output(
    tx: &mut PgConnection,
    output: &NewOutput<'_>,
) -> Result<Recorded, sqlx::Error> {
    let provider_file_id = storable::text(output.provider_file_id);
    let inserted = sqlx::query!(
        "insert into output_objects
            (id, run_id, workspace_id, provider_file_id, filename, display_name, storage_key,
             size_bytes, sha256, content_type)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict (run_id, provider_file_id) do nothing",
        output.id as OutputId,
        output.run_id as RunId,
        output.workspace_id as WorkspaceId,
        provider_file_id.as_ref(),
        storable::normalised_name(output.filename),
        storable::display_name(output.filename),
        output.storage_key,
        output.size_bytes,
        output.sha256,
        output.content_type,
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(Recorded::Duplicate);
    }
    let counted = sqlx::query!(
        "update workspaces set storage_used_bytes = storage_used_bytes + $2, updated_at = now()
         where id = $1 and storage_used_bytes + $2 <= storage_cap_bytes",
        output.workspace_id as WorkspaceId,
        output.size_bytes,
    )
    .execute(&mut *tx)
    .await?;
    if counted.rows_affected() == 0 {
        return Ok(Recorded::OverQuota);
    }
    sqlx::query!(
        "insert into usage_ledger
            (workspace_id, run_id, app_user_id, source_kind, source_id, storage_bytes)
         values ($1, $2, $3, 'output', $4, $5)
         on conflict (source_kind, source_id) do nothing",
        output.workspace_id as WorkspaceId,
        output.run_id as RunId,
        output.user_id as UserId,
        output.id.as_uuid(),
        output.size_bytes,
    )
    .execute(&mut *tx)
    .await?;
    Ok(Recorded::Stored)
}

/// A file that could not be captured.
#[derive(Debug, Clone)]
pub struct CaptureFailure<'a> {
    /// The run.
    pub run_id: RunId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The provider's file id.
    pub provider_file_id: &'a str,
    /// The provider's filename, verbatim (normalised and escaped here on the way in).
    pub filename: &'a str,
    /// The size the provider listed.
    pub size_bytes: Option<i64>,
    /// `workspace_quota_exceeded`, `download_failed`, `upload_failed`, `size_cap_exceeded`,
    /// `size_mismatch`, `capture_abandoned`, or `not_downloadable` (a skip: the provider will
    /// not serve the file).
    pub reason: &'a str,
    /// Scrubbed detail.
    pub message: Option<&'a str>,
}

/// Records a capture failure once per file.
#[tracing::instrument(skip_all, fields(run.id = %failure.run_id, reason = failure.reason))]
pub async fn record_failure(
    db: impl PgExecutor<'_>,
    failure: &CaptureFailure<'_>,
) -> Result<(), sqlx::Error> {
    let provider_file_id = storable::text(failure.provider_file_id);
    let message = failure.message.map(crate::lifecycle::bounded_message);
    sqlx::query!(
        "insert into output_capture_failures
            (id, run_id, workspace_id, provider_file_id, filename, display_name, size_bytes,
             reason, message)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (run_id, provider_file_id) do nothing",
        uuid::Uuid::now_v7(),
        failure.run_id as RunId,
        failure.workspace_id as WorkspaceId,
        provider_file_id.as_ref(),
        storable::normalised_name(failure.filename),
        storable::display_name(failure.filename),
        failure.size_bytes,
        failure.reason,
        message.as_deref(),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes a run's output rows and gives their bytes back to the workspace, in the caller's
/// transaction. Returns the bytes released.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn release_run_outputs(tx: &mut PgConnection, run_id: RunId) -> Result<i64, sqlx::Error> {
    let released = sqlx::query!(
        r#"with gone as (delete from output_objects where run_id = $1
                         returning workspace_id, size_bytes)
           select workspace_id as "workspace_id: WorkspaceId",
                  sum(size_bytes)::bigint as "bytes!"
           from gone group by workspace_id"#,
        run_id as RunId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(released) = released else {
        return Ok(0);
    };
    sqlx::query!(
        "update workspaces set storage_used_bytes = greatest(0, storage_used_bytes - $2),
             updated_at = now()
         where id = $1",
        released.workspace_id as WorkspaceId,
        released.bytes,
    )
    .execute(&mut *tx)
    .await?;
    Ok(released.bytes)
}
