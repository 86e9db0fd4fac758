//! API tokens, stored only as a keyed hash.

use antpath_types::{Role, TokenId, UserId, WorkspaceId};
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// A new token row. The caller computes `token_hash` with the server pepper.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    /// Its id.
    pub id: TokenId,
    /// The workspace it acts in.
    pub workspace_id: WorkspaceId,
    /// Who created it; runs it submits are attributed to this user.
    pub creator: UserId,
    /// A label for people.
    pub name: &'a str,
    /// HMAC-SHA256 of the token under the pepper (32 bytes).
    pub token_hash: &'a [u8],
    /// The id of the pepper that made `token_hash` (the active one).
    pub pepper_id: &'a str,
    /// The displayable start of the token.
    pub token_prefix: &'a str,
    /// Granted scopes.
    pub scopes: &'a [String],
}

/// What authenticating with a token yields.
#[derive(Debug, Clone)]
pub struct TokenIdentity {
    /// The token's id.
    pub id: TokenId,
    /// The workspace derived from the token.
    pub workspace_id: WorkspaceId,
    /// The attributed user.
    pub creator: UserId,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The creator's current role in the token's workspace.
    pub role: Role,
    /// When it was last seen, to decide whether to refresh `last_used_at`.
    pub last_used_at: Option<DateTime<Utc>>,
    /// The stored hash that matched.
    pub token_hash: Vec<u8>,
    /// The pepper that made it: the caller checks that it is the pepper of the matching
    /// hash, and re-hashes the token when it is not the active one.
    pub pepper_id: String,
}

/// Stores a token's hash.
#[tracing::instrument(skip_all, fields(token.id = %token.id))]
pub async fn insert(db: impl PgExecutor<'_>, token: &NewToken<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into api_tokens
            (id, workspace_id, creator_app_user_id, name, token_hash, token_prefix, scopes,
             pepper_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        token.id as TokenId,
        token.workspace_id as WorkspaceId,
        token.creator as UserId,
        token.name,
        token.token_hash,
        token.token_prefix,
        token.scopes,
        token.pepper_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Finds a live (not revoked, not expired) token by its hash, in an active workspace (or one
/// whose deletion is under way, so its owner can follow the progress) with an enabled creator.
/// The creator must still be an active member of the workspace: a token stops working the
/// moment its creator is disabled or leaves. One indexed lookup plus two primary-key joins. A
/// deleted workspace's tokens are revoked when its deletion completes.
///
/// `token_hashes` are the presented token's hashes under each configured pepper (pepper
/// rotation): one indexed lookup per hash, in one query.
#[tracing::instrument(skip_all)]
pub async fn find_active_by_hashes(
    db: impl PgExecutor<'_>,
    token_hashes: &[Vec<u8>],
) -> Result<Option<TokenIdentity>, sqlx::Error> {
    sqlx::query_as!(
        TokenIdentity,
        r#"select t.id as "id: TokenId", t.workspace_id as "workspace_id: WorkspaceId",
                  t.creator_app_user_id as "creator: UserId", t.scopes, m.role as "role: Role", t.last_used_at,
                  t.token_hash, t.pepper_id
           from api_tokens t
           join workspaces w on w.id = t.workspace_id
           join app_users u on u.id = t.creator_app_user_id
           join workspace_memberships m
             on m.workspace_id = t.workspace_id and m.app_user_id = t.creator_app_user_id
                and m.status = 'active'
           where t.token_hash = any($1)
             and t.revoked_at is null
             and (t.expires_at is null or t.expires_at > now())
             and w.status in ('active', 'pending_delete')
             and u.disabled_at is null
           limit 1"#,
        token_hashes,
    )
    .fetch_optional(db)
    .await
}

/// Replaces a token's hash made under an old pepper with its hash under the active pepper.
/// Only a live token still under `old_pepper_id` changes, so two replicas re-hashing the same
/// token at once write it once.
#[tracing::instrument(skip_all, fields(token.id = %id))]
pub async fn rehash(
    db: impl PgExecutor<'_>,
    id: TokenId,
    old_pepper_id: &str,
    token_hash: &[u8],
    pepper_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update api_tokens set token_hash = $3, pepper_id = $4
         where id = $1 and pepper_id = $2 and revoked_at is null",
        id as TokenId,
        old_pepper_id,
        token_hash,
        pepper_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// How many live rows (tokens or sessions) a pepper id's hashes belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PepperUse {
    /// The pepper id.
    pub pepper_id: String,
    /// Live rows hashed under it.
    pub rows: i64,
}

/// Live (unrevoked, unexpired) tokens per pepper id.
#[tracing::instrument(skip_all)]
pub async fn live_by_pepper(db: impl PgExecutor<'_>) -> Result<Vec<PepperUse>, sqlx::Error> {
    sqlx::query_as!(
        PepperUse,
        r#"select pepper_id, count(*) as "rows!" from api_tokens
           where revoked_at is null and (expires_at is null or expires_at > now())
           group by pepper_id order by pepper_id"#
    )
    .fetch_all(db)
    .await
}

/// Whether the token still authenticates: not revoked, not expired, its workspace not gone.
/// What an open stream re-checks, so a revoked token stops streaming too.
#[tracing::instrument(skip_all, fields(token.id = %id))]
pub async fn is_live(db: impl PgExecutor<'_>, id: TokenId) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (
             select 1 from api_tokens t join workspaces w on w.id = t.workspace_id
             where t.id = $1 and t.revoked_at is null
               and (t.expires_at is null or t.expires_at > now())
               and w.status in ('active', 'pending_delete')
           ) as "live!""#,
        id as TokenId,
    )
    .fetch_one(db)
    .await
}
