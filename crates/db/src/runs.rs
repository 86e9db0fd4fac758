//! Runs: submission with idempotency, and tenant-scoped reads.

use antpath_types::{
    ClaudeSessionCleanup, RunId, RunStatus, SecretId, TokenId, UserId, WorkspaceId,
};
use sqlx::PgConnection;

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
    /// The run's duration limit in seconds; [`crate::admission::admit_many`] clamps it to the workspace's plan cap
    /// (`i32::MAX` when the run sets none, so the plan decides).
    pub max_duration_seconds: i32,
    /// Snapshotted spend budget.
    pub max_spend_usd: Option<f64>,
    /// Snapshotted attempt limit.
    pub max_attempts: i32,
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
/// through [`crate::admission::admit_many`]). If the idempotency key is taken, returns the existing run when the request hash matches and
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
