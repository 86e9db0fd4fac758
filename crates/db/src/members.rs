//! Who belongs to a workspace, for the dashboard: listing members, adding an existing user,
//! changing a role, removing a member (its row stays, `status = 'removed'`).
//!
//! A workspace always keeps at least one active owner. Every change that could take the last
//! one away first locks the workspace row, so two concurrent demotions of the last two owners
//! are decided one after the other and the second is refused.

use antpath_types::{Role, UserId, WorkspaceId};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

/// An active member of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The user.
    pub user_id: UserId,
    /// Their sign-in email (shown to the workspace's members only, never logged).
    pub email: String,
    /// Their role.
    pub role: Role,
    /// When they joined (or last rejoined).
    pub since: DateTime<Utc>,
}

/// The active members of a workspace, owners first, then by email.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn list(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as!(
        Member,
        r#"select m.app_user_id as "user_id: UserId", u.email, m.role as "role: Role",
                  m.created_at as since
           from workspace_memberships m join app_users u on u.id = m.app_user_id
           where m.workspace_id = $1 and m.status = 'active'
           order by array_position(array['owner', 'admin', 'member', 'viewer'], m.role),
                    lower(u.email)"#,
        workspace_id as WorkspaceId,
    )
    .fetch_all(db)
    .await
}

/// A user's role in a workspace, if they are an active member.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id, user.id = %user_id))]
pub async fn role_of(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> Result<Option<Role>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select role as "role: Role" from workspace_memberships
           where workspace_id = $1 and app_user_id = $2 and status = 'active'"#,
        workspace_id as WorkspaceId,
        user_id as UserId,
    )
    .fetch_optional(db)
    .await
}

/// What a membership change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Done.
    Done,
    /// The user is not an active member (only for removals).
    NotMember,
    /// Refused: it would leave the workspace without an active owner.
    LastOwner,
}

/// Locks the workspace row (see the module docs) and tells whether `user_id` is its only
/// active owner.
async fn lock_and_check_last_owner(
    tx: &mut PgConnection,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> Result<bool, sqlx::Error> {
    sqlx::query!(
        "select id from workspaces where id = $1 for update",
        workspace_id as WorkspaceId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let row = sqlx::query!(
        r#"select count(*) filter (where role = 'owner') as "owners!",
                  bool_or(app_user_id = $2 and role = 'owner') as "is_owner!"
           from workspace_memberships
           where workspace_id = $1 and status = 'active'"#,
        workspace_id as WorkspaceId,
        user_id as UserId,
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(row.is_owner && row.owners == 1)
}

/// Makes `user_id` an active member with `role`: adds them, brings back a removed member, or
/// changes a member's role. Refuses to demote the last active owner. Run it in a transaction
/// (the workspace row stays locked until it ends).
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id, user.id = %user_id))]
pub async fn set_role(
    tx: &mut PgConnection,
    workspace_id: WorkspaceId,
    user_id: UserId,
    role: Role,
) -> Result<Change, sqlx::Error> {
    if role != Role::Owner && lock_and_check_last_owner(tx, workspace_id, user_id).await? {
        return Ok(Change::LastOwner);
    }
    sqlx::query!(
        "insert into workspace_memberships (workspace_id, app_user_id, role) values ($1, $2, $3)
         on conflict (workspace_id, app_user_id)
         do update set role = excluded.role, status = 'active'",
        workspace_id as WorkspaceId,
        user_id as UserId,
        role as Role,
    )
    .execute(&mut *tx)
    .await?;
    Ok(Change::Done)
}

/// Removes an active member (`status = 'removed'`). Refuses to remove the last active owner.
/// Run it in a transaction.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id, user.id = %user_id))]
pub async fn remove(
    tx: &mut PgConnection,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> Result<Change, sqlx::Error> {
    if lock_and_check_last_owner(tx, workspace_id, user_id).await? {
        return Ok(Change::LastOwner);
    }
    let done = sqlx::query!(
        "update workspace_memberships set status = 'removed'
         where workspace_id = $1 and app_user_id = $2 and status = 'active'",
        workspace_id as WorkspaceId,
        user_id as UserId,
    )
    .execute(&mut *tx)
    .await?;
    Ok(if done.rows_affected() == 1 {
        Change::Done
    } else {
        Change::NotMember
    })
}
