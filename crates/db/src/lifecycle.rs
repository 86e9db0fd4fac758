//! The worker's run lifecycle: claiming due runs under a lease, and the fenced writes that move
//! a run from one bounded step to the next.
//!
//! Every write here after the claim carries the lease token and checks that exactly one row
//! changed; anything else is [`DbError::LeaseLost`]: the lease expired or another replica took
//! the run over, and the caller must stop without touching the run again.

use antpath_types::{
    AttemptId, ClaudeSessionCleanup, CleanupState, ErrorClass, Phase, RunId, RunStatus, SecretId,
    UserId, WorkspaceId,
};
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
/// Candidates are unleased (or expired) runs with work left (`phase <> 'done'`: a run whose
/// outcome is known may still be cleaning up) whose `next_check_at` has come, the
/// first `limit * 8` by priority and due time. Among them each run is ranked within its
/// workspace and the lowest ranks are taken first, so one busy workspace cannot starve the
/// others. A queued run only starts if its workspace stays within `max_active_runs` counting
/// the runs already started. The chosen rows are locked with `FOR UPDATE SKIP LOCKED` and the
/// lease, due time and phase are re-checked on the locked row, so concurrent claimers never take
/// the same run, nor one that another claimer's holder finished meanwhile (found by the claim
/// benchmark: without the phase re-check a run ended between two claimers' reads was claimed
/// again).
///
/// A claimed run that is still `queued` with no attempt (and neither cancelled nor being
/// deleted) is started by the claim: attempt 1, `provisioning`, its `run_attempts` row. The
/// statement is the SQL function `claim_due_runs` (migration `…200`), whose plan is cached for
/// the session instead of being made again on every call.
#[tracing::instrument(skip_all, fields(lease.owner = owner, limit))]
pub async fn claim_due(
    db: impl PgExecutor<'_>,
    owner: &str,
    limit: i64,
    lease_seconds: f64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    // One time-ordered attempt id per run the claim may start (see `claim_due_runs`).
    let attempt_ids: Vec<Uuid> = (0..limit.clamp(0, 1024))
        .map(|_| AttemptId::new().as_uuid())
        .collect();
    sqlx::query_as!(
        Claimed,
        r#"select claimed_id as "run_id!: RunId", claimed_token as "token!",
                  claimed_expires_at as "expires_at!"
           from claim_due_runs($1, $2, $3, $4)"#,
        owner,
        limit,
        lease_seconds,
        &attempt_ids,
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
    pub phase: Phase,
    /// The outcome decided at the end of the work, applied as the status when cleanup starts.
    pub outcome: Option<RunStatus>,
    /// Whether provider resources are deleted or kept.
    pub cleanup_policy: ClaudeSessionCleanup,
    /// How cleanup stands.
    pub cleanup_state: CleanupState,
    /// Cleanup rounds so far.
    pub cleanup_rounds: i32,
    /// The secret-free template.
    pub template_snapshot: serde_json::Value,
    /// Duration cap from dispatch.
    pub max_duration_seconds: i32,
    /// Spend limit in US dollars (the template's `maxSpendUsd`); the session's budget.
    pub max_spend_usd: Option<f64>,
    /// List cost the provider reported over earlier attempts, in micro-dollars.
    pub list_cost_micro_usd: Option<i64>,
    /// The sealed inputs, until cleanup.
    pub execution_secret_id: Option<SecretId>,
    /// Provider attempts so far.
    pub attempt_count: i32,
    /// The most provider attempts the run may take.
    pub max_attempts: i32,
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
    /// When the worker first could not be sure its journal holds every provider resource.
    pub provider_doubt_at: Option<DateTime<Utc>>,
    /// The submission's W3C trace context, which step spans continue.
    pub trace_parent: Option<String>,
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
                  phase as "phase: Phase", outcome as "outcome: RunStatus",
                  cleanup_policy as "cleanup_policy: ClaudeSessionCleanup",
                  cleanup_state as "cleanup_state: CleanupState", cleanup_rounds,
                  template_snapshot, max_duration_seconds,
                  max_spend_usd::float8 as max_spend_usd, list_cost_micro_usd,
                  execution_secret_id as "execution_secret_id: SecretId", attempt_count,
                  max_attempts,
                  step_failures, provider_session_id, event_cursor, poll_interval_ms,
                  dispatched_at, work_ended_at, cancel_requested_at, pending_delete_at,
                  provider_doubt_at, trace_parent, now() as "now!"
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
pub struct Advance {
    /// The new status (the caller checked `can_transition_to`).
    pub status: RunStatus,
    /// The next step.
    pub phase: Phase,
    /// Seconds until the next step is due.
    pub delay_seconds: f64,
    /// Whether to give the lease back (the next step may run on any replica).
    pub release: bool,
}

/// Moves the run on and resets its step-failure count. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id, run.phase = %advance.phase))]
pub async fn advance(
    db: impl PgExecutor<'_>,
    fence: Fence,
    advance: Advance,
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
        advance.phase as Phase,
        advance.delay_seconds,
        advance.release,
    )
    .execute(db)
    .await?;
    one_row(done.rows_affected())
}

/// What a rescheduled step did to its failure count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepTally {
    /// The step failed: one more consecutive failure.
    Failed,
    /// The step failed, but after durable progress (a resource created, a file stored): the
    /// count starts again at one.
    FailedAfterProgress,
    /// The step made progress and simply waits for its next turn: the count resets.
    Progressed,
    /// The step waited without trying (throttled): the count is unchanged.
    Waited,
}

