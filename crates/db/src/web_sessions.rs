//! Dashboard sign-in sessions, stored only as a keyed hash of the cookie's value.
//!
//! A session is found by its hash together with its user, and only while it is valid: not
//! revoked, before its absolute expiry, seen within the idle window, its user enabled and its
//! `token_version` equal to the user's (bumping the user's version ends every session at once).

use antpath_types::{UserId, WorkspaceId};
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// A new session row.
#[derive(Debug, Clone)]
pub struct NewWebSession<'a> {
    /// Its id.
    pub id: Uuid,
    /// The signed-in user.
    pub user_id: UserId,
    /// HMAC-SHA256 of the cookie's value under the server pepper (32 bytes).
    pub session_hash: &'a [u8],
    /// The id of the pepper that made `session_hash` (the active one at sign-in); the
    /// session's CSRF token is derived under the same pepper.
    pub pepper_id: &'a str,
    /// The user's `token_version` at sign-in.
    pub token_version: i32,
    /// The absolute expiry.
    pub expires_at: DateTime<Utc>,
}

/// A valid session and who it belongs to.
#[derive(Debug, Clone)]
pub struct WebSessionRecord {
    /// The session's id.
    pub id: Uuid,
    /// The signed-in user.
    pub user_id: UserId,
    /// The user's email, for the page header (never logged).
    pub email: String,
    /// The workspace the session is looking at, if one was picked.
    pub workspace_id: Option<WorkspaceId>,
    /// When the session was last seen, to decide whether to refresh it.
    pub last_seen_at: DateTime<Utc>,
    /// The stored hash that matched.
    pub session_hash: Vec<u8>,
    /// The pepper that made it, which also derives the session's CSRF token.
    pub pepper_id: String,
}

/// Stores a new session.
#[tracing::instrument(skip_all, fields(user.id = %session.user_id))]
pub async fn insert(
    db: impl PgExecutor<'_>,
    session: &NewWebSession<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into web_sessions
            (id, app_user_id, session_hash, token_version, expires_at, pepper_id)
         values ($1, $2, $3, $4, $5, $6)",
        session.id,
        session.user_id as UserId,
        session.session_hash,
        session.token_version,
        session.expires_at,
        session.pepper_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Finds a valid session by its hash; `idle_seconds` is the idle window. `session_hashes` are
/// the cookie's hashes under each configured pepper: one indexed lookup each, in one query.
#[tracing::instrument(skip_all)]
pub async fn find_valid(
    db: impl PgExecutor<'_>,
    session_hashes: &[Vec<u8>],
    idle_seconds: i64,
) -> Result<Option<WebSessionRecord>, sqlx::Error> {
    sqlx::query_as!(
        WebSessionRecord,
        r#"select s.id, s.app_user_id as "user_id: UserId", u.email,
                  s.workspace_id as "workspace_id: WorkspaceId", s.last_seen_at,
                  s.session_hash, s.pepper_id
           from web_sessions s
           join app_users u on u.id = s.app_user_id
           where s.session_hash = any($1)
             and s.revoked_at is null
             and s.expires_at > now()
             and s.last_seen_at > now() - make_interval(secs => $2)
             and u.disabled_at is null
             and u.token_version = s.token_version
           limit 1"#,
        session_hashes,
        idle_seconds as f64,
    )
    .fetch_optional(db)
    .await
}

/// Marks a session as seen now, which moves its idle expiry.
#[tracing::instrument(skip_all)]
pub async fn touch(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update web_sessions set last_seen_at = now() where id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Points a session at one of its user's workspaces.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn set_workspace(
    db: impl PgExecutor<'_>,
    id: Uuid,
    workspace_id: WorkspaceId,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update web_sessions set workspace_id = $2 where id = $1",
        id,
        workspace_id as WorkspaceId,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Ends one session (sign-out).
#[tracing::instrument(skip_all)]
pub async fn revoke(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update web_sessions set revoked_at = now() where id = $1 and revoked_at is null",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Live (unrevoked, unexpired) sessions per pepper id.
#[tracing::instrument(skip_all)]
pub async fn live_by_pepper(
    db: impl PgExecutor<'_>,
) -> Result<Vec<crate::tokens::PepperUse>, sqlx::Error> {
    sqlx::query_as!(
        crate::tokens::PepperUse,
        r#"select pepper_id, count(*) as "rows!" from web_sessions
           where revoked_at is null and expires_at > now()
           group by pepper_id order by pepper_id"#
    )
    .fetch_all(db)
    .await
}
