//! The `/v1/…` routes, one module per resource, and the router that joins them with the
//! inspection routes and the request layer.

mod agent_tools;
mod agents;
mod environments;
mod events;
mod files;
mod multipart;
mod resources;
mod sessions;
mod skills;
mod vaults;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::layers::request_layer;
use crate::pagination::ListQuery;
use crate::state::SharedSim;

/// The whole application: `/v1` routes, `/__sim` routes and the request layer.
pub fn router(sim: SharedSim) -> Router {
    let v1 = Router::new()
        .route(
            "/v1/environments",
            post(environments::create).get(environments::list),
        )
        .route(
            "/v1/environments/{id}",
            get(environments::retrieve)
                .post(environments::update)
                .delete(environments::delete),
        )
        .route("/v1/environments/{id}/archive", post(environments::archive))
        .route("/v1/agents", post(agents::create).get(agents::list))
        .route(
            "/v1/agents/{id}",
            get(agents::retrieve).post(agents::update),
        )
        .route("/v1/agents/{id}/archive", post(agents::archive))
        .route("/v1/agents/{id}/versions", get(agents::versions))
        .route("/v1/vaults", post(vaults::create).get(vaults::list))
        .route(
            "/v1/vaults/{id}",
            get(vaults::retrieve)
                .post(vaults::update)
                .delete(vaults::delete),
        )
        .route("/v1/vaults/{id}/archive", post(vaults::archive))
        .route(
            "/v1/vaults/{id}/credentials",
            post(vaults::create_credential).get(vaults::list_credentials),
        )
        .route(
            "/v1/vaults/{id}/credentials/{cid}",
            get(vaults::retrieve_credential).delete(vaults::delete_credential),
        )
        .route(
            "/v1/vaults/{id}/credentials/{cid}/archive",
            post(vaults::archive_credential),
        )
        .route("/v1/sessions", post(sessions::create).get(sessions::list))
        .route(
            "/v1/sessions/{id}",
            get(sessions::retrieve)
                .post(sessions::update)
                .delete(sessions::delete),
        )
        .route("/v1/sessions/{id}/archive", post(sessions::archive))
        .route(
            "/v1/sessions/{id}/events",
            post(events::send).get(events::list),
        )
        .route("/v1/sessions/{id}/events/stream", get(events::stream))
        .route(
            "/v1/sessions/{id}/resources",
            get(resources::list).post(resources::add),
        )
        .route(
            "/v1/sessions/{id}/resources/{rid}",
            get(resources::retrieve)
                .post(resources::update)
                .delete(resources::delete),
        )
        .route(
            "/v1/files",
            get(files::list)
                .post(files::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    files::MAX_UPLOAD_BYTES,
                )),
        )
        .route("/v1/files/{id}", get(files::retrieve).delete(files::delete))
        .route("/v1/files/{id}/content", get(files::content))
        .route("/v1/skills", get(skills::list))
        .route("/v1/skills/{id}", get(skills::retrieve));
    v1.merge(crate::inspect::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(sim.clone(), request_layer))
        .with_state(sim)
}

async fn not_found() -> Response {
    ApiError::not_found("Not found").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::method_not_allowed().into_response()
}

/// A JSON request body; an empty body (bodiless POSTs and DELETEs) reads as `{}`.
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::invalid("could not read the request body"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Value::Object(Map::new())));
        }
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| ListQuery(pairs))
            .map_err(|_| ApiError::invalid("malformed query string"))
    }
}

/// Renders a list of records as `(seq, body)` pairs for [`crate::pagination::paginate`].
fn seq_bodies<'a>(
    records: impl IntoIterator<Item = &'a crate::store::Record>,
) -> Vec<(u64, Value)> {
    records
        .into_iter()
        .map(|r| (r.seq, r.body.clone()))
        .collect()
}
