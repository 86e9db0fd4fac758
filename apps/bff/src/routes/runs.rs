//! Reading and acting on runs: list, get, cancel, delete. Every query is scoped to the token's
//! workspace; another workspace's run is a 404 exactly like a missing one.

use antpath_db::run_reads::{self, RunFilter};
use antpath_types::{RunId, RunStatus};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use serde::Deserialize;

use super::parse_id;
use crate::actions::{self, Actor};
use crate::auth::{Auth, Scope};
use crate::error::ApiError;
use crate::extract::query;
use crate::state::AppState;
use crate::views::{Page, RunView, decode_run_cursor, encode_run_cursor};

/// Largest page a client may ask for.
pub(crate) const MAX_PAGE: i64 = 100;
/// Page size when none is asked for.
const DEFAULT_PAGE: i64 = 20;

/// `GET /v1/runs` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Checks `?limit=` against 1–100.
pub(crate) fn page_size(limit: Option<i64>, default: i64) -> Result<i64, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid_at(
            "?limit",
            "The limit must be between 1 and 100.",
        )),
    }
}

/// `GET /v1/runs`: newest first, cursor-paginated, optionally filtered by status.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    uri: Uri,
) -> Result<Json<Page<RunView>>, ApiError> {
    auth.require(Scope::RunsRead)?;
    let params: ListQuery = query(&uri)?;
    let limit = page_size(params.limit, DEFAULT_PAGE)?;
    let status = params
        .status
        .as_deref()
        .map(|s| {
            s.parse::<RunStatus>()
                .map_err(|_| ApiError::invalid_at("?status", "Unknown run status."))
        })
        .transpose()?;
    let after = params
        .cursor
        .as_deref()
        .map(decode_run_cursor)
        .transpose()?;
    // One extra row tells whether another page exists.
    let filter = RunFilter {
        status,
        template_name: None,
    };
    let mut rows =
        run_reads::list(&state.pool, auth.workspace_id, filter, after, limit + 1).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(encode_run_cursor)
    } else {
        None
    };
    Ok(Json(Page {
        data: rows.into_iter().map(RunView::from).collect(),
        next_cursor,
    }))
}

/// `GET /v1/runs/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    auth.require(Scope::RunsRead)?;
    let id: RunId = parse_id(&id, "run")?;
    let run = run_reads::get(&state.pool, auth.workspace_id, id)
        .await?
        .ok_or(ApiError::NotFound("run"))?;
    Ok(Json(run.into()))
}

/// `POST /v1/runs/{id}/cancel`: 202 when a cancel was recorded on an active run, 200 for a
/// terminal run (nothing to do). Idempotent.
pub async fn cancel(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    auth.require(Scope::RunsWrite)?;
    let id: RunId = parse_id(&id, "run")?;
    let cancelled = actions::runs::cancel(&state, Actor::from(&auth), id).await?;
    let status = if cancelled.recorded {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(cancelled.run.into())))
}

/// `DELETE /v1/runs/{id}`: soft delete (202); an active run is also cancel-requested.
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    auth.require(Scope::RunsWrite)?;
    let id: RunId = parse_id(&id, "run")?;
    let run = actions::runs::delete(&state, Actor::from(&auth), id).await?;
    Ok((StatusCode::ACCEPTED, Json(run.into())))
}
