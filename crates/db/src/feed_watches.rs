//! The runs a bff replica streams (`run_watches`): the run feed's triggers notify about a run
//! only while some replica watches it (`migrations/…_run_feed_watches.sql` says why no change
//! can slip between a watch and the first read after it).

use std::time::Duration;

use antpath_types::{RunId, WorkspaceId};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// How often a replica renews the watches of its open streams.
pub const RENEW_EVERY: Duration = Duration::from_secs(60);

/// A watch not renewed for this long belongs to a replica that is gone; the sweeper deletes it.
pub const STALE_AFTER: Duration = Duration::from_secs(600);

/// The watch of one topic: which run, and who streams it.
#[derive(Debug, Clone, Copy)]
pub struct Watch {
    /// The run's workspace.
    pub workspace: WorkspaceId,
    /// The run.
    pub run: RunId,
    /// The topic's own id.
    pub topic: Uuid,
    /// The replica's id.
    pub replica: Uuid,
}

/// Stores (or renews) `watch`, then waits for any
/// transaction holding the run row to end, so that a read of the run made after this returns
/// sees every change that did not notify. False (and nothing stored) when the workspace has no
/// such run.
#[tracing::instrument(skip_all, fields(run.id = %watch.run))]
pub async fn watch(pool: &PgPool, watch: &Watch) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The watch is worth nothing after a crash (the table is unlogged), so the commit need not
    // wait for the lock's WAL record to reach the disk.
    sqlx::query_scalar!(r#"select set_config('synchronous_commit', 'off', true) as "setting!""#)
        .fetch_one(&mut *tx)
        .await?;
    let stored = sqlx::query!(
        "insert into run_watches (run_id, topic, replica)
         select id, $3, $4 from runs where id = $1 and workspace_id = $2
         on conflict (run_id, topic) do update set renewed_at = now()",
        watch.run as RunId,
        watch.workspace as WorkspaceId,
        watch.topic,
        watch.replica,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if stored == 0 {
        return Ok(false);
    }
    // Its own statement, after the insert: it waits for a writer that looked for watches
    // before the insert committed.
    let locked = sqlx::query_scalar!(
        r#"select true as "locked!" from runs where id = $1 for update"#,
        watch.run as RunId,
    )
    .fetch_optional(&mut *tx)
    .await?
    .is_some();
    tx.commit().await?;
    Ok(locked)
}

/// Ends `watch`.
#[tracing::instrument(skip_all, fields(run.id = %watch.run))]
pub async fn unwatch(db: impl PgExecutor<'_>, watch: &Watch) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from run_watches where run_id = $1 and topic = $2",
        watch.run as RunId,
        watch.topic,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Renews every watch of `replica`; returns how many it has.
#[tracing::instrument(skip_all)]
pub async fn renew(db: impl PgExecutor<'_>, replica: Uuid) -> Result<u64, sqlx::Error> {
    let renewed = sqlx::query!(
        "update run_watches set renewed_at = now() where replica = $1",
        replica,
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(renewed)
}

/// Deletes up to `batch` watches not renewed for [`STALE_AFTER`]; returns how many.
#[tracing::instrument(skip_all)]
pub async fn expire_stale(db: impl PgExecutor<'_>, batch: i64) -> Result<u64, sqlx::Error> {
    let expired = sqlx::query!(
        "delete from run_watches w
         using (select run_id, topic from run_watches
                where renewed_at < now() - make_interval(secs => $1)
                order by renewed_at
                limit $2) stale
         where w.run_id = stale.run_id and w.topic = stale.topic",
        STALE_AFTER.as_secs_f64(),
        batch,
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(expired)
}
