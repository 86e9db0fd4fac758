//! The router: every route of `docs/api.md`, the operational endpoints, and the middleware.

mod ops;
mod outputs;
mod runs;
mod storage;
mod stream;
mod submit;
mod tokens;
pub mod workspace;

pub(crate) use runs::MAX_PAGE;

use antpath_db::rate_limits::{self, BucketSpec, Take};
use antpath_types::WorkspaceId;
use axum::Router;
use axum::routing::{delete, get, post};

use crate::error::ApiError;
use crate::state::AppState;

/// Builds the application router over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/runs", post(submit::submit).get(runs::list))
        .route("/v1/runs/{id}", get(runs::get_one).delete(runs::delete))
        .route("/v1/runs/{id}/cancel", post(runs::cancel))
        .route("/v1/runs/{id}/events", get(outputs::events))
        .route("/v1/runs/{id}/stream", get(stream::stream))
        .route("/v1/runs/{id}/outputs", get(outputs::outputs))
        .route(
            "/v1/runs/{id}/outputs/{output_id}/link",
            post(outputs::link),
        )
        .route("/v1/storage/{*key}", get(storage::download))
        .route("/v1/whoami", get(tokens::whoami))
        .route(
            "/v1/workspace",
            get(workspace::get_one).delete(workspace::delete),
        )
        .route("/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/v1/tokens/{id}", delete(tokens::revoke))
        .route(
            "/sign-in",
            get(crate::sign_in::page).post(crate::sign_in::submit),
        )
        .route("/sign-out", post(crate::sign_in::sign_out))
        .route("/workspace/switch", post(crate::sign_in::switch_workspace))
        .route("/v1/openapi.json", get(ops::openapi))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(crate::dashboard::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::observe,
        ))
        .with_state(state)
}

/// The per-workspace rate-limit buckets.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bucket {
    /// Run submissions.
    Submit,
    /// Cancels and deletes.
    Mutate,
    /// Signed link creation.
    Links,
    /// Token creation and revocation.
    TokenChanges,
}

impl Bucket {
    /// The workspace's bucket of this kind: its name and its per-minute rate.
    pub(crate) fn of(self, state: &AppState, workspace: WorkspaceId) -> (String, u32) {
        let limits = &state.limits;
        let (name, per_minute) = match self {
            Bucket::Submit => ("submit", limits.submit_per_minute),
            Bucket::Mutate => ("mutate", limits.mutate_per_minute),
            Bucket::Links => ("links", limits.links_per_minute),
            Bucket::TokenChanges => ("tokens", limits.token_changes_per_minute),
        };
        (format!("{name}:{workspace}"), per_minute)
    }
}

/// The 429 of an empty bucket allowing `per_minute` requests a minute.
pub(crate) fn rate_limited(per_minute: u32, retry_after: std::time::Duration) -> ApiError {
    ApiError::RateLimited {
        reason: "rate_limit",
        message: format!(
            "Too many requests of this kind for this workspace (limit {per_minute} a minute)."
        ),
        retry_after,
    }
}

/// Spends one token from the workspace's bucket, or fails with 429 and `Retry-After`.
pub(crate) async fn rate_limit(
    state: &AppState,
    bucket: Bucket,
    workspace: WorkspaceId,
) -> Result<(), ApiError> {
    let (key, per_minute) = bucket.of(state, workspace);
    match rate_limits::take(&state.pool, &key, BucketSpec::per_minute(per_minute), 1.0).await? {
        Take::Allowed => Ok(()),
        Take::Limited { retry_after } => Err(rate_limited(per_minute, retry_after)),
    }
}

/// Parses a prefixed id from a path; a malformed id is a 404, like a missing one.
pub(crate) fn parse_id<T: std::str::FromStr>(
    text: &str,
    what: &'static str,
) -> Result<T, ApiError> {
    text.parse().map_err(|_| ApiError::NotFound(what))
}
