//! The journal of provider resources (`provider_resources`).
//!
//! A row is written as `intended`, with the deterministic name and metadata the resource will
//! carry, before the provider call that creates it; the provider id is recorded the moment the
//! call returns. A holder that finds an intended row without an id adopts the provider's match
//! by metadata instead of creating a second resource.

use antpath_types::{ResourceId, ResourceKind, ResourceState, RunId, WorkspaceId};
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
    /// What it is.
    pub kind: ResourceKind,
    /// Which resource of the run (`environment`, `credential:docs`, …).
    pub logical_key: String,
    /// The deterministic provider name.
    pub provider_name: String,
    /// The metadata the resource carries on the provider.
    pub provider_metadata: serde_json::Value,
    /// The provider's id, once known.
    pub provider_id: Option<String>,
    /// Where it stands.
    pub state: ResourceState,
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
    pub kind: ResourceKind,
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
        intent.kind as ResourceKind,
        intent.logical_key,
        intent.provider_name,
        intent.provider_metadata,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_as!(
        Resource,
        r#"select id as "id: ResourceId", run_id as "run_id: RunId", attempt_number,
                  kind as "kind: ResourceKind", logical_key, provider_name, provider_metadata,
                  provider_id, state as "state: ResourceState"
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
    let provider_id = crate::storable::text(provider_id);
    sqlx::query!(
        "update provider_resources set provider_id = $2, state = 'created', updated_at = now()
         where id = $1 and provider_id is null",
        id as ResourceId,
        provider_id.as_ref(),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Sets a resource's state.
#[tracing::instrument(skip_all, fields(resource.id = %id, resource.state = %state))]
pub async fn set_state(
    db: impl PgExecutor<'_>,
    id: ResourceId,
    state: ResourceState,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update provider_resources set state = $2, updated_at = now() where id = $1",
        id as ResourceId,
        state as ResourceState,
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
        r#"select id as "id: ResourceId", run_id as "run_id: RunId", attempt_number,
                  kind as "kind: ResourceKind", logical_key, provider_name, provider_metadata,
                  provider_id, state as "state: ResourceState"
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

/// A provider resource the leak scan found carrying this run's metadata.
#[derive(Debug, Clone)]
pub struct Found<'a> {
    /// The run.
    pub run_id: RunId,
    /// Its workspace.
    pub workspace_id: WorkspaceId,
    /// The attempt its metadata names (1 if it names none).
    pub attempt_number: i32,
    /// What it is.
    pub kind: ResourceKind,
    /// The provider's id.
    pub provider_id: &'a str,
    /// The provider's name for it.
    pub provider_name: &'a str,
    /// Its provider metadata.
    pub provider_metadata: serde_json::Value,
}

/// Journals a resource the leak scan found without a journal row of its own (state `created`,
/// `found_by_scan`), so cleanup removes it and the run shows it. Returns the row, or `None` if
/// the provider id was already journaled.
#[tracing::instrument(skip_all, fields(run.id = %found.run_id, resource.kind = %found.kind))]
pub async fn record_found(
    db: impl PgExecutor<'_>,
    found: &Found<'_>,
) -> Result<Option<ResourceId>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into provider_resources
               (id, run_id, workspace_id, attempt_number, kind, logical_key, provider_name,
                provider_metadata, provider_id, state, found_by_scan)
           select $1, $2, $3, $4, $5, 'found:' || $6, $7, $8, $6, 'created', true
           where not exists (select 1 from provider_resources
                             where run_id = $2 and provider_id = $6)
           on conflict (run_id, attempt_number, logical_key) do nothing
           returning id as "id: ResourceId""#,
        ResourceId::new() as ResourceId,
        found.run_id as RunId,
        found.workspace_id as WorkspaceId,
        found.attempt_number,
        found.kind as ResourceKind,
        found.provider_id,
        found.provider_name,
        found.provider_metadata,
    )
    .fetch_optional(db)
    .await
}

/// Marks every unsettled resource of a run `abandoned` (cleanup gave up on them) and returns
/// them.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn abandon_unsettled(
    db: impl PgExecutor<'_>,
    run_id: RunId,
) -> Result<Vec<(ResourceKind, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"update provider_resources set state = 'abandoned', updated_at = now()
           where run_id = $1 and provider_id is not null
             and state in ('intended', 'created', 'cleanup_failed')
           returning kind as "kind: ResourceKind", provider_id as "provider_id!""#,
        run_id as RunId,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.kind, r.provider_id)).collect())
}
