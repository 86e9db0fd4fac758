//! Application users and their workspace memberships.

use antpath_types::{Role, UserId, WorkspaceId};
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

/// Adds a user to a workspace with a role, or gives an existing (or removed) member that role.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id, user.id = %user_id))]
pub async fn add_membership(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    user_id: UserId,
    role: Role,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into workspace_memberships (workspace_id, app_user_id, role) values ($1, $2, $3)
         on conflict (workspace_id, app_user_id) do update set role = excluded.role, status = 'active'",
        workspace_id as WorkspaceId,
        user_id as UserId,
        role as Role,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What sign-in needs to know of an email's user.
#[derive(Debug, Clone)]
pub struct SignInRecord {
    /// The user.
    pub id: UserId,
    /// The argon2id PHC string, if the user has a password.
    pub password_hash: Option<String>,
    /// Whether the user is disabled.
    pub disabled: bool,
    /// The current session version.
    pub token_version: i32,
}

/// Finds a user by email, regardless of case.
#[tracing::instrument(skip_all)]
pub async fn find_for_sign_in(
    db: impl PgExecutor<'_>,
    email: &str,
) -> Result<Option<SignInRecord>, sqlx::Error> {
    sqlx::query_as!(
        SignInRecord,
        r#"select id as "id: UserId", password_hash, disabled_at is not null as "disabled!",
                  token_version
           from app_users where lower(email) = lower($1)"#,
        email,
    )
    .fetch_optional(db)
    .await
}

/// Finds a user's id by email, regardless of case.
#[tracing::instrument(skip_all)]
pub async fn find_id_by_email(
    db: impl PgExecutor<'_>,
    email: &str,
) -> Result<Option<UserId>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select id as "id: UserId" from app_users where lower(email) = lower($1)"#,
        email,
    )
    .fetch_optional(db)
    .await
}

/// Disables a user and ends every dashboard session of theirs (by bumping `token_version`);
/// their API tokens stop authenticating because the token lookup requires an enabled creator.
/// Returns whether the user exists.
#[tracing::instrument(skip_all, fields(user.id = %id))]
pub async fn disable(db: impl PgExecutor<'_>, id: UserId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update app_users
         set disabled_at = coalesce(disabled_at, now()), token_version = token_version + 1,
             updated_at = now()
         where id = $1",
        id as UserId,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One workspace a user is an active member of.
#[derive(Debug, Clone)]
pub struct MembershipRecord {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Its name.
    pub name: String,
    /// The user's role in it.
    pub role: Role,
}

/// The workspaces a user may see (active memberships of live workspaces), oldest first.
#[tracing::instrument(skip_all, fields(user.id = %user_id))]
pub async fn memberships(
    db: impl PgExecutor<'_>,
    user_id: UserId,
) -> Result<Vec<MembershipRecord>, sqlx::Error> {
    sqlx::query_as!(
        MembershipRecord,
        r#"select m.workspace_id as "workspace_id: WorkspaceId", w.name, m.role as "role: Role"
           from workspace_memberships m
           join workspaces w on w.id = m.workspace_id
           where m.app_user_id = $1 and m.status = 'active'
             and w.status in ('active', 'pending_delete')
           order by m.created_at, m.workspace_id"#,
        user_id as UserId,
    )
    .fetch_all(db)
    .await
}
