//! Runs: submission with idempotency, and tenant-scoped reads.

use antpath_types::{
    ClaudeSessionCleanup, RunId, RunStatus, SecretId, TokenId, UserId, WorkspaceId,
};
use sqlx::{PgConnection, PgPool};

use crate::DbError;

/// The encrypted secrets bundle of a new run, as the vault crate seals it.
#[derive(Debug, Clone)]
pub struct SealedSecret {
    /// Its id (what `runs.execution_secret_id` points at).
    pub id: SecretId,
    /// The id of the configured key that wrapped the data key.
    pub key_id: String,
    /// The data key, sealed under that key.
    pub wrapped_key: Vec<u8>,
    /// The nonce of the key wrap.
    pub wrap_nonce: Vec<u8>,
    /// The bundle, sealed under the data key.
    pub ciphertext: Vec<u8>,
    /// The nonce of the bundle seal.
    pub nonce: Vec<u8>,
}

impl SealedSecret {
    /// The row for a bundle the vault sealed, under a new id.
    pub fn new(id: SecretId, sealed: antpath_vault::Sealed) -> Self {
        Self {
            id,
            key_id: sealed.key_id,
            wrapped_key: sealed.wrapped_key,
            wrap_nonce: sealed.wrap_nonce,
            ciphertext: sealed.ciphertext,
            nonce: sealed.nonce,
        }
    }

    /// The stored bundle, in the form the vault opens.
    pub fn into_sealed(self) -> antpath_vault::Sealed {
        antpath_vault::Sealed {
            key_id: self.key_id,
            wrapped_key: self.wrapped_key,
            wrap_nonce: self.wrap_nonce,
            ciphertext: self.ciphertext,
            nonce: self.nonce,
        }
    }
}

/// A run as accepted by the bff, before it is inserted.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Its id, chosen before insert (it is the associated data of the sealed secret).
    pub id: RunId,
    /// The workspace derived from the token.
    pub workspace_id: WorkspaceId,
    /// The token's creator.
    pub creator: UserId,
    /// The token used.
    pub api_token_id: Option<TokenId>,
    /// The template's name.
    pub template_name: String,
    /// The validated secret-free template.
    pub template_snapshot: serde_json::Value,
    /// `sha256:…` of the template's canonical form.
    pub template_hash: String,
    /// The client's idempotency key, if any.
    pub idempotency_key: Option<String>,
    /// Hash of the canonical non-secret request.
    pub request_hash: String,
    /// `delete` or `retain`.
    pub cleanup_policy: ClaudeSessionCleanup,
    /// The run's duration limit in seconds; [`admit`] clamps it to the workspace's plan cap
    /// (`i32::MAX` when the run sets none, so the plan decides).
    pub max_duration_seconds: i32,
    /// Snapshotted spend budget.
    pub max_spend_usd: Option<f64>,
    /// Snapshotted attempt limit.
    pub max_attempts: i32,
}

/// The outcome of [`admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// A new run was created.
    Created(RunId),
    /// The idempotency key already named a run from the same request.
    Existing(RunId),
    /// The workspace already has this many active runs, its cap.
    OverWorkspaceCap(i32),
    /// The token already has this many active runs, its cap.
    OverTokenCap(i32),
    /// The submission asked explicitly for a longer run than the plan's cap, in seconds.
    DurationOverCap(i32),
    /// The workspace is not active (deleting, suspended or gone).
    WorkspaceInactive,
    /// The submission rate limit's bucket was empty; nothing was written. Ask again after
    /// this long.
    RateLimited(std::time::Duration),
}

/// The rate-limit bucket a submission spends one token from, in its admitting statement.
#[derive(Debug, Clone, Copy)]
pub struct SubmitBucket<'a> {
    /// The bucket's name (`submit:<workspace>`).
    pub key: &'a str,
    /// Its capacity and refill.
    pub spec: crate::rate_limits::BucketSpec,
}

