//! The token's workspace: `GET /v1/workspace` (any valid token) and `DELETE /v1/workspace`
//! (its owner only), plus the refusal a submission meets while the workspace is being deleted.
//!
//! A deletion is recorded here and carried out by the sweeper
//! ([`antpath_db::workspace_deletion`], [`antpath_db::workspace_purge`]): the workspace's
//! tokens keep working until it completes, so the owner can follow the progress, and answer 401
//! after.

use antpath_db::PgPool;
use antpath_db::workspace_deletion::{self, Overview, Requested, Requester};
use antpath_types::WorkspaceId;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;

use super::{Bucket, rate_limit};
use crate::auth::{Auth, Scope};
use crate::error::ApiError;
use crate::request_id;
use crate::state::AppState;

/// The workspace object.
#[derive(Debug, Serialize)]
pub struct WorkspaceView {
    /// `ws_…`.
    pub id: WorkspaceId,
    /// Always `workspace`.
    pub object: &'static str,
    /// Display name.
    pub name: String,
    /// `active`, `suspended`, `pending_delete` (a deletion is under way) or `deleted`.
    pub status: String,
    /// The plan and its caps.
    pub plan: PlanView,
    /// Stored outputs against the cap.
    pub storage: StorageView,
    /// Runs a worker is still working on, their cleanup included.
    pub active_runs: i64,
    /// The deletion, once one was asked for.
    pub deletion: Option<DeletionView>,
}

/// A workspace's plan.
#[derive(Debug, Serialize)]
pub struct PlanView {
    /// The plan's name.
    pub name: String,
    /// Runs that may be active at once in the workspace.
    pub max_active_runs: i32,
    /// Runs that may be active at once per token.
    pub max_active_runs_per_token: i32,
    /// Longest run, in seconds.
    pub max_run_duration_seconds: i32,
}

/// A workspace's storage use.
#[derive(Debug, Serialize)]
pub struct StorageView {
    /// Bytes of outputs stored.
    pub used_bytes: i64,
    /// Bytes the workspace may store.
    pub cap_bytes: i64,
}

/// A deletion under way (or done).
#[derive(Debug, Serialize)]
pub struct DeletionView {
    /// `requested`, `draining`, `purging` or `deleted`.
    pub state: &'static str,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// When the sweeper began waiting for the runs to finish.
    pub draining_at: Option<DateTime<Utc>>,
    /// When it began removing objects and runs.
    pub purging_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// What is left.
    pub progress: ProgressView,
}

/// What is left of a deleting workspace.
#[derive(Debug, Serialize)]
pub struct ProgressView {
    /// Runs not purged yet.
    pub runs_remaining: i64,
    /// Of those, runs still being cancelled or cleaned up.
    pub runs_cleaning_up: i64,
    /// Stored outputs not yet removed.
    pub objects_remaining: i64,
    /// Their bytes.
    pub bytes_remaining: i64,
}

/// The workspace as the API shows it, with its deletion's progress; `None` if it is unknown.
pub async fn load_view(
    db: &mut PgConnection,
    workspace: WorkspaceId,
) -> Result<Option<WorkspaceView>, sqlx::Error> {
    let Some(overview) = workspace_deletion::overview(&mut *db, workspace).await? else {
        return Ok(None);
    };
    let progress = match &overview.deletion {
        Some(_) => Some(workspace_deletion::progress(&mut *db, workspace).await?),
        None => None,
    };
    Ok(Some(view(overview, progress)))
}

fn view(overview: Overview, progress: Option<workspace_deletion::Progress>) -> WorkspaceView {
    let deletion = overview.deletion.zip(progress).map(|(d, p)| DeletionView {
        state: d.state.as_str(),
        requested_at: d.requested_at,
        draining_at: d.draining_at,
        purging_at: d.purging_at,
        completed_at: d.completed_at,
        progress: ProgressView {
            runs_remaining: p.runs_remaining,
            runs_cleaning_up: p.runs_cleaning_up,
            objects_remaining: p.objects_remaining,
            bytes_remaining: p.bytes_remaining,
        },
    });
    WorkspaceView {
        id: overview.id,
        object: "workspace",
        name: overview.name,
        status: overview.status,
        plan: PlanView {
            name: overview.plan,
            max_active_runs: overview.caps.max_active_runs,
            max_active_runs_per_token: overview.caps.max_active_runs_per_token,
            max_run_duration_seconds: overview.caps.max_run_duration_seconds,
        },
        storage: StorageView {
            used_bytes: overview.storage_used_bytes,
            cap_bytes: overview.caps.storage_cap_bytes,
        },
        active_runs: overview.active_runs,
        deletion,
    }
}

/// `GET /v1/workspace`: any valid token of the workspace.
pub async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<WorkspaceView>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let view = load_view(&mut conn, auth.workspace_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    Ok(Json(view))
}

/// `DELETE /v1/workspace`: only a token holding `tokens:manage` whose user is an owner of the
/// workspace. 202 with the workspace (its `deletion` in `requested`); asking again while the
/// deletion is under way answers 202 with its progress and changes nothing.
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<(StatusCode, Json<WorkspaceView>), ApiError> {
    auth.require(Scope::TokensManage)?;
    if auth.role != antpath_types::Role::Owner {
        return Err(ApiError::Forbidden(
            "Only an owner of the workspace may delete it.".into(),
        ));
    }
    rate_limit(&state, Bucket::Mutate, auth.workspace_id).await?;
    let request_id = request_id::current();
    let requester = Requester::Owner {
        user: auth.user_id,
        token: auth.token_id(),
        request_id: Some(&request_id),
    };
    let view = request_deletion(&state.pool, auth.workspace_id, requester)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// Records a deletion (see [`workspace_deletion::request`]) and returns the workspace as it is
/// then; `None` when there is no such workspace. Shared by the route and the admin command.
pub async fn request_deletion(
    pool: &PgPool,
    workspace: WorkspaceId,
    requester: Requester<'_>,
) -> Result<Option<WorkspaceView>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let requested = workspace_deletion::request(&mut tx, workspace, requester).await?;
    if requested == Requested::NotFound {
        return Ok(None);
    }
    let view = load_view(&mut tx, workspace).await?;
    tx.commit().await?;
    if let Requested::Started { runs_cancelled } = requested {
        tracing::info!(workspace.id = %workspace, runs.cancelled = runs_cancelled, "workspace deletion requested");
    }
    Ok(view)
}

/// Why a submission found its workspace inactive: 409 `workspace_deleting` while (or after) it
/// is being deleted, otherwise (suspended) 403.
pub(crate) async fn refusal(db: impl sqlx::PgExecutor<'_>, workspace: WorkspaceId) -> ApiError {
    match antpath_db::workspaces::get(db, workspace).await {
        Ok(Some(found)) if matches!(found.status.as_str(), "pending_delete" | "deleted") => {
            ApiError::WorkspaceDeleting
        }
        Ok(_) => ApiError::Forbidden("This workspace is not active.".into()),
        Err(err) => err.into(),
    }
}
