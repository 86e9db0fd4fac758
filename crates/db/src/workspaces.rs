//! Workspaces: the tenant boundary and its plan caps.

use antpath_types::WorkspaceId;
use sqlx::PgExecutor;

/// The plan caps of a workspace, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanCaps {
    /// Runs that may be active at once in the workspace.
    pub max_active_runs: i32,
    /// Runs that may be active at once per API token.
    pub max_active_runs_per_token: i32,
    /// Upper bound on a run's duration.
    pub max_run_duration_seconds: i32,
    /// Bytes of captured outputs the workspace may hold.
    pub storage_cap_bytes: i64,
}

/// A workspace row.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Its id.
    pub id: WorkspaceId,
    /// Display name.
    pub name: String,
    /// `active`, `suspended`, `pending_delete` or `deleted`.
    pub status: String,
    /// Plan caps.
    pub caps: PlanCaps,
    /// Bytes of outputs stored now.
    pub storage_used_bytes: i64,
}

/// Creates a workspace.
#[tracing::instrument(skip_all, fields(workspace.id = %id))]
pub async fn insert(
    db: impl PgExecutor<'_>,
    id: WorkspaceId,
    name: &str,
    caps: PlanCaps,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into workspaces
            (id, name, max_active_runs, max_active_runs_per_token, max_run_duration_seconds,
             storage_cap_bytes)
         values ($1, $2, $3, $4, $5, $6)",
        id as WorkspaceId,
        name,
        caps.max_active_runs,
        caps.max_active_runs_per_token,
        caps.max_run_duration_seconds,
        caps.storage_cap_bytes,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Loads a workspace.
#[tracing::instrument(skip_all, fields(workspace.id = %id))]
pub async fn get(
    db: impl PgExecutor<'_>,
    id: WorkspaceId,
) -> Result<Option<Workspace>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select id as "id: WorkspaceId", name, status, max_active_runs, max_active_runs_per_token,
                  max_run_duration_seconds, storage_cap_bytes, storage_used_bytes
           from workspaces where id = $1"#,
        id as WorkspaceId,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Workspace {
        id: r.id,
        name: r.name,
        status: r.status,
        caps: PlanCaps {
            max_active_runs: r.max_active_runs,
            max_active_runs_per_token: r.max_active_runs_per_token,
            max_run_duration_seconds: r.max_run_duration_seconds,
            storage_cap_bytes: r.storage_cap_bytes,
        },
        storage_used_bytes: r.storage_used_bytes,
    }))
}
