//! The first-party dashboard: server-rendered pages (maud) over the same data and the same
//! shared actions as the JSON API, for a signed-in person acting in their current workspace.
//!
//! - [`runs`]: the run list; [`run_detail`]: one run (timeline, attempts, events, outputs,
//!   cleanup) and its output downloads; [`run_actions`]: cancel and delete with a confirmation
//!   step; [`tokens`]: API tokens; [`workspace`]: storage, active runs and members.
//! - [`layout`] frames every page, [`format`] writes numbers and times, [`assets`] serves the
//!   stylesheet and scripts, [`error`] answers failures as pages.
//!
//! Everything is scoped to the current workspace: another workspace's run, output or token is
//! a 404 exactly like a missing one. Every response carries [`security_headers`]: a strict
//! CSP (no inline script or style anywhere, so no nonce), no framing, no sniffing, a
//! same-origin referrer, and `no-store` on everything but the hashed assets. Signed download
//! links are never rendered into a page: a download link points at the bff, which signs a
//! link only when it is followed and redirects to it.
//!
//! Sign-in, sign-out, the workspace switch and CSRF checking are [`crate::session`]'s.

pub mod assets;
mod error;
mod format;
mod layout;
mod run_actions;
mod run_detail;
mod runs;
mod tokens;
mod workspace;

use axum::Router;
use axum::http::header;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};

use crate::actions::Actor;
use crate::session::SignedIn;
use crate::state::AppState;

pub use error::PageError;

/// The dashboard's routes, with [`security_headers`] on each of their responses.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/runs") }))
        .route("/runs", get(runs::list))
        .route("/runs/{id}", get(run_detail::show))
        .route(
            "/runs/{id}/outputs/{output_id}/download",
            get(run_detail::download),
        )
        .route(
            "/runs/{id}/cancel",
            get(run_actions::confirm_cancel).post(run_actions::cancel),
        )
        .route(
            "/runs/{id}/delete",
            get(run_actions::confirm_delete).post(run_actions::delete),
        )
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}/revoke", post(tokens::revoke))
        .route("/workspace", get(workspace::show))
        .route("/workspace/members", post(workspace::add_member))
        .route(
            "/workspace/members/{user_id}/role",
            post(workspace::change_role),
        )
        .route(
            "/workspace/members/{user_id}/remove",
            post(workspace::remove_member),
        )
        .route("/assets/{file}", get(assets::serve))
        .layer(axum::middleware::map_response(security_headers))
}

/// Adds the security headers of every page ([`crate::pages::with_page_headers`]: the strict
/// CSP, no framing, no sniffing, a same-origin referrer, `no-store`) to a dashboard response,
/// keeping a `Cache-Control` the handler chose itself (the hashed assets).
pub async fn security_headers(response: Response) -> Response {
    let chosen = response.headers().get(header::CACHE_CONTROL).cloned();
    let mut response = crate::pages::with_page_headers(response);
    if let Some(value) = chosen {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

/// The signed-in person as the shared actions' actor (no API token).
fn actor(signed_in: &SignedIn) -> Actor {
    Actor {
        workspace_id: signed_in.workspace.id,
        user_id: signed_in.user_id,
        token_id: None,
    }
}

/// Parses a prefixed id from a path; a malformed id is a 404 page, like a missing one.
fn parse_id<T: std::str::FromStr>(text: &str, what: &'static str) -> Result<T, PageError> {
    text.parse().map_err(|_| PageError::NotFound(what))
}

/// Parses the query string into `T`; a bad parameter is a 400 page.
fn query<T: serde::de::DeserializeOwned>(uri: &axum::http::Uri) -> Result<T, PageError> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|axum::extract::Query(value)| value)
        .map_err(|rejection| {
            PageError::BadRequest(format!(
                "The query string is invalid: {}",
                rejection.body_text()
            ))
        })
}