/// Admits a run in one autocommitted statement: spends a token of the submission rate limit
/// (`bucket`; refused: [`Admitted::RateLimited`], nothing else done), takes the workspace's
/// submission lock, counts
/// the active runs of its workspace and token after the lock is granted
/// (`lock_workspace_and_count_active`, migration `…000180`), and inserts the run with its
/// sealed secrets only when both are under the workspace's caps and `explicit_duration` (the
/// duration the submission itself asked for, if any) is within the plan's; the run's duration
/// is clamped to the plan's cap. The caps are exact: every
/// admission of a workspace sees the runs admitted before it. The lock is held for this
/// statement and its commit only, never across a round trip.
///
/// The commit does not wait for its WAL flush (`synchronous_commit` is off for this
/// transaction alone), so the lock is released as soon as the commit is recorded and the
/// admissions of one workspace are no longer spaced by a disk flush each. The run is visible
/// before it is durable: read it back with [`crate::run_reads::get_once_durable`] (which waits
/// for the flush) before telling anyone it exists. Everything that acts on the run commits
/// durably itself (a worker's claim, a cancel), which flushes this commit first, so nothing
/// can come of a run that a crash then loses.
///
/// Returns [`Admitted::Existing`] when the idempotency key already names a run from the same
/// request (even at a cap: a replay is not a new run), and [`DbError::IdempotencyConflict`]
/// when it names a different request. Nothing is written unless the run is created.
/// Concurrent submissions with the same key serialise on the unique index: exactly one insert
/// wins and the others see its row. `trace_parent` is the submission's W3C trace context (ids
/// only), which the worker's step spans continue.
#[tracing::instrument(skip_all, fields(run.id = %run.id, workspace.id = %run.workspace_id))]
pub async fn admit(
    db: &PgPool,
    run: &NewRun,
    secret: &SealedSecret,
    bucket: SubmitBucket<'_>,
    explicit_duration: Option<i32>,
    trace_parent: Option<&str>,
) -> Result<Admitted, DbError> {
    // The secrets row is inserted from the inserted run, so a skipped insert (a cap or a
    // duplicate key) leaves no orphaned bundle; the two foreign keys between the rows are
    // checked at the end of the statement, when both exist.
    let row = sqlx::query!(
        r#"with bucket as materialized (
             select rate_limit_reserve($22, $23, $24, 1, 0) as tokens_left,
                    set_config('synchronous_commit', 'off', true) as commits_without_flush
           ),
           active as materialized (
             select * from lock_workspace_and_count_active($2, $4)
             where (select tokens_left from bucket) is not null
           ),
           run as (
             insert into runs
               (id, workspace_id, creator_app_user_id, api_token_id, template_name,
                template_snapshot, template_hash, idempotency_key, request_hash, cleanup_policy,
                max_duration_seconds, max_spend_usd, max_attempts, execution_secret_id,
                trace_parent)
             select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                    least($11, active.max_run_duration_seconds), $12::float8::numeric, $13,
                    $14, $15
             from active
             where active.workspace_active < active.max_active_runs
               and active.token_active < active.max_active_runs_per_token
               and ($21::int4 is null or $21 <= active.max_run_duration_seconds)
             on conflict (workspace_id, idempotency_key) where idempotency_key is not null
             do nothing
             returning id
           ),
           secret as (
             insert into run_secrets
               (id, run_id, key_id, wrapped_key, wrap_nonce, ciphertext, nonce)
             select $14, run.id, $16, $17, $18, $19, $20 from run
           )
           select bucket.tokens_left is not null as "took_token!",
                  active.workspace_active as "workspace_active?",
                  active.max_active_runs as "max_active_runs?",
                  active.max_active_runs_per_token as "max_active_runs_per_token?",
                  active.max_run_duration_seconds as "max_run_duration_seconds?",
                  (select id from run) as "created: RunId"
           from bucket left join active on true"#,
        run.id as RunId,
        run.workspace_id as WorkspaceId,
        run.creator as UserId,
        run.api_token_id as Option<TokenId>,
        run.template_name,
        run.template_snapshot,
        run.template_hash,
        run.idempotency_key,
        run.request_hash,
        run.cleanup_policy as ClaudeSessionCleanup,
        run.max_duration_seconds,
        run.max_spend_usd,
        run.max_attempts,
        secret.id as SecretId,
        trace_parent,
        secret.key_id,
        secret.wrapped_key,
        secret.wrap_nonce,
        secret.ciphertext,
        secret.nonce,
        explicit_duration,
        bucket.key,
        bucket.spec.capacity,
        bucket.spec.refill_per_second,
    )
    .fetch_one(db)
    .await?;
    if !row.took_token {
        let wait =
            crate::rate_limits::time_until_available(db, bucket.key, bucket.spec, 1.0).await?;
        return Ok(Admitted::RateLimited(wait));
    }
    let (
        Some(workspace_active),
        Some(max_active_runs),
        Some(max_active_runs_per_token),
        Some(max_run_duration_seconds),
    ) = (
        row.workspace_active,
        row.max_active_runs,
        row.max_active_runs_per_token,
        row.max_run_duration_seconds,
    )
    else {
        return Ok(Admitted::WorkspaceInactive);
    };
    if let Some(id) = row.created {
        return Ok(Admitted::Created(id));
    }
    // Not inserted: a duplicate key (checked first, as a replay wins over a cap) or a cap.
    if let Some(key) = &run.idempotency_key
        && let Some((existing, hash)) =
            crate::run_reads::find_by_idempotency_key(db, run.workspace_id, key).await?
    {
        return if hash == run.request_hash {
            Ok(Admitted::Existing(existing))
        } else {
            Err(DbError::IdempotencyConflict)
        };
    }
    if explicit_duration.is_some_and(|asked| asked > max_run_duration_seconds) {
        return Ok(Admitted::DurationOverCap(max_run_duration_seconds));
    }
    Ok(if workspace_active >= i64::from(max_active_runs) {
        Admitted::OverWorkspaceCap(max_active_runs)
    } else {
        Admitted::OverTokenCap(max_active_runs_per_token)
    })
}

