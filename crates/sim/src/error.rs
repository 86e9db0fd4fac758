//! The provider's error envelope.
//!
//! Every failure is `{"type":"error","error":{"type","message","details"?},"request_id"}` with
//! the status the provider uses; the request id comes from the task-local set by the request
//! layer so the body and the `request-id` header always agree.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::layers::current_request_id;

/// An API error as the provider reports it.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    code: Option<&'static str>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            code: None,
            retry_after: None,
        }
    }

    /// 400 `invalid_request_error`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 401 `authentication_error`.
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "authentication_error", message)
    }

    /// 404 `not_found_error`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found_error", message)
    }

    /// 404 for a missing or already deleted resource.
    pub fn no_such(what: &str, id: &str) -> Self {
        Self::not_found(format!("{what} {id} not found"))
    }

    /// 405 for a known path with an unsupported method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            "method not allowed",
        )
    }

    /// 409 `conflict_error`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict_error", message)
    }

    /// 400 or 409 (configured) for archiving or deleting a running session.
    pub fn busy(status: u16, message: impl Into<String>) -> Self {
        if status == 400 {
            Self::invalid(message)
        } else {
            Self::conflict(message)
        }
    }

    /// 429 `rate_limit_error` with a `retry-after` header.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "rate limited",
        );
        e.retry_after = Some(retry_after_secs);
        e
    }

    /// 500 `api_error`.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "internal server error",
        )
    }

    /// 529 `overloaded_error`.
    pub fn overloaded() -> Self {
        let status = StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        Self::new(status, "overloaded_error", "overloaded")
    }

    /// Adds `error.details.error_code`.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "type": self.kind, "message": self.message });
        if let Some(code) = self.code {
            error["details"] = json!({ "error_code": code });
        }
        let body = json!({ "type": "error", "error": error, "request_id": current_request_id() });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        response
    }
}

/// Result alias of the route handlers.
pub type ApiResult<T> = Result<T, ApiError>;
