//! Bootstrap commands: create a workspace, a user (with an optional argon2id password) and an
//! API token. They print ids in their prefixed wire form; `create-token` prints the token once.
//! And the operator's `delete-workspace`, which asks for what `DELETE /v1/workspace` asks for.

use antpath_config::{ConfigError, Limits, Settings};
use antpath_db::PgPool;
use antpath_db::tokens::NewToken;
use antpath_db::workspaces::PlanCaps;
use antpath_redact::Secret;
use antpath_types::{TokenId, UserId, WorkspaceId};
use anyhow::{Context as _, bail};
use argon2::password_hash::{PasswordHasher as _, SaltString};

use crate::auth::{Scope, generate_token};
use crate::routes::workspace::{self, WorkspaceView};

/// Shortest accepted pepper, as the config crate requires for the bff.
const MIN_PEPPER_BYTES: usize = 32;

/// The workspace roles the schema allows.
pub const ROLES: [&str; 4] = ["owner", "admin", "member", "viewer"];

/// Creates a workspace with the plan caps from `limits`.
pub async fn create_workspace(
    pool: &PgPool,
    limits: &Limits,
    name: &str,
) -> anyhow::Result<WorkspaceId> {
    let id = WorkspaceId::new();
    let caps = PlanCaps {
        max_active_runs: i32::try_from(limits.max_active_runs_per_workspace)?,
        max_active_runs_per_token: i32::try_from(limits.max_active_runs_per_token)?,
        max_run_duration_seconds: i32::try_from(limits.max_run_duration_seconds)?,
        storage_cap_bytes: i64::try_from(limits.workspace_storage_cap_bytes)?,
    };
    antpath_db::workspaces::insert(pool, id, name, caps)
        .await
        .context("while creating the workspace")?;
    Ok(id)
}

/// What `create-user` needs.
#[derive(Debug)]
pub struct NewUser<'a> {
    /// Sign-in email (never logged).
    pub email: &'a str,
    /// The workspace to join.
    pub workspace: WorkspaceId,
    /// One of [`ROLES`].
    pub role: &'a str,
    /// A password to hash with argon2id, if the user signs in with one.
    pub password: Option<Secret<String>>,
}

/// Creates a user and its membership in one transaction.
pub async fn create_user(pool: &PgPool, user: NewUser<'_>) -> anyhow::Result<UserId> {
    if !ROLES.contains(&user.role) {
        bail!("the role must be one of {}", ROLES.join(", "));
    }
    let hash = match user.password {
        Some(password) => Some(hash_password(password).await?),
        None => None,
    };
    let id = UserId::new();
    let mut tx = pool.begin().await?;
    antpath_db::users::insert(&mut *tx, id, user.email, hash.as_deref())
        .await
        .context("while creating the user (is the email already taken?)")?;
    antpath_db::users::add_membership(&mut *tx, user.workspace, id, user.role)
        .await
        .context("while adding the membership (does the workspace exist?)")?;
    tx.commit().await?;
    Ok(id)
}

/// argon2id with the crate's default parameters, on the blocking pool: it is deliberately slow.
pub async fn hash_password(password: Secret<String>) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2::Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|_| anyhow::anyhow!("the password could not be hashed"))
    })
    .await
    .context("while hashing the password")?
}

/// What `create-token` needs.
#[derive(Debug)]
pub struct NewApiToken<'a> {
    /// The workspace it acts in.
    pub workspace: WorkspaceId,
    /// Its creator.
    pub user: UserId,
    /// A label.
    pub name: &'a str,
    /// Scopes, each one of [`Scope::ALL`].
    pub scopes: Vec<String>,
}

/// Creates a token; returns its id and its value (shown once).
pub async fn create_token(
    pool: &PgPool,
    pepper: &Secret<String>,
    token: NewApiToken<'_>,
) -> anyhow::Result<(TokenId, Secret<String>)> {
    if token.scopes.is_empty() {
        bail!("at least one scope is required");
    }
    if let Some(bad) = token
        .scopes
        .iter()
        .find(|s| !Scope::ALL.contains(&s.as_str()))
    {
        bail!("unknown scope `{bad}`; expected {}", Scope::ALL.join(", "));
    }
    let value = generate_token(pepper);
    let id = TokenId::new();
    antpath_db::tokens::insert(
        pool,
        &NewToken {
            id,
            workspace_id: token.workspace,
            creator: token.user,
            name: token.name,
            token_hash: &value.hash,
            token_prefix: &value.prefix,
            scopes: &token.scopes,
        },
    )
    .await
    .context("while creating the token (do the workspace and user exist?)")?;
    Ok((id, value.value))
}

/// Asks for a workspace's deletion as an operator (audited with no actor) and returns the
/// workspace with its deletion's progress. Asking again changes nothing, so running it again
/// shows how far the sweeper got.
pub async fn delete_workspace(pool: &PgPool, id: WorkspaceId) -> anyhow::Result<WorkspaceView> {
    workspace::request_deletion(
        pool,
        id,
        antpath_db::workspace_deletion::Requester::Operator,
    )
    .await
    .context("while requesting the workspace's deletion")?
    .with_context(|| format!("there is no workspace {id}"))
}

/// The pepper `create-token` needs, or a configuration error naming it.
pub fn require_pepper(settings: &Settings) -> Result<Secret<String>, ConfigError> {
    match &settings.bff.token_pepper {
        Some(pepper) if pepper.expose_secret().len() >= MIN_PEPPER_BYTES => Ok(pepper.clone()),
        _ => Err(ConfigError {
            problems: vec![format!(
                "ANTPATH_BFF__TOKEN_PEPPER is required (at least {MIN_PEPPER_BYTES} random bytes) to create tokens"
            )],
        }),
    }
}
