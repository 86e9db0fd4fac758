//! A leased run read together with its sealed inputs, in one statement: what a worker reads at
//! the start of each lease hold. One round trip instead of a transaction of two reads (four
//! round trips), which is most of what stands between a claim and the run's first write.

use antpath_types::{
    ClaudeSessionCleanup, CleanupState, Phase, RunId, RunStatus, SecretId, UserId, WorkspaceId,
};
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::DbError;
use crate::lifecycle::{Fence, RunRow};
use crate::runs::SealedSecret;

/// The row of [`load`]: a [`RunRow`] and the columns of its sealed bundle, if it still has one.
struct Leased {
    id: RunId,
    workspace_id: WorkspaceId,
    creator: UserId,
    status: RunStatus,
    phase: Phase,
    outcome: Option<RunStatus>,
    cleanup_policy: ClaudeSessionCleanup,
    cleanup_state: CleanupState,
    cleanup_rounds: i32,
    template_snapshot: serde_json::Value,
    max_duration_seconds: i32,
    max_spend_usd: Option<f64>,
    list_cost_micro_usd: Option<i64>,
    execution_secret_id: Option<SecretId>,
    attempt_count: i32,
    max_attempts: i32,
    step_failures: i32,
    provider_session_id: Option<String>,
    event_cursor: Option<String>,
    poll_interval_ms: i32,
    dispatched_at: Option<DateTime<Utc>>,
    work_ended_at: Option<DateTime<Utc>>,
    cancel_requested_at: Option<DateTime<Utc>>,
    pending_delete_at: Option<DateTime<Utc>>,
    provider_doubt_at: Option<DateTime<Utc>>,
    trace_parent: Option<String>,
    now: DateTime<Utc>,
    secret_key_id: Option<String>,
    secret_wrapped_key: Option<Vec<u8>>,
    secret_wrap_nonce: Option<Vec<u8>>,
    secret_ciphertext: Option<Vec<u8>>,
    secret_nonce: Option<Vec<u8>>,
}

/// The run (fenced: [`DbError::LeaseLost`] when the lease is gone) and its sealed bundle, or
/// `None` once the bundle is destroyed.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn load(
    db: impl PgExecutor<'_>,
    fence: Fence,
) -> Result<(RunRow, Option<SealedSecret>), DbError> {
    let row = sqlx::query_as!(
        Leased,
        r#"select r.id as "id: RunId", r.workspace_id as "workspace_id: WorkspaceId",
                  r.creator_app_user_id as "creator: UserId", r.status as "status: RunStatus",
                  r.phase as "phase: Phase", r.outcome as "outcome: RunStatus",
                  r.cleanup_policy as "cleanup_policy: ClaudeSessionCleanup",
                  r.cleanup_state as "cleanup_state: CleanupState", r.cleanup_rounds,
                  r.template_snapshot, r.max_duration_seconds,
                  r.max_spend_usd::float8 as max_spend_usd, r.list_cost_micro_usd,
                  r.execution_secret_id as "execution_secret_id: SecretId", r.attempt_count,
                  r.max_attempts,
                  r.step_failures, r.provider_session_id, r.event_cursor, r.poll_interval_ms,
                  r.dispatched_at, r.work_ended_at, r.cancel_requested_at, r.pending_delete_at,
                  r.provider_doubt_at, r.trace_parent, now() as "now!",
                  s.key_id as "secret_key_id?", s.wrapped_key as "secret_wrapped_key?",
                  s.wrap_nonce as "secret_wrap_nonce?", s.ciphertext as "secret_ciphertext?",
                  s.nonce as "secret_nonce?"
           from runs r left join run_secrets s on s.id = r.execution_secret_id
           where r.id = $1 and r.lease_token = $2 and r.lease_expires_at > now()"#,
        fence.run_id as RunId,
        fence.token,
    )
    .fetch_optional(db)
    .await?
    .ok_or(DbError::LeaseLost)?;
    let sealed = match (
        row.execution_secret_id,
        row.secret_key_id,
        row.secret_wrapped_key,
        row.secret_wrap_nonce,
        row.secret_ciphertext,
        row.secret_nonce,
    ) {
        (
            Some(id),
            Some(key_id),
            Some(wrapped_key),
            Some(wrap_nonce),
            Some(ciphertext),
            Some(nonce),
        ) => Some(SealedSecret {
            id,
            key_id,
            wrapped_key,
            wrap_nonce,
            ciphertext,
            nonce,
        }),
        _ => None,
    };
    let run = RunRow {
        id: row.id,
        workspace_id: row.workspace_id,
        creator: row.creator,
        status: row.status,
        phase: row.phase,
        outcome: row.outcome,
        cleanup_policy: row.cleanup_policy,
        cleanup_state: row.cleanup_state,
        cleanup_rounds: row.cleanup_rounds,
        template_snapshot: row.template_snapshot,
        max_duration_seconds: row.max_duration_seconds,
        max_spend_usd: row.max_spend_usd,
        list_cost_micro_usd: row.list_cost_micro_usd,
        execution_secret_id: row.execution_secret_id,
        attempt_count: row.attempt_count,
        max_attempts: row.max_attempts,
        step_failures: row.step_failures,
        provider_session_id: row.provider_session_id,
        event_cursor: row.event_cursor,
        poll_interval_ms: row.poll_interval_ms,
        dispatched_at: row.dispatched_at,
        work_ended_at: row.work_ended_at,
        cancel_requested_at: row.cancel_requested_at,
        pending_delete_at: row.pending_delete_at,
        provider_doubt_at: row.provider_doubt_at,
        trace_parent: row.trace_parent,
        now: row.now,
    };
    Ok((run, sealed))
}
