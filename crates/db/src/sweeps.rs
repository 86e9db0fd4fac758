//! Sweeper plumbing: bounded transactions, the advisory locks that keep single-actor passes to
//! one sweeper at a time, and the storage-accounting repair.
//!
//! Every sweeper transaction starts with [`begin_bounded`], so a batch that meets an unexpected
//! lock or a slow plan is cut off instead of holding its row locks for the connection's whole
//! (longer) statement timeout. Passes where two actors would step on each other (the storage
//! repair, the workspace purge) run under a session-level advisory lock ([`try_lock_pass`]); a
//! second sweeper finds the lock taken and skips the pass.

use std::time::Duration;

use antpath_types::WorkspaceId;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

/// Begins a transaction whose statements are cancelled after `timeout`
/// (`SET LOCAL statement_timeout`, bound as a parameter through `set_config`).
#[tracing::instrument(skip_all)]
pub async fn begin_bounded(
    pool: &PgPool,
    timeout: Duration,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query_scalar!(
        r#"select set_config('statement_timeout', $1, true) as "setting!""#,
        format!("{}ms", timeout.as_millis().max(1)),
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(tx)
}

/// A sweeper pass that only one sweeper may run at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Recomputing the workspaces' storage counters.
    StorageRepair,
    /// Draining and purging deleted workspaces.
    WorkspacePurge,
}

impl Pass {
    /// The advisory lock key: fixed, arbitrary numbers, distinct from sqlx's migration lock
    /// (which derives its key from the database name).
    fn key(self) -> i64 {
        match self {
            Self::StorageRepair => 0x616e_7470_0001,
            Self::WorkspacePurge => 0x616e_7470_0002,
        }
    }
}

/// A held pass lock. The lock lives on a connection of its own, taken out of the pool, so it is
/// released when [`PassLock::release`] closes that connection — or, if the sweeper dies or the
/// guard is dropped, when Postgres sees the connection go.
#[derive(Debug)]
pub struct PassLock {
    conn: PgConnection,
    key: i64,
}

/// Takes the pass's lock if no other session holds it.
#[tracing::instrument(skip_all, fields(sweep.pass = ?pass))]
pub async fn try_lock_pass(pool: &PgPool, pass: Pass) -> Result<Option<PassLock>, sqlx::Error> {
    let mut conn = pool.acquire().await?.detach();
    let key = pass.key();
    let taken = sqlx::query_scalar!(r#"select pg_try_advisory_lock($1) as "taken!""#, key)
        .fetch_one(&mut conn)
        .await?;
    if taken {
        Ok(Some(PassLock { conn, key }))
    } else {
        sqlx::Connection::close(conn).await?;
        Ok(None)
    }
}

impl PassLock {
    /// Releases the lock and closes its connection.
    pub async fn release(mut self) -> Result<(), sqlx::Error> {
        sqlx::query_scalar!(r#"select pg_advisory_unlock($1) as "released!""#, self.key)
            .fetch_one(&mut self.conn)
            .await?;
        sqlx::Connection::close(self.conn).await
    }
}

/// One workspace whose storage counter disagreed with its output rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageDrift {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// What the counter said.
    pub recorded_bytes: i64,
    /// The sum of its `output_objects` rows, now in the counter.
    pub actual_bytes: i64,
}

/// What one batch of the storage repair saw.
#[derive(Debug, Clone, Default)]
pub struct StorageBatch {
    /// The last workspace checked, to start the next batch after; `None` when there was none.
    pub last: Option<WorkspaceId>,
    /// Workspaces checked.
    pub checked: u64,
    /// The counters that were fixed.
    pub fixed: Vec<StorageDrift>,
}

/// Checks the storage counter of up to `limit` workspaces after `after` (by id) against the sum
/// of their output rows and sets it to that sum where they differ. Deleted workspaces are left
/// out. Runs in the caller's transaction, which should be bounded.
///
/// The workspace rows are locked first, in a statement of their own (`FOR UPDATE SKIP LOCKED`,
/// so a workspace busy capturing is simply checked next time); the sums are taken by a second
/// statement, whose snapshot is newer than every transaction that already changed a locked
/// counter. A capture or a release changes its output rows before the counter, in one
/// transaction, so while the counter is locked here the rows and the counter agree.
#[tracing::instrument(skip_all)]
pub async fn repair_storage_batch(
    tx: &mut PgConnection,
    after: Option<WorkspaceId>,
    limit: i64,
) -> Result<StorageBatch, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        r#"select id as "id: WorkspaceId" from workspaces
           where ($1::uuid is null or id > $1) and status <> 'deleted'
           order by id limit $2 for update skip locked"#,
        after.map(|id| id.as_uuid()),
        limit,
    )
    .fetch_all(&mut *tx)
    .await?;
    let Some(last) = ids.last().copied() else {
        return Ok(StorageBatch::default());
    };
    let uuids: Vec<uuid::Uuid> = ids.iter().map(WorkspaceId::as_uuid).collect();
    let fixed = sqlx::query_as!(
        StorageDrift,
        r#"with actual as (
               select w.id, w.storage_used_bytes as recorded,
                      coalesce((select sum(o.size_bytes) from output_objects o
                                where o.workspace_id = w.id), 0)::bigint as actual
               from workspaces w where w.id = any($1))
           update workspaces w set storage_used_bytes = a.actual, updated_at = now()
           from actual a
           where w.id = a.id and a.recorded <> a.actual
           returning w.id as "workspace_id: WorkspaceId", a.recorded as "recorded_bytes!",
                     a.actual as "actual_bytes!""#,
        &uuids,
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(StorageBatch {
        last: Some(last),
        checked: ids.len() as u64,
        fixed,
    })
}