/// Schedules the current step again after `delay_seconds`, releasing the lease, and tallies its
/// failures as `tally` says. Returns the new failure count. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn retry_later(
    db: impl PgExecutor<'_>,
    fence: Fence,
    delay_seconds: f64,
    tally: StepTally,
) -> Result<i32, DbError> {
    let (reset, add) = match tally {
        StepTally::Failed => (false, 1),
        StepTally::FailedAfterProgress => (true, 1),
        StepTally::Progressed => (true, 0),
        StepTally::Waited => (false, 0),
    };
    sqlx::query_scalar!(
        "update runs set
             step_failures = case when $4 then 0 else step_failures end + $5::integer,
             next_check_at = now() + make_interval(secs => $3::float8), updated_at = now(),
             lease_owner = null, lease_token = null, lease_expires_at = null
         where id = $1 and lease_token = $2 and lease_expires_at > now()
         returning step_failures",
        fence.run_id as RunId,
        fence.token,
        delay_seconds,
        reset,
        add,
    )
    .fetch_optional(db)
    .await?
    .ok_or(DbError::LeaseLost)
}

/// Longest error message stored on a run, a cleanup round or an attempt, in bytes. Provider
/// replies can be arbitrarily long; every list response carries the message.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 2048;

/// `message` cut to [`MAX_ERROR_MESSAGE_BYTES`] on a character boundary, marked when cut.
pub fn bounded_message(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= MAX_ERROR_MESSAGE_BYTES {
        return message.into();
    }
    let mut end = MAX_ERROR_MESSAGE_BYTES - 3;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end]).into()
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
    let message = error.map(|(_, message)| bounded_message(message));
    let done = sqlx::query!(
        "update runs set outcome = coalesce(outcome, $3), error_class = coalesce(error_class, $4),
             error_message = coalesce(error_message, $5),
             work_ended_at = coalesce(work_ended_at, now()), updated_at = now()
         where id = $1 and lease_token = $2 and lease_expires_at > now()",
        fence.run_id as RunId,
        fence.token,
        outcome as RunStatus,
        error.map(|(class, _)| class) as Option<ErrorClass>,
        message.as_deref(),
    )
    .execute(db)
    .await?;
    one_row(done.rows_affected())
}

/// Output capture was cut short (a cancel or delete arrived, or capture kept failing): a
/// `succeeded` outcome becomes `outcome` with `error`, since the run's outputs are not all in;
/// any other outcome stands. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn capture_cut_short(
    db: impl PgExecutor<'_>,
    fence: Fence,
    outcome: RunStatus,
    error: (ErrorClass, &str),
) -> Result<(), DbError> {
    let message = bounded_message(error.1);
    let done = sqlx::query!(
        "update runs set
             error_class = case when outcome = 'succeeded' then $4 else error_class end,
             error_message = case when outcome = 'succeeded' then $5 else error_message end,
             outcome = case when outcome = 'succeeded' then $3 else outcome end,
             updated_at = now()
         where id = $1 and lease_token = $2 and lease_expires_at > now()",
        fence.run_id as RunId,
        fence.token,
        outcome as RunStatus,
        error.0 as ErrorClass,
        message.as_ref(),
    )
    .execute(db)
    .await?;
    one_row(done.rows_affected())
}

/// Starts the run's first provider attempt in one statement: bumps `attempt_count`, records
/// the `run_attempts` row (`attempt`) and moves the run to `provisioning` in its provision
/// step, due now, with no step failures counted. Returns the attempt's number. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn begin_attempt(
    tx: &mut PgConnection,
    fence: Fence,
    attempt: antpath_types::AttemptId,
) -> Result<i32, DbError> {
    sqlx::query_scalar!(
        r#"with run as (
             update runs set attempt_count = attempt_count + 1, status = 'provisioning',
                 phase = 'provision', next_check_at = now(), step_failures = 0,
                 updated_at = now()
             where id = $1 and lease_token = $2 and lease_expires_at > now()
             returning id, attempt_count
           )
           insert into run_attempts (id, run_id, attempt_number)
           select $3, run.id, run.attempt_count from run
           returning attempt_number"#,
        fence.run_id as RunId,
        fence.token,
        attempt as antpath_types::AttemptId,
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

/// The work is over: the decided outcome becomes the run's status and cleanup begins. From
/// here on the status never changes again (but for deletion). Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn begin_cleanup(db: impl PgExecutor<'_>, fence: Fence) -> Result<RunStatus, DbError> {
    sqlx::query_scalar!(
        r#"update runs set status = coalesce(outcome, 'failed'), outcome = coalesce(outcome, 'failed'),
               phase = 'cleanup', cleanup_state = 'running', step_failures = 0,
               ended_at = coalesce(ended_at, now()), work_ended_at = coalesce(work_ended_at, now()),
               next_check_at = now(), updated_at = now()
           where id = $1 and lease_token = $2 and lease_expires_at > now()
           returning status as "status: RunStatus""#,
        fence.run_id as RunId,
        fence.token,
    )
    .fetch_optional(db)
    .await?
    .ok_or(DbError::LeaseLost)
}

