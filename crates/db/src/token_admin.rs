//! Managing API tokens through the API: listing, revoking and the cheap `last_used_at` touch.
//! Creation and the authenticating lookup live in [`crate::tokens`].

use antpath_types::{TokenId, UserId, WorkspaceId};
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// A token as the API shows it (never its hash).
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// Its id.
    pub id: TokenId,
    /// Who created it.
    pub creator: UserId,
    /// A label for people.
    pub name: String,
    /// The displayable start of the token.
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (at most a minute stale).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Every token of the workspace, newest first.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn list(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<Vec<TokenRecord>, sqlx::Error> {
    sqlx::query_as!(
        TokenRecord,
        r#"select id as "id: TokenId", creator_app_user_id as "creator: UserId", name,
                  token_prefix as prefix, scopes, created_at, last_used_at, revoked_at
           from api_tokens where workspace_id = $1
           order by created_at desc, id desc"#,
        workspace_id as WorkspaceId,
    )
    .fetch_all(db)
    .await
}

/// A token with its creator's sign-in email, for the dashboard's token list.
#[derive(Debug, Clone)]
pub struct TokenListing {
    /// The token.
    pub token: TokenRecord,
    /// Its creator's email (shown to the workspace's members only, never logged).
    pub creator_email: String,
}

/// Every token of the workspace with its creator's email, newest first.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn list_with_creators(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<Vec<TokenListing>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select t.id as "id: TokenId", t.creator_app_user_id as "creator: UserId", t.name,
                  t.token_prefix as prefix, t.scopes, t.created_at, t.last_used_at,
                  t.revoked_at, u.email
           from api_tokens t join app_users u on u.id = t.creator_app_user_id
           where t.workspace_id = $1
           order by t.created_at desc, t.id desc"#,
        workspace_id as WorkspaceId,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TokenListing {
            token: TokenRecord {
                id: r.id,
                creator: r.creator,
                name: r.name,
                prefix: r.prefix,
                scopes: r.scopes,
                created_at: r.created_at,
                last_used_at: r.last_used_at,
                revoked_at: r.revoked_at,
            },
            creator_email: r.email,
        })
        .collect())
}

/// One token of the workspace.
#[tracing::instrument(skip_all, fields(token.id = %id))]
pub async fn get(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    id: TokenId,
) -> Result<Option<TokenRecord>, sqlx::Error> {
    sqlx::query_as!(
        TokenRecord,
        r#"select id as "id: TokenId", creator_app_user_id as "creator: UserId", name,
                  token_prefix as prefix, scopes, created_at, last_used_at, revoked_at
           from api_tokens where id = $1 and workspace_id = $2"#,
        id as TokenId,
        workspace_id as WorkspaceId,
    )
    .fetch_optional(db)
    .await
}

/// Revokes a token of the workspace; revoking twice keeps the first time. Returns the token,
/// or `None` when the workspace has no such token.
#[tracing::instrument(skip_all, fields(token.id = %id))]
pub async fn revoke(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
    id: TokenId,
) -> Result<Option<TokenRecord>, sqlx::Error> {
    sqlx::query_as!(
        TokenRecord,
        r#"update api_tokens set revoked_at = coalesce(revoked_at, now())
           where id = $1 and workspace_id = $2
           returning id as "id: TokenId", creator_app_user_id as "creator: UserId", name,
                     token_prefix as prefix, scopes, created_at, last_used_at, revoked_at"#,
        id as TokenId,
        workspace_id as WorkspaceId,
    )
    .fetch_optional(db)
    .await
}

/// Sets `last_used_at` to now unless it was set less than a minute ago, so a busy token costs
/// one write a minute, not one per request.
#[tracing::instrument(skip_all, fields(token.id = %id))]
pub async fn touch_last_used(db: impl PgExecutor<'_>, id: TokenId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update api_tokens set last_used_at = now()
         where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')",
        id as TokenId,
    )
    .execute(db)
    .await?;
    Ok(())
}
