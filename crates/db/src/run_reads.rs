//! Tenant-scoped reads of runs for the API: one run, a page of runs, active-run counts and the
//! idempotency lookup. Every query names the workspace, so another tenant's run is simply absent.

use antpath_types::{
    ClaudeSessionCleanup, CleanupState, ErrorClass, Phase, RunId, RunStatus, TokenId, WorkspaceId,
};
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// Everything the API shows about a run (never the template snapshot, never secrets).
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Its id.
    pub id: RunId,
    /// Where its work is, then its outcome.
    pub status: RunStatus,
    /// The worker's next step.
    pub phase: Phase,
    /// How its cleanup stands.
    pub cleanup_state: CleanupState,
    /// Cleanup rounds so far.
    pub cleanup_rounds: i32,
    /// The last cleanup round's failure class.
    pub cleanup_error_class: Option<ErrorClass>,
    /// The last cleanup round's scrubbed failure message.
    pub cleanup_error_message: Option<String>,
    /// Provider resources left behind when cleanup gave up: `[{"kind", "id"}]`.
    pub abandoned_resources: serde_json::Value,
    /// Whether provider resources are deleted or kept.
    pub cleanup_policy: ClaudeSessionCleanup,
    /// The current provider attempt (0 before the first).
    pub attempt_count: i32,
    /// The most provider attempts the run may take.
    pub max_attempts: i32,
    /// The template's name.
    pub template_name: String,
    /// `sha256:…` of the template.
    pub template_hash: String,
    /// `sha256:…` of the non-secret request.
    pub request_hash: String,
    /// The client's idempotency key.
    pub idempotency_key: Option<String>,
    /// Why it failed, if it did.
    pub error_class: Option<String>,
    /// The scrubbed failure message.
    pub error_message: Option<String>,
    /// Input tokens used.
    pub input_tokens: i64,
    /// Output tokens used.
    pub output_tokens: i64,
    /// Cache-read tokens used.
    pub cache_read_tokens: i64,
    /// Cache-creation tokens used.
    pub cache_creation_tokens: i64,
    /// List cost the provider reported, in micro-dollars; `None` until it does.
    pub list_cost_micro_usd: Option<i64>,
    /// Seconds the provider session had a thread running; `None` until reported.
    pub active_seconds: Option<f64>,
    /// Snapshotted duration cap.
    pub max_duration_seconds: i32,
    /// Snapshotted spend budget.
    pub max_spend_usd: Option<f64>,
    /// When it was accepted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the prompt was sent.
    pub dispatched_at: Option<DateTime<Utc>>,
    /// When execution ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// When a cancel was requested.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// When a delete was requested.
    pub pending_delete_at: Option<DateTime<Utc>>,
}

/// One run of the workspace, or `None` (also for another workspace's run).
#[tracing::instrument(skip_all, fields(run.id = %id))]
pub async fn get(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    id: RunId,
) -> Result<Option<RunRecord>, sqlx::Error> {
    let mut found = read(db, &[(workspace_id, id)], false).await?;
    Ok(found.pop())
}

/// [`get`] that returns only once every commit made before the call is durable: the bff's
/// answer to a submission, whose admission committed without waiting for its flush.
#[tracing::instrument(skip_all, fields(run.id = %id))]
pub async fn get_once_durable(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    id: RunId,
) -> Result<Option<RunRecord>, sqlx::Error> {
    let mut found = read(db, &[(workspace_id, id)], true).await?;
    Ok(found.pop())
}

/// The runs named by (workspace, run) pairs that exist, in no particular order, returned only
/// once every commit made before the call is durable: one round trip for the answers to a
/// group of admissions (`crate::admission::admit_many`).
#[tracing::instrument(skip_all, fields(runs = wanted.len()))]
pub async fn get_many_durable(
    db: impl PgExecutor<'_>,
    wanted: &[(WorkspaceId, RunId)],
) -> Result<Vec<RunRecord>, sqlx::Error> {
    read(db, wanted, true).await
}

