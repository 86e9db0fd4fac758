//! Purging runs the user deleted: claiming them for one sweeper, then, once their objects are
//! gone, removing their output rows, giving the bytes back and leaving a `deleted` tombstone.
//!
//! A run is purgeable once it is deleted (`pending_delete_at`) and finished (`phase = 'done'`:
//! no worker will touch it again), whatever became of its cleanup. A cleanup that was abandoned
//! does not keep a deleted run's outputs alive; its secrets, if still held, go with the purge.

use antpath_types::{RunId, WorkspaceId};
use sqlx::{PgConnection, PgExecutor};

/// A deleted run a sweeper has claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeCandidate {
    /// The run.
    pub run_id: RunId,
    /// Its workspace.
    pub workspace_id: WorkspaceId,
}

/// Claims up to `limit` purgeable runs: moves them to `pending_delete` and stamps `updated_at`,
/// so another sweeper leaves them alone for `reclaim_after_seconds` (after that a claim whose
/// sweeper died is taken again; purging twice is harmless, see [`finish_purge`]).
#[tracing::instrument(skip_all)]
pub async fn claim_purge_candidates(
    db: impl PgExecutor<'_>,
    limit: i64,
    reclaim_after_seconds: f64,
) -> Result<Vec<PurgeCandidate>, sqlx::Error> {
    sqlx::query_as!(
        PurgeCandidate,
        r#"update runs set status = 'pending_delete', updated_at = now()
           where id in (select id from runs
                        where pending_delete_at is not null and deleted_at is null
                          and phase = 'done' and lease_token is null
                          and (status <> 'pending_delete'
                               or updated_at <= now() - make_interval(secs => $2))
                        limit $1 for update skip locked)
           returning id as "run_id: RunId", workspace_id as "workspace_id: WorkspaceId""#,
        limit,
        reclaim_after_seconds,
    )
    .fetch_all(db)
    .await
}

/// What [`finish_purge`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Bytes given back to the workspace.
    pub bytes: i64,
    /// Whether the run still held its sealed secrets (an abandoned cleanup), now destroyed.
    pub secrets_destroyed: bool,
}

/// Finishes the purge of a claimed run whose objects are already deleted, in the caller's
/// transaction: locks the run, deletes its output rows and gives their bytes back, destroys its
/// secrets if it still has them, and marks it `deleted`. `None` when the run is already purged
/// (another sweeper got there first) or gone, so each purge is counted once.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn finish_purge(
    tx: &mut PgConnection,
    run_id: RunId,
) -> Result<Option<Purged>, sqlx::Error> {
    let locked = sqlx::query_scalar!(
        r#"select id as "id: RunId" from runs where id = $1 and deleted_at is null for update"#,
        run_id as RunId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if locked.is_none() {
        return Ok(None);
    }
    let bytes = crate::outputs::release_run_outputs(&mut *tx, run_id).await?;
    let destroyed = sqlx::query_scalar!(
        r#"delete from run_secrets where run_id = $1 returning id as "id!""#,
        run_id as RunId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if destroyed.is_some() {
        crate::cleanup::record_attempt(
            &mut *tx,
            &crate::cleanup::Attempt {
                run_id,
                resource_id: None,
                action: "destroy_secrets",
                status: "succeeded",
                attempt_number: 1,
                error_class: None,
                error_message: Some("run purged; secrets destroyed"),
            },
        )
        .await?;
    }
    sqlx::query!(
        "update runs set status = 'deleted', deleted_at = now(), updated_at = now()
         where id = $1",
        run_id as RunId,
    )
    .execute(&mut *tx)
    .await?;
    Ok(Some(Purged {
        bytes,
        secrets_destroyed: destroyed.is_some(),
    }))
}
