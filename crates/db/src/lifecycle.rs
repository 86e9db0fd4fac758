//! The worker's run lifecycle: claiming due runs under a lease, and the fenced writes that move
//! a run from one bounded step to the next.
//!
//! Every write here after the claim carries the lease token and checks that exactly one row
//! changed; anything else is [`DbError::LeaseLost`]: the lease expired or another replica took
//! the run over, and the caller must stop without touching the run again.

use antpath_types::{ErrorClass, RunId, RunStatus, SecretId, UserId, WorkspaceId};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::DbError;

/// A lease on a run: the fencing token every later write presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    /// The leased run.
    pub run_id: RunId,
    /// The token written by the claim.
    pub token: Uuid,
}

/// A run claimed by [`claim_due`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimed {
    /// The run.
    pub run_id: RunId,
    /// Its fresh lease token.
    pub token: Uuid,
    /// When the lease runs out unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// Claims up to `limit` due runs for `owner` for `lease_seconds`.
///
/// Candidates are unleased (or expired) non-terminal runs whose `next_check_at` has come, the
/// first `limit * 8` by priority and due time. Among them each run is ranked within its
/// workspace and the lowest ranks are taken first, so one busy workspace cannot starve the
/// others. A queued run only starts if its workspace stays within `max_active_runs` counting
/// the runs already started. The chosen rows are locked with `FOR UPDATE SKIP LOCKED` (the lease
/// condition is re-checked on the locked row), so concurrent claimers never take the same run.
#[tracing::instrument(skip_all, fields(lease.owner = owner, limit))]
pub async fn claim_due(
    db: impl PgExecutor<'_>,
    owner: &str,
    limit: i64,
    lease_seconds: f64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as!(
        Claimed,
        r#"with due as (
               select r.id, r.workspace_id, r.status, r.priority, r.next_check_at
               from runs r
               where r.status not in ('succeeded', 'failed', 'timed_out', 'cancelled',
                                      'cleanup_failed', 'pending_delete', 'deleted')
                 and r.next_check_at <= now()
                 and (r.lease_expires_at is null or r.lease_expires_at <= now())
               order by r.priority desc, r.next_check_at
               limit $2::bigint * 8
           ),
           started as (
               -- Runs already past `queued` in the workspaces that have a queued candidate,
               -- counted once per workspace.
               select x.workspace_id, count(*) as n from runs x
               where x.workspace_id in (select workspace_id from due where status = 'queued')
                 and x.status not in ('queued', 'succeeded', 'failed', 'timed_out', 'cancelled',
                                      'cleanup_failed', 'pending_delete', 'deleted')
               group by x.workspace_id
           ),
           ranked as (
               select d.id, d.priority, d.next_check_at,
                      row_number() over (partition by d.workspace_id
                                         order by d.priority desc, d.next_check_at) as fair_rank,
                      case when d.status = 'queued' then
                          row_number() over (partition by d.workspace_id, d.status = 'queued'
                                             order by d.priority desc, d.next_check_at)
                      end as queued_rank,
                      coalesce(s.n, 0) as started,
                      w.max_active_runs
               from due d join workspaces w on w.id = d.workspace_id
               left join started s on s.workspace_id = d.workspace_id
           ),
           picked as (
               select id from ranked
               where queued_rank is null or started + queued_rank <= max_active_runs
               order by fair_rank, priority desc, next_check_at
               limit $2::bigint
           ),
           locked as (
               select r.id from runs r
               where r.id in (select id from picked)
                 and (r.lease_expires_at is null or r.lease_expires_at <= now())
                 and r.next_check_at <= now()
               for update of r skip locked
           )
           update runs r
           set lease_owner = $1,
               lease_token = gen_random_uuid(),
               lease_expires_at = now() + make_interval(secs => $3::float8),
               updated_at = now()
           from locked
           where r.id = locked.id
           returning r.id as "run_id: RunId", r.lease_token as "token!",
                     r.lease_expires_at as "expires_at!""#,
        owner,
        limit,
        lease_seconds,
    )
    .fetch_all(db)
    .await
}

/// Extends a held lease; `None` if it was lost.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn renew(
    db: impl PgExecutor<'_>,
    fence: Fence,
    lease_seconds: f64,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"update runs set lease_expires_at = now() + make_interval(secs => $3::float8)
           where id = $1 and lease_token = $2 and lease_expires_at > now()
           returning lease_expires_at as "at!""#,
        fence.run_id as RunId,
        fence.token,
        lease_seconds,
    )
    .fetch_optional(db)
    .await
}

/// Hands a run back without changing its state (shutdown, or an error to retry elsewhere).
/// Returns whether the lease was still held.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn release(db: impl PgExecutor<'_>, fence: Fence) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update runs set lease_owner = null, lease_token = null, lease_expires_at = null
         where id = $1 and lease_token = $2",
        fence.run_id as RunId,
        fence.token,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Checks the lease inside a transaction and locks the run row until commit, so the writes
