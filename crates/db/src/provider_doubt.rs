//! What the worker cannot be sure of about a run's provider side, so it checks instead of
//! assuming: a journal that may be incomplete (`runs.provider_doubt_at`), and a prompt whose
//! send may already have happened (`run_attempts.dispatch_started_at`).

use antpath_types::RunId;
use sqlx::{PgConnection, PgExecutor};

use crate::DbError;
use crate::lifecycle::{Fence, fence};

/// Records that the run's journal may miss a provider resource. Only the first doubt's time is
/// kept. Unfenced on purpose: a stale holder's doubt costs at most one extra leak scan.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn record(db: impl PgExecutor<'_>, run_id: RunId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update runs set provider_doubt_at = coalesce(provider_doubt_at, now()) where id = $1",
        run_id as RunId,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Marks the current attempt's prompt as about to be sent; returns whether an earlier dispatch
/// had already marked it (and so may have sent it). Fenced.
#[tracing::instrument(skip_all, fields(run.id = %run_fence.run_id))]
pub async fn begin_prompt_send(tx: &mut PgConnection, run_fence: Fence) -> Result<bool, DbError> {
    fence(tx, run_fence).await?;
    let earlier = sqlx::query_scalar!(
        r#"with current as (
               select a.id, a.dispatch_started_at
               from run_attempts a join runs r on r.id = a.run_id
               where a.run_id = $1 and a.attempt_number = r.attempt_count
               for update of a)
           update run_attempts a
           set dispatch_started_at = coalesce(a.dispatch_started_at, now())
           from current
           where a.id = current.id
           returning current.dispatch_started_at is not null as "earlier!""#,
        run_fence.run_id as RunId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    // No attempt row (a run from before attempts were recorded): be careful and check.
    Ok(earlier.unwrap_or(true))
}
