//! The one error body every HTTP failure of antpath uses:
//! `{"error": {"type", "message", "details"?, "request_id"}}`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The machine-readable kind of an API error. Clients branch on this, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorType {
    /// The request is malformed or fails validation (400, 422).
    InvalidRequest,
    /// No valid credentials (401).
    AuthenticationError,
    /// Valid credentials without the needed scope (403).
    PermissionDenied,
    /// Nothing of that id in the caller's workspace (404).
    NotFound,
    /// The request conflicts with existing state, such as a reused idempotency key (409).
    Conflict,
    /// The workspace is being deleted and accepts no new runs (409).
    WorkspaceDeleting,
    /// The body is larger than the limit (413).
    PayloadTooLarge,
    /// The body is not JSON (415).
    UnsupportedMediaType,
    /// Too many requests, or too many active runs (429).
    RateLimited,
    /// antpath failed; the request id finds the cause in our logs (500).
    InternalError,
    /// A dependency is unavailable; retry later (503).
    ServiceUnavailable,
}

impl ApiErrorType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::AuthenticationError => "authentication_error",
            Self::PermissionDenied => "permission_denied",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::WorkspaceDeleting => "workspace_deleting",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited => "rate_limited",
            Self::InternalError => "internal_error",
            Self::ServiceUnavailable => "service_unavailable",
        }
    }
}

impl fmt::Display for ApiErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One located problem, for validation errors that list every failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A JSON pointer into the request body (`/template/variables/0/name`).
    pub path: String,
    /// What is wrong there, as a sentence.
    pub message: String,
}

/// The error itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// The machine-readable kind.
    #[serde(rename = "type")]
    pub error_type: ApiErrorType,
    /// A sentence for people.
    pub message: String,
    /// Every located problem, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ErrorDetail>>,
    /// The id of the request, also in every log line about it.
    pub request_id: String,
}

/// The top-level body: `{"error": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// The error.
    pub error: ApiError,
}
