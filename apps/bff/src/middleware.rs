//! The one middleware around every route: request id, span, access log, metrics, and the
//! conversion of axum's own plain-text rejections (unknown route, wrong method, path parse)
//! into the API's error shape.
//!
//! The request span continues the caller's W3C `traceparent`, when it sent one, so the API's
//! spans (and, through the context stored on a submitted run, the worker's) join its trace.
//!
//! The access log names the matched route template, never the raw path or query string:
//! signed storage links carry their signature in the query.

use std::time::Instant;

use antpath_types::ApiErrorType;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::error::{RejectionReason, body_for};
use crate::request_id;
use crate::state::AppState;

/// Wraps one request; see the module docs.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id::from_headers(request.headers());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let page = is_page_path(request.uri().path());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        http.method = %method,
        http.route = %route,
        http.status_code = tracing::field::Empty,
        workspace.id = tracing::field::Empty,
    );
    antpath_telemetry::propagation::continue_trace(
        &span,
        request
            .headers()
            .get(antpath_telemetry::propagation::TRACEPARENT)
            .and_then(|v| v.to_str().ok()),
    );
    let response = request_id::scope(id.clone(), async {
        let response = next.run(request).await;
        normalise_error(response, page)
    })
    .instrument(span.clone())
    .await;
    let mut response = response;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    span.record("http.status_code", status);
    span.in_scope(|| {
        tracing::info!(
            http.status_code = status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    state
        .metrics
        .observe_request(&route, &method, status, elapsed);
    if let Some(reason) = response.extensions().get::<RejectionReason>() {
        state.metrics.observe_rejection(reason.0);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(request_id::HEADER, value);
    }
    response
}

/// Whether a path is one of the dashboard's (HTML) rather than the API's (JSON).
fn is_page_path(path: &str) -> bool {
    !(path.starts_with("/v1/") || matches!(path, "/healthz" | "/readyz" | "/metrics"))
}

/// Replaces the body of an error response that is neither JSON nor HTML (axum's rejections
/// are plain text) with the error shape — or, on a dashboard path, with an error page —
/// keeping the status and headers such as `Allow`.
fn normalise_error(response: Response, page: bool) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let (error_type, message, reason) = match status {
        StatusCode::NOT_FOUND => (ApiErrorType::NotFound, "No such route.", "not_found"),
        StatusCode::METHOD_NOT_ALLOWED => (
            ApiErrorType::InvalidRequest,
            "This method is not allowed on this route.",
            "method_not_allowed",
        ),
        StatusCode::UNAUTHORIZED => (
            ApiErrorType::AuthenticationError,
            "A valid API token is required.",
            "unauthenticated",
        ),
        StatusCode::FORBIDDEN => (ApiErrorType::PermissionDenied, "Forbidden.", "forbidden"),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ApiErrorType::PayloadTooLarge,
            "The request body is too large.",
            "payload_too_large",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ApiErrorType::UnsupportedMediaType,
            "The request body must be `application/json`.",
            "unsupported_media_type",
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            ApiErrorType::RateLimited,
            "Too many requests.",
            "rate_limit",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            ApiErrorType::ServiceUnavailable,
            "The service is unavailable; try again later.",
            "unavailable",
        ),
        s if s.is_server_error() => (
            ApiErrorType::InternalError,
            "Something went wrong on our side; the request id finds it in our logs.",
            "internal",
        ),
        _ => (
            ApiErrorType::InvalidRequest,
            "The request is malformed.",
            "malformed",
        ),
    };
    let (parts, _body) = response.into_parts();
    let mut fresh = if page {
        let message = match status {
            StatusCode::NOT_FOUND => "There is nothing at this address.",
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
                "The form or address could not be read."
            }
            _ => message,
        };
        crate::pages::error_page(
            status,
            status.canonical_reason().unwrap_or("Error"),
            message,
        )
    } else {
        body_for(status, error_type, message.to_owned(), None)
    };
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fresh.extensions_mut().insert(RejectionReason(reason));
    fresh
}
