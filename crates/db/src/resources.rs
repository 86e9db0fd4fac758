//! The journal of provider resources (`provider_resources`).
//!
//! A row is written as `intended`, with the deterministic name and metadata the resource will
//! carry, before the provider call that creates it; the provider id is recorded the moment the
//! call returns. A holder that finds an intended row without an id adopts the provider's match
//! by metadata instead of creating a second resource.

use antpath_types::{ResourceId, RunId, WorkspaceId};
use sqlx::{PgConnection, PgExecutor};

/// A journal row.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Its id.
    pub id: ResourceId,
    /// The run.
    pub run_id: RunId,
    /// The attempt that created it.
    pub attempt_number: i32,
    /// `environment`, `agent`, `vault`, `credential` or `session`.
    pub kind: String,
    /// Which resource of the run (`environment`, `credential:docs`, …).
    pub logical_key: String,
    /// The deterministic provider name.
    pub provider_name: String,
    /// The metadata the resource carries on the provider.
    pub provider_metadata: serde_json::Value,
    /// The provider's id, once known.
    pub provider_id: Option<String>,
    /// `intended`, `created`, `deleted`, `archived`, `retained`, `cleanup_failed`, `abandoned`.
    pub state: String,
}

/// An intended resource.
#[derive(Debug, Clone)]
pub struct Intent<'a> {
    /// The id a new row gets; the returned row carries another id if one already existed.
    pub id: ResourceId,
    /// The run.
    pub run_id: RunId,
    /// Its workspace.
    pub workspace_id: WorkspaceId,
    /// The attempt.
    pub attempt_number: i32,
    /// The kind.
    pub kind: &'a str,
    /// The logical key.
    pub logical_key: &'a str,
    /// The deterministic name.
    pub provider_name: &'a str,
    /// The metadata tags.
    pub provider_metadata: serde_json::Value,
}

/// Journals an intended resource, or returns the row already journaled under the same key.
#[tracing::instrument(skip_all, fields(run.id = %intent.run_id, resource = intent.logical_key))]
pub async fn journal(
    conn: &mut PgConnection,
    intent: &Intent<'_>,
) -> Result<Resource, sqlx::Error> {
    sqlx::query!(
        "insert into provider_resources
            (id, run_id, workspace_id, attempt_number, kind, logical_key, provider_name,
             provider_metadata)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (run_id, attempt_number, logical_key) do nothing",
        intent.id as ResourceId,
        intent.run_id as RunId,
        intent.workspace_id as WorkspaceId,
        intent.attempt_number,
        intent.kind,
        intent.logical_key,
        intent.provider_name,
        intent.provider_metadata,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_as!(
        Resource,
        r#"select id as "id: ResourceId", run_id as "run_id: RunId", attempt_number, kind,
                  logical_key, provider_name, provider_metadata, provider_id, state
           from provider_resources
           where run_id = $1 and attempt_number = $2 and logical_key = $3"#,
        intent.run_id as RunId,
        intent.attempt_number,
        intent.logical_key,
    )
    .fetch_one(&mut *conn)
    .await
}

/// Records the provider id of a journaled resource (state `created`).
#[tracing::instrument(skip_all, fields(resource.id = %id))]
pub async fn record_provider_id(
    db: impl PgExecutor<'_>,
    id: ResourceId,
    provider_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update provider_resources set provider_id = $2, state = 'created', updated_at = now()
         where id = $1 and provider_id is null",
        id as ResourceId,
        provider_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Sets a resource's state (`deleted`, `archived`, `retained`, `cleanup_failed`, `abandoned`).
#[tracing::instrument(skip_all, fields(resource.id = %id, resource.state = state))]
pub async fn set_state(
    db: impl PgExecutor<'_>,
    id: ResourceId,
    state: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update provider_resources set state = $2, updated_at = now() where id = $1",
        id as ResourceId,
        state,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Every journaled resource of a run, oldest first.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn for_run(db: impl PgExecutor<'_>, run_id: RunId) -> Result<Vec<Resource>, sqlx::Error> {
    sqlx::query_as!(
        Resource,
        r#"select id as "id: ResourceId", run_id as "run_id: RunId", attempt_number, kind,
                  logical_key, provider_name, provider_metadata, provider_id, state
           from provider_resources where run_id = $1 order by created_at, id"#,
        run_id as RunId,
    )
    .fetch_all(db)
    .await
}

/// Runs with journal rows still `intended` after `older_than_seconds` whose run is not leased
/// and still holds its secrets (needed to ask the provider): candidates for reconciliation.
#[tracing::instrument(skip_all)]
pub async fn runs_with_stale_intents(
    db: impl PgExecutor<'_>,
    older_than_seconds: f64,
    limit: i64,
) -> Result<Vec<RunId>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select distinct p.run_id as "run_id: RunId" from provider_resources p
           join runs r on r.id = p.run_id
           where p.state = 'intended' and p.provider_id is null
             and p.created_at < now() - make_interval(secs => $1::float8)
             and r.lease_token is null and r.execution_secret_id is not null
           limit $2"#,
        older_than_seconds,
        limit,
    )
    .fetch_all(db)
    .await
}
