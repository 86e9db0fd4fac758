//! Identity and token management: whoami, list, create, revoke. Token changes are
//! rate-limited and audited; a new token's value is returned once and never logged.

use antpath_db::audit::{self, AuditEntry};
use antpath_db::tokens::{self, NewToken};
use antpath_db::{token_admin, workspaces};
use antpath_types::{TokenId, UserId, WorkspaceId};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Bucket, parse_id, rate_limit};
use crate::auth::{Auth, Scope, generate_token};
use crate::error::ApiError;
use crate::extract::{JsonBody, from_body};
use crate::request_id;
use crate::state::AppState;
use crate::views::{Page, TokenView};

/// Longest token name, as the schema allows.
const MAX_TOKEN_NAME_CHARS: usize = 100;

/// `GET /v1/whoami` body.
#[derive(Debug, Serialize)]
pub struct WhoAmI {
    /// The token's workspace.
    pub workspace: WorkspaceRef,
    /// The token itself.
    pub token: TokenRef,
    /// The token's creator.
    pub user: UserRef,
}

/// A workspace reference.
#[derive(Debug, Serialize)]
pub struct WorkspaceRef {
    /// `ws_…`.
    pub id: WorkspaceId,
    /// Display name.
    pub name: String,
}

/// A token reference.
#[derive(Debug, Serialize)]
pub struct TokenRef {
    /// `tok_…`.
    pub id: TokenId,
    /// Label.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<String>,
}

/// A user reference (ids only: emails stay out of API responses and logs).
#[derive(Debug, Serialize)]
pub struct UserRef {
    /// `usr_…`.
    pub id: UserId,
}

/// `GET /v1/whoami`: any valid token may ask.
pub async fn whoami(State(state): State<AppState>, auth: Auth) -> Result<Json<WhoAmI>, ApiError> {
    let workspace = workspaces::get(&state.pool, auth.workspace_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let token_id = auth.token_id().ok_or_else(|| {
        ApiError::Forbidden("`whoami` describes an API token; this request carries none.".into())
    })?;
    let token = token_admin::get(&state.pool, auth.workspace_id, token_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    Ok(Json(WhoAmI {
        workspace: WorkspaceRef {
            id: workspace.id,
            name: workspace.name,
        },
        token: TokenRef {
            id: token.id,
            name: token.name,
            scopes: token.scopes,
        },
        user: UserRef { id: auth.user_id },
    }))
}

/// `GET /v1/tokens`.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Page<TokenView>>, ApiError> {
    auth.require(Scope::TokensManage)?;
    let rows = token_admin::list(&state.pool, auth.workspace_id).await?;
    Ok(Json(Page {
        data: rows.into_iter().map(TokenView::from).collect(),
        next_cursor: None,
    }))
}

/// `POST /v1/tokens` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateToken {
    name: String,
    scopes: Vec<String>,
}

/// A created token: the value, shown this once, and the token object.
#[derive(Debug, Serialize)]
pub struct CreatedToken {
    /// `ant_…`; store it now, it is not shown again.
    pub token: String,
    /// The token object.
    #[serde(flatten)]
    pub object: TokenView,
}

/// `POST /v1/tokens`: a new token in the caller's workspace, attributed to the caller's user,
/// with scopes no wider than the caller's own.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    auth.require(Scope::TokensManage)?;
    let request: CreateToken = from_body(body)?;
    let name = request.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_TOKEN_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_at(
            "/name",
            "The name must be 1 to 100 characters without control characters.",
        ));
    }
    let mut scopes = Vec::new();
    for (i, spelled) in request.scopes.iter().enumerate() {
        let Ok(scope) = spelled.parse::<Scope>() else {
            return Err(ApiError::invalid_at(
                &format!("/scopes/{i}"),
                format!(
                    "Unknown scope; expected one of {}.",
                    crate::auth::scope_list()
                ),
            ));
        };
        if !auth.has(scope) {
            return Err(ApiError::Forbidden(format!(
                "A token cannot be given the `{scope}` scope its creator does not hold."
            )));
        }
        if !scopes.contains(spelled) {
            scopes.push(spelled.clone());
        }
    }
    if scopes.is_empty() {
        return Err(ApiError::invalid_at(
            "/scopes",
            "At least one scope is required.",
        ));
    }
    rate_limit(&state, Bucket::TokenChanges, auth.workspace_id).await?;
    let value = generate_token(&state.token_pepper);
    let id = TokenId::new();
    let mut tx = state.pool.begin().await?;
    tokens::insert(
        &mut *tx,
        &NewToken {
            id,
            workspace_id: auth.workspace_id,
            creator: auth.user_id,
            name,
            token_hash: &value.hash,
            token_prefix: &value.prefix,
            scopes: &scopes,
        },
    )
    .await?;
    audit_token(
        &mut tx,
        &auth,
        "token.create",
        id,
        json!({ "scopes": scopes }),
    )
    .await?;
    let record = token_admin::get(&mut *tx, auth.workspace_id, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the new token is not readable"))?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: value.value.into_exposed(),
            object: record.into(),
        }),
    ))
}

/// `DELETE /v1/tokens/{id}`: revokes (idempotently); 200 with the token object.
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<TokenView>, ApiError> {
    auth.require(Scope::TokensManage)?;
    let id: TokenId = parse_id(&id, "token")?;
    rate_limit(&state, Bucket::TokenChanges, auth.workspace_id).await?;
    let mut tx = state.pool.begin().await?;
    let record = token_admin::revoke(&mut *tx, auth.workspace_id, id)
        .await?
        .ok_or(ApiError::NotFound("token"))?;
    audit_token(&mut tx, &auth, "token.revoke", id, json!({})).await?;
    tx.commit().await?;
    Ok(Json(record.into()))
}

async fn audit_token(
    tx: &mut sqlx::PgConnection,
    auth: &Auth,
    action: &str,
    token: TokenId,
    metadata: serde_json::Value,
) -> Result<(), ApiError> {
    let request_id = request_id::current();
    audit::record(
        &mut *tx,
        &AuditEntry {
            workspace_id: auth.workspace_id,
            actor_user: Some(auth.user_id),
            actor_token: auth.token_id(),
            action,
            target_type: "token",
            target_id: token.to_string(),
            request_id: Some(&request_id),
            metadata,
        },
    )
    .await?;
    Ok(())
}
