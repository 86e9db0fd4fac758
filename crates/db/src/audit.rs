//! The security audit trail: who did what to which object. Safe identifiers, action names and
//! non-secret metadata only; never a key, a token, a prompt, an output or a signed URL.

use antpath_types::{TokenId, UserId, WorkspaceId};
use sqlx::PgExecutor;

/// One audit row.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// The workspace acted in.
    pub workspace_id: WorkspaceId,
    /// The acting user.
    pub actor_user: Option<UserId>,
    /// The acting API token.
    pub actor_token: Option<TokenId>,
    /// What was done (`run.cancel`, `token.create`, …).
    pub action: &'a str,
    /// The kind of object acted on (`run`, `token`, `output`).
    pub target_type: &'a str,
    /// The object's prefixed id.
    pub target_id: String,
    /// The request id, to join with logs.
    pub request_id: Option<&'a str>,
    /// Non-secret details.
    pub metadata: serde_json::Value,
}

/// Appends one row.
#[tracing::instrument(skip_all, fields(audit.action = entry.action))]
pub async fn record(db: impl PgExecutor<'_>, entry: &AuditEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into audit_logs
            (workspace_id, actor_app_user_id, actor_token_id, action, target_type, target_id,
             request_id, metadata)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        entry.workspace_id as WorkspaceId,
        entry.actor_user as Option<UserId>,
        entry.actor_token as Option<TokenId>,
        entry.action,
        entry.target_type,
        entry.target_id,
        entry.request_id,
        entry.metadata,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The actions recorded in a workspace, newest first (for tests and support).
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn actions(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select action, target_id from audit_logs where workspace_id = $1
         order by created_at desc, id desc",
        workspace_id as WorkspaceId,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.action, r.target_id)).collect())
}

/// A sign-in event: outside any workspace, attributed to the user when one was found.
#[derive(Debug, Clone)]
pub struct AccountEvent<'a> {
    /// The user signing in or out, when known (never the email).
    pub user: Option<UserId>,
    /// `session.sign_in`, `session.sign_in_failed` or `session.sign_out`.
    pub action: &'a str,
    /// The request id, to join with logs.
    pub request_id: Option<&'a str>,
    /// Non-secret details (a failure's reason).
    pub metadata: serde_json::Value,
}

/// Appends one account event (no workspace).
#[tracing::instrument(skip_all, fields(audit.action = event.action))]
pub async fn record_account_event(
    db: impl PgExecutor<'_>,
    event: &AccountEvent<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into audit_logs (actor_app_user_id, action, target_type, target_id, request_id,
                                 metadata)
         values ($1, $2, 'user', $3, $4, $5)",
        event.user as Option<UserId>,
        event.action,
        event.user.map(|id| id.to_string()),
        event.request_id,
        event.metadata,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The account events of a user, newest first (for tests and support).
#[tracing::instrument(skip_all, fields(user.id = %user))]
pub async fn account_events(
    db: impl PgExecutor<'_>,
    user: UserId,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select action from audit_logs where actor_app_user_id = $1 and workspace_id is null
         order by created_at desc, id desc",
        user as UserId,
    )
    .fetch_all(db)
    .await
}
