//! Application users and their workspace memberships.

use antpath_types::{UserId, WorkspaceId};
use sqlx::PgExecutor;

/// Creates a user. `password_hash` is an argon2id PHC string or `None`.
#[tracing::instrument(skip_all, fields(user.id = %id))]
pub async fn insert(
    db: impl PgExecutor<'_>,
    id: UserId,
    email: &str,
    password_hash: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into app_users (id, email, password_hash) values ($1, $2, $3)",
        id as UserId,
        email,
        password_hash,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Adds a user to a workspace with a role (`owner`, `admin`, `member`, `viewer`).
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id, user.id = %user_id))]
pub async fn add_membership(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    user_id: UserId,
    role: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into workspace_memberships (workspace_id, app_user_id, role) values ($1, $2, $3)
         on conflict (workspace_id, app_user_id) do update set role = excluded.role, status = 'active'",
        workspace_id as WorkspaceId,
        user_id as UserId,
        role,
    )
    .execute(db)
    .await?;
    Ok(())
}
