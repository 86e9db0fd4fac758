//! What a run produced: event metadata, outputs with capture failures, and signed download
//! links. The links are bearer capabilities: they are returned once and never logged, stored
//! or audited.

use antpath_db::run_outputs;
use antpath_types::{OutputId, RunId};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::Uri;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::parse_id;
use super::runs::page_size;
use crate::actions::{self, Actor};
use crate::auth::{Auth, Scope};
use crate::error::ApiError;
use crate::extract::query;
use crate::state::AppState;
use crate::views::{CaptureFailureView, EventView, OutputView, Page, cursor_number};

/// Events per page when none is asked for.
const DEFAULT_EVENT_PAGE: i64 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /v1/runs/{id}/events`: oldest first; the cursor is the last `seq` seen.
pub async fn events(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Json<Page<EventView>>, ApiError> {
    auth.require(Scope::RunsRead)?;
    let run: RunId = parse_id(&id, "run")?;
    let params: EventsQuery = query(&uri)?;
    let limit = page_size(params.limit, DEFAULT_EVENT_PAGE)?;
    let after = params
        .cursor
        .as_deref()
        .map(|c| {
            cursor_number(c)
                .ok_or_else(|| ApiError::invalid_at("?cursor", "This cursor is not one we issued."))
        })
        .transpose()?;
    ensure_run(&state, &auth, run).await?;
    let mut rows =
        run_outputs::list_events(&state.pool, auth.workspace_id, run, after, limit + 1).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    Ok(Json(Page {
        data: rows.into_iter().map(EventView::from).collect(),
        next_cursor,
    }))
}

/// The body of `GET /v1/runs/{id}/outputs`.
#[derive(Debug, Serialize)]
pub struct OutputsBody {
    /// Captured outputs.
    pub outputs: Vec<OutputView>,
    /// Files that could not be captured.
    pub capture_failures: Vec<CaptureFailureView>,
}

/// `GET /v1/runs/{id}/outputs`.
pub async fn outputs(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<OutputsBody>, ApiError> {
    auth.require(Scope::RunsRead)?;
    let run: RunId = parse_id(&id, "run")?;
    ensure_run(&state, &auth, run).await?;
    let outputs = run_outputs::list_outputs(&state.pool, auth.workspace_id, run).await?;
    let failures = run_outputs::list_capture_failures(&state.pool, auth.workspace_id, run).await?;
    Ok(Json(OutputsBody {
        outputs: outputs.into_iter().map(OutputView::from).collect(),
        capture_failures: failures.into_iter().map(CaptureFailureView::from).collect(),
    }))
}

/// The body of a created link.
#[derive(Debug, Serialize)]
pub struct LinkBody {
    /// The signed URL; a bearer capability until it expires.
    pub url: String,
    /// When it stops working.
    pub expires_at: chrono::DateTime<Utc>,
}

/// `POST /v1/runs/{id}/outputs/{output_id}/link`.
pub async fn link(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, output_id)): Path<(String, String)>,
) -> Result<Json<LinkBody>, ApiError> {
    auth.require(Scope::RunsWrite)?;
    let run: RunId = parse_id(&id, "run")?;
    let output_id: OutputId = parse_id(&output_id, "output")?;
    let link = actions::runs::sign_output_link(&state, Actor::from(&auth), run, output_id).await?;
    Ok(Json(LinkBody {
        url: link.url,
        expires_at: link.expires_at,
    }))
}

/// 404 unless the run exists in the caller's workspace.
async fn ensure_run(state: &AppState, auth: &Auth, run: RunId) -> Result<(), ApiError> {
    antpath_db::runs::status_in_workspace(&state.pool, auth.workspace_id, run)
        .await?
        .map(|_| ())
        .ok_or(ApiError::NotFound("run"))
}
