//! Cleanup bookkeeping: destroying the per-run secrets (they are read with the run, in
//! [`crate::leased`]), the
//! `cleanup_attempts` record, and the sweeper's batch queries (purging deleted runs is in
//! [`crate::run_purge`]).

use antpath_types::{ErrorClass, ResourceId, RunId};
use sqlx::{PgConnection, PgExecutor};

use crate::DbError;
use crate::lifecycle::{Fence, one_row};

/// Destroys the run's sealed bundle and clears `execution_secret_id`. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn destroy_secrets(tx: &mut PgConnection, fence: Fence) -> Result<(), DbError> {
    let done = sqlx::query!(
        "update runs set execution_secret_id = null, updated_at = now()
         where id = $1 and lease_token = $2 and lease_expires_at > now()",
        fence.run_id as RunId,
        fence.token,
    )
    .execute(&mut *tx)
    .await?;
    one_row(done.rows_affected())?;
    sqlx::query!(
        "delete from run_secrets where run_id = $1",
        fence.run_id as RunId
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// One cleanup action's result.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    /// The run.
    pub run_id: RunId,
    /// The resource; `None` for the antpath-side secrets.
    pub resource_id: Option<ResourceId>,
    /// What was done (`delete_session`, `archive_agent`, `retain`, `destroy_secrets`, …).
    pub action: &'a str,
    /// `succeeded`, `failed` or `skipped`.
    pub status: &'a str,
    /// Which try of the run's cleanup this was (1-based).
    pub attempt_number: i32,
    /// The failure's class.
    pub error_class: Option<ErrorClass>,
    /// Scrubbed detail (bounded here on the way in).
    pub error_message: Option<&'a str>,
}

/// Appends a `cleanup_attempts` row.
#[tracing::instrument(skip_all, fields(run.id = %attempt.run_id, action = attempt.action))]
pub async fn record_attempt(
    db: impl PgExecutor<'_>,
    attempt: &Attempt<'_>,
) -> Result<(), sqlx::Error> {
    let message = attempt.error_message.map(crate::lifecycle::bounded_message);
    sqlx::query!(
        "insert into cleanup_attempts
            (id, run_id, resource_id, action, status, attempt_number, error_class, error_message)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        uuid::Uuid::now_v7(),
        attempt.run_id as RunId,
        attempt.resource_id as Option<ResourceId>,
        attempt.action,
        attempt.status,
        attempt.attempt_number,
        attempt.error_class as Option<ErrorClass>,
        message.as_deref(),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Clears leases that ran out without being released, so the runs are claimable at once and
/// show no stale owner. Returns how many were cleared.
#[tracing::instrument(skip_all)]
pub async fn expire_stale_leases(db: impl PgExecutor<'_>, limit: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "update runs set lease_owner = null, lease_token = null, lease_expires_at = null,
             next_check_at = least(next_check_at, now())
         where id in (select id from runs
                      where lease_token is not null and lease_expires_at <= now()
                      limit $1 for update skip locked)",
        limit,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Destroys the sealed inputs (the provider key and MCP credentials) of runs that no worker
/// will touch again (`phase = 'done'`) but still hold them — a safety net: the worker destroys
/// a run's secrets when its cleanup ends, whether it succeeded or was abandoned, so a run's key
/// never outlives its cleanup's give-up window. Each destruction is a `cleanup_attempts` row.
/// Returns how many bundles were destroyed.
#[tracing::instrument(skip_all)]
pub async fn destroy_leftover_secrets(
    db: impl PgExecutor<'_>,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let destroyed = sqlx::query_scalar!(
        r#"with doomed as (
               select id, execution_secret_id as secret_id from runs
               where phase = 'done' and lease_token is null
                 and execution_secret_id is not null
               limit $1 for update skip locked),
           cleared as (
               update runs r set execution_secret_id = null, updated_at = now()
               from doomed where r.id = doomed.id
               returning r.id, doomed.secret_id),
           recorded as (
               insert into cleanup_attempts (id, run_id, action, status, attempt_number, error_message)
               select gen_random_uuid(), id, 'destroy_secrets', 'succeeded', 1,
                      'the run was finished but still held its secrets'
               from cleared)
           delete from run_secrets where id in (select secret_id from cleared)
           returning id as "id!""#,
        limit,
    )
    .fetch_all(db)
    .await?;
    Ok(destroyed.len() as u64)
}

/// Makes runs with journal rows stuck in `intended` (a holder died around a create) due now,
/// so the next worker step adopts the provider's resource by metadata or creates it. Returns
/// how many runs were nudged.
#[tracing::instrument(skip_all)]
pub async fn nudge_stale_intents(
    db: impl PgExecutor<'_>,
    older_than_seconds: f64,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "update runs set next_check_at = now()
         where id in (select r.id from runs r
                      where r.lease_token is null and r.next_check_at > now()
                        and r.phase in ('provision', 'session', 'cleanup')
                        and exists (select 1 from provider_resources p
                                    where p.run_id = r.id and p.state = 'intended'
                                      and p.created_at < now() - make_interval(secs => $1::float8))
                      limit $2 for update skip locked)",
        older_than_seconds,
        limit,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