/// that follow in the same transaction are fenced too.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn fence(tx: &mut PgConnection, fence: Fence) -> Result<(), DbError> {
    let held = sqlx::query_scalar!(
        r#"select 1 as "one!" from runs
           where id = $1 and lease_token = $2 and lease_expires_at > now()
           for no key update"#,
        fence.run_id as RunId,
        fence.token,
    )
    .fetch_optional(&mut *tx)
    .await?;
    held.map(|_| ()).ok_or(DbError::LeaseLost)
}

/// Everything a lifecycle step reads about its run.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// The run.
    pub id: RunId,
    /// Its workspace.
    pub workspace_id: WorkspaceId,
    /// The attributed user.
    pub creator: UserId,
    /// Current status.
    pub status: RunStatus,
    /// The next step.
    pub phase: String,
    /// The terminal status decided before cleanup.
    pub outcome: Option<String>,
    /// `delete` or `retain`.
    pub cleanup_policy: String,
    /// The secret-free template.
    pub template_snapshot: serde_json::Value,
    /// Duration cap from dispatch.
    pub max_duration_seconds: i32,
    /// The sealed inputs, until cleanup.
    pub execution_secret_id: Option<SecretId>,
    /// Provider attempts so far.
    pub attempt_count: i32,
    /// Consecutive transient failures of the current step.
    pub step_failures: i32,
    /// The provider session, once created.
    pub provider_session_id: Option<String>,
    /// Where event observation got to.
    pub event_cursor: Option<String>,
    /// Current adaptive poll interval.
    pub poll_interval_ms: i32,
    /// When the prompt was sent.
    pub dispatched_at: Option<DateTime<Utc>>,
    /// When the provider's work was first seen ended.
    pub work_ended_at: Option<DateTime<Utc>>,
    /// A cancel request.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// A delete request.
    pub pending_delete_at: Option<DateTime<Utc>>,
    /// The database's clock at read time (steps compare deadlines with it, not the host's).
    pub now: DateTime<Utc>,
}

/// Loads a leased run; `LeaseLost` if the lease is no longer held.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn load(db: impl PgExecutor<'_>, fence: Fence) -> Result<RunRow, DbError> {
    sqlx::query_as!(
        RunRow,
        r#"select id as "id: RunId", workspace_id as "workspace_id: WorkspaceId",
                  creator_app_user_id as "creator: UserId", status as "status: RunStatus",
                  phase, outcome, cleanup_policy, template_snapshot, max_duration_seconds,
                  execution_secret_id as "execution_secret_id: SecretId", attempt_count,
                  step_failures, provider_session_id, event_cursor, poll_interval_ms,
                  dispatched_at, work_ended_at, cancel_requested_at, pending_delete_at,
                  now() as "now!"
           from runs where id = $1 and lease_token = $2 and lease_expires_at > now()"#,
        fence.run_id as RunId,
        fence.token,
    )
    .fetch_optional(db)
    .await?
    .ok_or(DbError::LeaseLost)
}

/// The move at the end of a step.
#[derive(Debug, Clone, Copy)]
pub struct Advance<'a> {
    /// The new status (the caller checked `can_transition_to`).
    pub status: RunStatus,
    /// The next step.
    pub phase: &'a str,
    /// Seconds until the next step is due.
    pub delay_seconds: f64,
    /// Whether to give the lease back (the next step may run on any replica).
    pub release: bool,
}

/// Moves the run on and resets its step-failure count. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id, run.phase = advance.phase))]
pub async fn advance(
    db: impl PgExecutor<'_>,
    fence: Fence,
    advance: Advance<'_>,
) -> Result<(), DbError> {
    let done = sqlx::query!(
        "update runs set status = $3, phase = $4,
             next_check_at = now() + make_interval(secs => $5::float8),
             step_failures = 0, updated_at = now(),
             lease_owner = case when $6 then null else lease_owner end,
             lease_expires_at = case when $6 then null else lease_expires_at end,
             lease_token = case when $6 then null else lease_token end
         where id = $1 and lease_token = $2 and lease_expires_at > now()",
        fence.run_id as RunId,
        fence.token,
        advance.status as RunStatus,
        advance.phase,
        advance.delay_seconds,
        advance.release,
    )
    .execute(db)
    .await?;
    one_row(done.rows_affected())
}

/// Counts a transient failure of the current step and schedules its retry, releasing the
/// lease. Returns the new failure count. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn retry_later(
    db: impl PgExecutor<'_>,
    fence: Fence,
    delay_seconds: f64,
    count_failure: bool,
) -> Result<i32, DbError> {
    sqlx::query_scalar!(
        "update runs set step_failures = step_failures + case when $4 then 1 else 0 end,
             next_check_at = now() + make_interval(secs => $3::float8), updated_at = now(),
             lease_owner = null, lease_token = null, lease_expires_at = null
         where id = $1 and lease_token = $2 and lease_expires_at > now()
         returning step_failures",
        fence.run_id as RunId,
        fence.token,
        delay_seconds,
        count_failure,
    )
    .fetch_optional(db)
    .await?
    .ok_or(DbError::LeaseLost)
}

