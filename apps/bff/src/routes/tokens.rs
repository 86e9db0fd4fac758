//! Identity and token management: whoami, list, create, revoke. Token changes are
//! rate-limited and audited; a new token's value is returned once and never logged.

use antpath_db::{token_admin, workspaces};
use antpath_types::{TokenId, UserId, WorkspaceId};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::parse_id;
use crate::actions::tokens::TokenRequest;
use crate::actions::{self, Actor};
use crate::auth::{Auth, Scope};
use crate::error::ApiError;
use crate::extract::{JsonBody, from_body};
use crate::state::AppState;
use crate::views::{Page, TokenView};

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
    let created = actions::tokens::create(
        &state,
        Actor::from(&auth),
        &TokenRequest {
            name: &request.name,
            scopes: &request.scopes,
        },
        |scope| auth.has(scope),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: created.value.into_exposed(),
            object: created.record.into(),
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
    let record = actions::tokens::revoke(&state, Actor::from(&auth), id).await?;
    Ok(Json(record.into()))
}