/// The read of [`get`]; with `durable`, the statement also writes one WAL record (a
/// transactional logical-decoding message that nothing consumes), so its commit waits for a
/// flush, and WAL is flushed in order. A run is found only in the workspace it is named with.
async fn read(
    db: impl PgExecutor<'_>,
    wanted: &[(WorkspaceId, RunId)],
    durable: bool,
) -> Result<Vec<RunRecord>, sqlx::Error> {
    let workspaces: Vec<Uuid> = wanted.iter().map(|(w, _)| w.as_uuid()).collect();
    let ids: Vec<Uuid> = wanted.iter().map(|(_, r)| r.as_uuid()).collect();
    sqlx::query_as!(
        RunRecord,
        r#"select id as "id: RunId", status as "status: RunStatus", phase as "phase: Phase",
                  cleanup_state as "cleanup_state: CleanupState", cleanup_rounds,
                  cleanup_error_class as "cleanup_error_class: ErrorClass",
                  cleanup_error_message,
                  (select coalesce(jsonb_agg(jsonb_build_object('kind', p.kind, 'id', p.provider_id)
                                             order by p.created_at), '[]'::jsonb)
                   from provider_resources p
                   where p.run_id = runs.id and p.state = 'abandoned') as "abandoned_resources!",
                  cleanup_policy as "cleanup_policy: ClaudeSessionCleanup",
                  attempt_count, max_attempts, template_name, template_hash, request_hash, idempotency_key, error_class,
                  error_message, input_tokens, output_tokens, cache_read_tokens,
                  cache_creation_tokens, list_cost_micro_usd, active_seconds,
                  max_duration_seconds, max_spend_usd::float8 as max_spend_usd, created_at, updated_at, dispatched_at,
                  ended_at, cancel_requested_at, pending_delete_at
           from runs
           join unnest($1::uuid[], $2::uuid[]) as wanted(workspace_id, id)
             using (workspace_id, id)
           where (not $3 or (select pg_logical_emit_message(true, 'antpath.durable', '')) is not null)"#,
        &workspaces as &[Uuid],
        &ids as &[Uuid],
        durable,
    )
    .fetch_all(db)
    .await
}

/// Where a page of runs starts: strictly after (older than) this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCursor {
    /// The last seen run's creation time.
    pub created_at: DateTime<Utc>,
    /// The last seen run's id, breaking ties.
    pub id: RunId,
}

/// Which runs a list shows; `None` means any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunFilter<'a> {
    /// Only runs of this status.
    pub status: Option<RunStatus>,
    /// Only runs of the template of this name (exactly).
    pub template_name: Option<&'a str>,
}

/// A page of the workspace's runs, newest first, as `filter` says. Uses the
/// `runs_workspace_recent` index.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn list(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    filter: RunFilter<'_>,
    after: Option<RunCursor>,
    limit: i64,
) -> Result<Vec<RunRecord>, sqlx::Error> {
    sqlx::query_as!(
        RunRecord,
        r#"select id as "id: RunId", status as "status: RunStatus", phase as "phase: Phase",
                  cleanup_state as "cleanup_state: CleanupState", cleanup_rounds,
                  cleanup_error_class as "cleanup_error_class: ErrorClass",
                  cleanup_error_message,
                  (select coalesce(jsonb_agg(jsonb_build_object('kind', p.kind, 'id', p.provider_id)
                                             order by p.created_at), '[]'::jsonb)
                   from provider_resources p
                   where p.run_id = runs.id and p.state = 'abandoned') as "abandoned_resources!",
                  cleanup_policy as "cleanup_policy: ClaudeSessionCleanup",
                  attempt_count, max_attempts, template_name, template_hash, request_hash, idempotency_key, error_class,
                  error_message, input_tokens, output_tokens, cache_read_tokens,
                  cache_creation_tokens, list_cost_micro_usd, active_seconds,
                  max_duration_seconds, max_spend_usd::float8 as max_spend_usd, created_at, updated_at, dispatched_at,
                  ended_at, cancel_requested_at, pending_delete_at
           from runs
           where workspace_id = $1
             and ($2::text is null or status = $2)
             and ($3::timestamptz is null or (created_at, id) < ($3, $4::uuid))
             and ($6::text is null or template_name = $6)
           order by created_at desc, id desc
           limit $5"#,
        workspace_id as WorkspaceId,
        filter.status.map(RunStatus::as_str),
        after.map(|c| c.created_at),
        after.map(|c| c.id.as_uuid()),
        limit,
        filter.template_name,
    )
    .fetch_all(db)
    .await
}

/// Active runs of the workspace and of the token, for the submission quotas, each counted only
/// up to its cap (the caller only needs to know whether the cap is reached), so the cost stays
/// bounded however many runs are queued. Both counts use the partial `runs_active_by_*` indexes.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn count_active(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    token_id: TokenId,
    workspace_cap: i64,
    token_cap: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"select
             (select count(*) from (select 1 from runs where workspace_id = $1
                and status not in ('succeeded', 'failed', 'timed_out', 'cancelled',
                                   'pending_delete', 'deleted')
                limit $3) w) as "workspace!",
             (select count(*) from (select 1 from runs where api_token_id = $2
                and status not in ('succeeded', 'failed', 'timed_out', 'cancelled',
                                   'pending_delete', 'deleted')
                limit $4) t) as "token!""#,
        workspace_id as WorkspaceId,
        token_id as TokenId,
        workspace_cap,
        token_cap,
    )
    .fetch_one(db)
    .await?;
    Ok((row.workspace, row.token))
}

/// The run an idempotency key already names in the workspace, with its request hash.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn find_by_idempotency_key(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    key: &str,
) -> Result<Option<(RunId, String)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select id as "id: RunId", request_hash from runs
           where workspace_id = $1 and idempotency_key = $2"#,
        workspace_id as WorkspaceId,
        key,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.id, r.request_hash)))
}