/// A cleanup round failed: counts it, records its (scrubbed) error, marks cleanup `retrying`
/// and schedules the next round after `delay_seconds`, releasing the lease. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn cleanup_round_failed(
    db: impl PgExecutor<'_>,
    fence: Fence,
    error: (ErrorClass, &str),
    delay_seconds: f64,
) -> Result<(), DbError> {
    let message = bounded_message(error.1);
    let done = sqlx::query!(
        "update runs set cleanup_state = 'retrying', cleanup_rounds = cleanup_rounds + 1,
             cleanup_error_class = $3, cleanup_error_message = $4, step_failures = 0,
             next_check_at = now() + make_interval(secs => $5::float8), updated_at = now(),
             lease_owner = null, lease_token = null, lease_expires_at = null
         where id = $1 and lease_token = $2 and lease_expires_at > now()",
        fence.run_id as RunId,
        fence.token,
        error.0 as ErrorClass,
        message.as_ref(),
        delay_seconds,
    )
    .execute(db)
    .await?;
    one_row(done.rows_affected())
}

/// Ends the run's cleanup `abandoned` with `error` as its last error: no more work, no
/// lease. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn abandon_cleanup(
    db: impl PgExecutor<'_>,
    fence: Fence,
    error: (ErrorClass, &str),
) -> Result<(), DbError> {
    let message = bounded_message(error.1);
    let done = sqlx::query!(
        "update runs set cleanup_state = 'abandoned', cleanup_rounds = cleanup_rounds + 1,
             cleanup_error_class = $3, cleanup_error_message = $4, phase = 'done',
             ended_at = coalesce(ended_at, now()), updated_at = now(), step_failures = 0,
             lease_owner = null, lease_token = null, lease_expires_at = null
         where id = $1 and lease_token = $2 and lease_expires_at > now()",
        fence.run_id as RunId,
        fence.token,
        error.0 as ErrorClass,
        message.as_ref(),
    )
    .execute(db)
    .await?;
    one_row(done.rows_affected())
}

/// Starts provider attempt N+1 after the session of attempt N ended for a provider-side
/// reason: closes attempt N as `rescheduled` with its error, clears the session, cursor and
/// undecided outcome, and sends the run to the `session` step (the environment, agent and
/// vault are reused) in `provider_rescheduled`. Returns the new attempt number. Fenced; run it
/// in the transaction that inserts the new `run_attempts` row.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn reschedule_attempt(
    tx: &mut PgConnection,
    fence: Fence,
    error: (ErrorClass, &str),
) -> Result<i32, DbError> {
    let message = bounded_message(error.1);
    sqlx::query!(
        "update run_attempts set state = 'rescheduled', ended_at = now(), error_class = $2,
             error_message = $3
         where run_id = $1 and state = 'started'",
        fence.run_id as RunId,
        error.0 as ErrorClass,
        message.as_ref(),
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query_scalar!(
        "update runs set attempt_count = attempt_count + 1, status = 'provider_rescheduled',
             phase = 'session', provider_session_id = null, event_cursor = null,
             poll_interval_ms = 0, outcome = null, error_class = null, error_message = null,
             work_ended_at = null, step_failures = 0, next_check_at = now(), updated_at = now()
         where id = $1 and lease_token = $2 and lease_expires_at > now()
         returning attempt_count",
        fence.run_id as RunId,
        fence.token,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(DbError::LeaseLost)
}

/// Whether the current attempt's session used a tool (an agent or MCP tool-use event was
/// stored for it).
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn attempt_used_tools(
    db: impl PgExecutor<'_>,
    run_id: RunId,
) -> Result<bool, sqlx::Error> {
    let used = sqlx::query_scalar!(
        r#"select exists (
               select 1 from run_events e
               join run_attempts a on a.id = e.attempt_id
               where a.run_id = $1 and a.state = 'started'
                 and e.event_type in ('agent.tool_use', 'agent.mcp_tool_use', 'agent.custom_tool_use')
           ) as "used!""#,
        run_id as RunId,
    )
    .fetch_one(db)
    .await?;
    Ok(used)
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