/// Records the decided terminal status and the failure (if any) ahead of capture and cleanup.
/// `message` must already be scrubbed. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id, run.outcome = outcome.as_str()))]
pub async fn decide_outcome(
    db: impl PgExecutor<'_>,
    fence: Fence,
    outcome: RunStatus,
    error: Option<(ErrorClass, &str)>,
) -> Result<(), DbError> {
    let done = sqlx::query!(
        "update runs set outcome = coalesce(outcome, $3), error_class = coalesce(error_class, $4),
             error_message = coalesce(error_message, $5), cleanup_status = 'pending',
             work_ended_at = coalesce(work_ended_at, now()), updated_at = now()
         where id = $1 and lease_token = $2 and lease_expires_at > now()",
        fence.run_id as RunId,
        fence.token,
        outcome.as_str(),
        error.map(|(class, _)| class) as Option<ErrorClass>,
        error.map(|(_, message)| message),
    )
    .execute(db)
    .await?;
    one_row(done.rows_affected())
}

/// Starts a provider attempt: bumps `attempt_count` and returns the new number. Fenced; run it
/// in the transaction that inserts the `run_attempts` row.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn begin_attempt(tx: &mut PgConnection, fence: Fence) -> Result<i32, DbError> {
    sqlx::query_scalar!(
        "update runs set attempt_count = attempt_count + 1, updated_at = now()
         where id = $1 and lease_token = $2 and lease_expires_at > now()
         returning attempt_count",
        fence.run_id as RunId,
        fence.token,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(DbError::LeaseLost)
}

/// Records the provider session on the run and its attempt. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn record_session(
    tx: &mut PgConnection,
    fence: Fence,
    attempt_number: i32,
    session_id: &str,
) -> Result<(), DbError> {
    let done = sqlx::query!(
        "update runs set provider_session_id = $3, updated_at = now()
         where id = $1 and lease_token = $2 and lease_expires_at > now()",
        fence.run_id as RunId,
        fence.token,
        session_id,
    )
    .execute(&mut *tx)
    .await?;
    one_row(done.rows_affected())?;
    sqlx::query!(
        "update run_attempts set provider_session_id = $3
         where run_id = $1 and attempt_number = $2",
        fence.run_id as RunId,
        attempt_number,
        session_id,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Marks the prompt sent. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn mark_dispatched(db: impl PgExecutor<'_>, fence: Fence) -> Result<(), DbError> {
    let done = sqlx::query!(
        "update runs set dispatched_at = coalesce(dispatched_at, now()), updated_at = now()
         where id = $1 and lease_token = $2 and lease_expires_at > now()",
        fence.run_id as RunId,
        fence.token,
    )
    .execute(db)
    .await?;
    one_row(done.rows_affected())
}

/// Ends the run: the terminal status, the cleanup status, no lease. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id, run.status = status.as_str()))]
pub async fn finish(
    db: impl PgExecutor<'_>,
    fence: Fence,
    status: RunStatus,
    cleanup_status: &str,
) -> Result<(), DbError> {
    let done = sqlx::query!(
        "update runs set status = $3, cleanup_status = $4, phase = 'done',
             ended_at = coalesce(ended_at, now()), updated_at = now(), step_failures = 0,
             lease_owner = null, lease_token = null, lease_expires_at = null
         where id = $1 and lease_token = $2 and lease_expires_at > now()",
        fence.run_id as RunId,
        fence.token,
        status as RunStatus,
        cleanup_status,
    )
    .execute(db)
    .await?;
    one_row(done.rows_affected())
}

/// Closes the run's open attempts with the run's outcome.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn close_attempts(
    db: impl PgExecutor<'_>,
    run_id: RunId,
    state: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update run_attempts r set state = $2, ended_at = now(),
             error_class = runs.error_class, error_message = runs.error_message
         from runs where r.run_id = $1 and runs.id = r.run_id and r.state = 'started'",
        run_id as RunId,
        state,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The current attempt's id, if an attempt was started.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn current_attempt(
    db: impl PgExecutor<'_>,
    run_id: RunId,
) -> Result<Option<(antpath_types::AttemptId, i32)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select id as "id: antpath_types::AttemptId", attempt_number from run_attempts
           where run_id = $1 order by attempt_number desc limit 1"#,
        run_id as RunId,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.id, r.attempt_number)))
}

pub(crate) fn one_row(rows: u64) -> Result<(), DbError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(DbError::LeaseLost)
    }
}
