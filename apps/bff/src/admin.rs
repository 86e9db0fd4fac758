//! Bootstrap commands: create a workspace, a user (with an optional argon2id password), a
//! membership, an API token; disable a user. They print ids in their prefixed wire form; `create-token` prints the token once.
//! And the operator's `delete-workspace`, which asks for what `DELETE /v1/workspace` asks for.

use antpath_config::{ConfigError, Limits, Settings};
use antpath_db::PgPool;
use antpath_db::tokens::NewToken;
use antpath_db::workspaces::PlanCaps;
use antpath_redact::Secret;
use antpath_types::{Role, TokenId, UserId, WorkspaceId};
use anyhow::{Context as _, bail};

use crate::auth::{Scope, generate_token, scope_list};
use crate::password;
use crate::pepper::Peppers;
use crate::routes::workspace::{self, WorkspaceView};

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
    /// A workspace to join, and the role there.
    pub membership: Option<(WorkspaceId, Role)>,
    /// A password to hash with argon2id, if the user signs in with one.
    pub password: Option<Secret<String>>,
}

/// Creates a user, and their membership when one is named, in one transaction.
pub async fn create_user(pool: &PgPool, user: NewUser<'_>) -> anyhow::Result<UserId> {
    let hash = match user.password {
        Some(password) if password.expose_secret().is_empty() => bail!("the password is empty"),
        Some(password) => Some(password::hash(password).await?),
        None => None,
    };
    let id = UserId::new();
    let mut tx = pool.begin().await?;
    antpath_db::users::insert(&mut *tx, id, user.email, hash.as_deref())
        .await
        .context("while creating the user (is the email already taken?)")?;
    if let Some((workspace, role)) = user.membership {
        antpath_db::users::add_membership(&mut *tx, workspace, id, role)
            .await
            .context("while adding the membership (does the workspace exist?)")?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Adds the user with `email` to a workspace with `role`, or changes their role there.
pub async fn add_member(
    pool: &PgPool,
    workspace: WorkspaceId,
    email: &str,
    role: Role,
) -> anyhow::Result<UserId> {
    let user = antpath_db::users::find_id_by_email(pool, email)
        .await?
        .context("there is no user with that email")?;
    antpath_db::users::add_membership(pool, workspace, user, role)
        .await
        .context("while adding the membership (does the workspace exist?)")?;
    Ok(user)
}

/// Disables the user with `email`: their sessions end and their tokens stop working at once.
pub async fn disable_user(pool: &PgPool, email: &str) -> anyhow::Result<UserId> {
    let user = antpath_db::users::find_id_by_email(pool, email)
        .await?
        .context("there is no user with that email")?;
    antpath_db::users::disable(pool, user).await?;
    Ok(user)
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
    peppers: &Peppers,
    token: NewApiToken<'_>,
) -> anyhow::Result<(TokenId, Secret<String>)> {
    if token.scopes.is_empty() {
        bail!("at least one scope is required");
    }
    if let Some(bad) = token.scopes.iter().find(|s| s.parse::<Scope>().is_err()) {
        bail!("unknown scope `{bad}`; expected {}", scope_list());
    }
    let value = generate_token(peppers.active());
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
            pepper_id: peppers.active_id(),
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

/// The peppers `create-token` and `rotate-pepper` need, or a configuration error naming every
/// problem with them.
pub fn require_peppers(settings: &Settings) -> Result<Peppers, ConfigError> {
    let problems = settings.pepper_problems();
    if !problems.is_empty() {
        return Err(ConfigError { problems });
    }
    Peppers::from_settings(settings).map_err(|err| ConfigError {
        problems: vec![format!("{err:#}")],
    })
}
