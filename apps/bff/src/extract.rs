//! Request extractors with the API's error shape: a strict JSON body (content type, size
//! limit, read timeout, syntax, no duplicate keys or NUL characters) and query strings.

use antpath_types::ErrorDetail;
use axum::body::Body;
use axum::extract::{FromRequest, Query, Request};
use axum::http::{Uri, header};
use futures_util::StreamExt as _;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;
use crate::strict_json::{self, ReadError};

/// A request body that is `application/json`, within `bff.max_body_bytes`, arrived within
/// `bff.body_read_timeout_ms`, and is JSON as [`crate::strict_json`] reads it. Every route
/// with a JSON body takes it through this extractor, then [`from_body`] for its typed form.
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.max_body_bytes;
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json_media_type(content_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        let bytes = tokio::time::timeout(
            state.body_read_timeout,
            read_capped(request.into_body(), limit),
        )
        .await
        .map_err(|_| ApiError::BodyTimeout(state.body_read_timeout))??;
        strict_json::read(&bytes)
            .map(Self)
            .map_err(|err| match err {
                // Syntax errors only say where; they never quote the input.
                ReadError::Syntax { line, column } => ApiError::BadRequest(format!(
                    "The request body is not valid JSON (line {line}, column {column})."
                )),
                ReadError::Refused(refusal) => ApiError::BadRequestAt {
                    message: refusal.kind.summary().into(),
                    detail: ErrorDetail {
                        path: refusal.path,
                        message: refusal.kind.message().into(),
                    },
                },
            })
    }
}

/// `application/json`, optionally with parameters such as `charset=utf-8`.
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Reads the body, failing with 413 as soon as it passes `limit` (a chunked body has no
/// declared length to check up front).
async fn read_capped(body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::BadRequest("The request body could not be read.".into()))?;
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Deserialises a typed value from a JSON body, listing the problem at the body's root.
pub fn from_body<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|err| ApiError::Invalid {
        message: "The request body is invalid.".into(),
        details: vec![ErrorDetail {
            path: String::new(),
            message: err.to_string(),
        }],
    })
}

/// Parses the query string of `uri` into `T`; a bad parameter is a 422 naming it.
pub fn query<T: DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(value)| value)
        .map_err(|rejection| ApiError::Invalid {
            message: "The query string is invalid.".into(),
            details: vec![ErrorDetail {
                path: "?".into(),
                message: rejection.body_text(),
            }],
        })
}