/// The outcome of [`insert_idempotent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// A new run was created.
    Created(RunId),
    /// The idempotency key already named a run from the same request.
    Existing(RunId),
}

/// Inserts a run and its sealed secrets in the caller's transaction, with no quota and no
/// workspace lock: for fixtures, benches and tools that place runs directly (the bff admits
/// through [`admit`]). If the idempotency key is taken, returns the existing run when the request hash matches and
/// [`DbError::IdempotencyConflict`] otherwise. In both of those cases the new secrets row is
/// removed again, so committing the transaction never leaves an orphaned bundle behind.
///
/// Concurrent submissions with the same key serialise on the unique index: exactly one insert
/// wins and the others see its row.
#[tracing::instrument(skip_all, fields(run.id = %run.id, workspace.id = %run.workspace_id))]
pub async fn insert_idempotent(
    tx: &mut PgConnection,
    run: &NewRun,
    secret: &SealedSecret,
) -> Result<Inserted, DbError> {
    sqlx::query!(
        "insert into run_secrets (id, run_id, key_id, wrapped_key, wrap_nonce, ciphertext, nonce)
         values ($1, $2, $3, $4, $5, $6, $7)",
        secret.id as SecretId,
        run.id as RunId,
        secret.key_id,
        secret.wrapped_key,
        secret.wrap_nonce,
        secret.ciphertext,
        secret.nonce,
    )
    .execute(&mut *tx)
    .await?;

    let inserted = sqlx::query_scalar!(
        r#"insert into runs
            (id, workspace_id, creator_app_user_id, api_token_id, template_name,
             template_snapshot, template_hash, idempotency_key, request_hash, cleanup_policy,
             max_duration_seconds, max_spend_usd, max_attempts, execution_secret_id)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::float8::numeric, $13, $14)
           on conflict (workspace_id, idempotency_key) where idempotency_key is not null
           do nothing
           returning id as "id: RunId""#,
        run.id as RunId,
        run.workspace_id as WorkspaceId,
        run.creator as UserId,
        run.api_token_id as Option<TokenId>,
        run.template_name,
        run.template_snapshot,
        run.template_hash,
        run.idempotency_key,
        run.request_hash,
        run.cleanup_policy as ClaudeSessionCleanup,
        run.max_duration_seconds,
        run.max_spend_usd,
        run.max_attempts,
        secret.id as SecretId,
    )
    .fetch_optional(&mut *tx)
    .await?;

    if let Some(id) = inserted {
        // This path is not the bff's: it wakes the workers when its transaction commits.
        notify_due(&mut *tx, id).await?;
        return Ok(Inserted::Created(id));
    }
    sqlx::query!(
        "delete from run_secrets where id = $1",
        secret.id as SecretId
    )
    .execute(&mut *tx)
    .await?;
    let existing = sqlx::query!(
        r#"select id as "id: RunId", request_hash from runs
           where workspace_id = $1 and idempotency_key = $2"#,
        run.workspace_id as WorkspaceId,
        run.idempotency_key,
    )
    .fetch_one(&mut *tx)
    .await?;
    if existing.request_hash == run.request_hash {
        Ok(Inserted::Existing(existing.id))
    } else {
        Err(DbError::IdempotencyConflict)
    }
}

/// The workers' wake-up channel (`LISTEN antpath_runs`); a notification's payload is a run id
/// or empty, and only wakes a claimer, which then claims whatever is due.
pub const WAKE_CHANNEL: &str = "antpath_runs";

/// Wakes idle workers: one `pg_notify` on [`WAKE_CHANNEL`], sent by the bff after submissions
/// have committed, in a transaction of its own that writes nothing (see migration `…210`: a
/// notifying transaction holds a cluster-wide lock until its commit is durable, so the
/// submission's own transaction must not notify).
pub async fn wake_workers(db: impl sqlx::PgExecutor<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!("select from pg_notify($1, '')", WAKE_CHANNEL)
        .execute(db)
        .await?;
    Ok(())
}

/// Queues a wake-up for `run` in the caller's transaction (sent when it commits).
async fn notify_due(tx: &mut PgConnection, run: RunId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select from pg_notify($1, $2)",
        WAKE_CHANNEL,
        run.as_uuid().to_string()
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Reads a run's status within a workspace; another workspace's run is `None`.
#[tracing::instrument(skip_all, fields(run.id = %id))]
pub async fn status_in_workspace(
    db: impl sqlx::PgExecutor<'_>,
    workspace_id: WorkspaceId,
    id: RunId,
) -> Result<Option<RunStatus>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select status as "status: RunStatus" from runs where id = $1 and workspace_id = $2"#,
        id as RunId,
        workspace_id as WorkspaceId,
    )
    .fetch_optional(db)
    .await
}
