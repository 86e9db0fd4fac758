//! The one error type of the HTTP boundary and its response shape.
//!
//! Every failure becomes `{"error": {"type", "message", "details"?, "request_id"}}`
//! ([`ApiErrorBody`]). Deliberate client errors carry a type and a sentence; an internal error
//! is logged once here, with its cause chain, and answered with a generic 500 so no internal
//! text reaches a client. [`crate::middleware`] converts axum's own plain-text rejections to
//! the same shape.
//!
//! Database failures are split in one place, the `From<DbError>` mapping: an expected
//! constraint outcome becomes its client error, a lost or unreachable database becomes `503`
//! with `Retry-After` (see [`antpath_db::is_unavailable`]), and anything else is a 500.

use std::time::Duration;

use antpath_types::{ApiError as ApiErrorObject, ApiErrorBody, ApiErrorType, ErrorDetail};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::request_id;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not usable at all (not JSON, unreadable): 400.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The body is JSON the API refuses at one place (a duplicate key, a NUL character): 400,
    /// with that place as the only detail.
    #[error("bad request at {}", detail.path)]
    BadRequestAt {
        /// A summary sentence.
        message: String,
        /// Where, and what is wrong there (never the value).
        detail: ErrorDetail,
    },
    /// The body is JSON but fails validation; every problem is listed: 422.
    #[error("validation failed")]
    Invalid {
        /// A summary sentence.
        message: String,
        /// Every located problem.
        details: Vec<ErrorDetail>,
    },
    /// No, malformed, unknown or revoked token: 401, always with the same body.
    #[error("unauthenticated")]
    Unauthenticated,
    /// The token lacks a scope, or asks for more than it has: 403.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Nothing of that id in the caller's workspace (or at all): 404.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// An idempotency key reused for a different request: 409.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The workspace is being deleted, so it takes no new runs: 409.
    #[error("workspace deleting")]
    WorkspaceDeleting,
    /// The body did not arrive within `bff.body_read_timeout_ms`: 408, and the connection is
    /// closed.
    #[error("request body timed out")]
    BodyTimeout(Duration),
    /// The body is over the limit: 413.
    #[error("payload too large")]
    PayloadTooLarge(usize),
    /// The body is not `application/json`: 415.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// Too many requests or too many active runs: 429 with `Retry-After`.
    #[error("rate limited ({reason})")]
    RateLimited {
        /// The rejection reason for metrics (`rate_limit`, `quota_workspace`, `quota_token`).
        reason: &'static str,
        /// A sentence saying which limit was hit.
        message: String,
        /// When to try again.
        retry_after: Duration,
    },
    /// A dependency is down: 503 with `Retry-After`.
    #[error("service unavailable: {0}")]
    Unavailable(&'static str),
    /// Anything else: logged with its cause chain, answered with a generic 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// `Retry-After` of a 503: long enough for a database failover or a restart of the pooler to
/// be under way, short enough that a client does not give up on a blip.
const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);

impl From<sqlx::Error> for ApiError {
    /// Direct pool calls (`begin`, `commit`) take the same mapping as the db crate's errors.
    fn from(err: sqlx::Error) -> Self {
        antpath_db::DbError::Sqlx(err).into()
    }
}

impl From<antpath_db::DbError> for ApiError {
    /// The one place where a database outcome becomes a response: an expected constraint
    /// outcome is a client error, an unreachable database a 503, anything else a 500.
    fn from(err: antpath_db::DbError) -> Self {
        match err {
            antpath_db::DbError::IdempotencyConflict => Self::idempotency_conflict(),
            antpath_db::DbError::Sqlx(err) if antpath_db::is_unavailable(&err) => {
                tracing::warn!(error.message = %err, "the database is unavailable");
                Self::Unavailable("The database")
            }
            other => {
                Self::Internal(anyhow::Error::new(other).context("while querying the database"))
            }
        }
    }
}

/// A rejection reason attached to error responses, read by the metrics middleware.
#[derive(Debug, Clone, Copy)]
pub struct RejectionReason(pub &'static str);

impl ApiError {
    /// The 409 of an idempotency key reused with a different request.
    pub fn idempotency_conflict() -> Self {
        Self::Conflict(
            "This idempotency key was already used for a different request in this workspace."
                .into(),
        )
    }

    /// A 422 with a single located problem.
    pub fn invalid_at(path: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Invalid {
            message: "The request is invalid.".into(),
            details: vec![ErrorDetail {
                path: path.into(),
                message,
            }],
        }
    }

    /// What an HTML page shows of this error: its status, the same sentence the JSON body
    /// carries, and a `Retry-After`, if any. An internal error is logged here, as for JSON.
    pub fn for_page(self) -> (StatusCode, String, Option<Duration>) {
        let (status, _, _) = self.parts();
        if let Self::Internal(err) = &self {
            let chain: Vec<String> = err.chain().skip(1).map(ToString::to_string).collect();
            tracing::error!(error.message = %err, error.chain = ?chain, "page request failed");
        }
        let retry_after = match &self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER),
            _ => None,
        };
        let message = match &self {
            Self::Unauthenticated => "Sign in to see this page.".into(),
            _ => self.message(),
        };
        (status, message, retry_after)
    }

    fn parts(&self) -> (StatusCode, ApiErrorType, &'static str) {
        use ApiErrorType as T;
        match self {
            Self::BadRequest(_) | Self::BadRequestAt { .. } => {
                (StatusCode::BAD_REQUEST, T::InvalidRequest, "malformed")
            }
            Self::Invalid { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                T::InvalidRequest,
                "validation",
            ),
            Self::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                T::AuthenticationError,
                "unauthenticated",
            ),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, T::PermissionDenied, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, T::NotFound, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, T::Conflict, "idempotency_conflict"),
            Self::WorkspaceDeleting => (
                StatusCode::CONFLICT,
                T::WorkspaceDeleting,
                "workspace_deleting",
            ),
            Self::BodyTimeout(_) => (
                StatusCode::REQUEST_TIMEOUT,
                T::InvalidRequest,
                "body_timeout",
            ),
            Self::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                T::PayloadTooLarge,
                "payload_too_large",
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                T::UnsupportedMediaType,
                "unsupported_media_type",
            ),
            Self::RateLimited { reason, .. } => {
                (StatusCode::TOO_MANY_REQUESTS, T::RateLimited, reason)
            }
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                T::ServiceUnavailable,
                "unavailable",
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                T::InternalError,
                "internal",
            ),
        }
    }

    /// The sentence a client is shown (never internal text).
    pub(crate) fn message(&self) -> String {
        match self {
            Self::BadRequest(message) | Self::Forbidden(message) | Self::Conflict(message) => {
                message.clone()
            }
            Self::Invalid { message, .. }
            | Self::BadRequestAt { message, .. }
            | Self::RateLimited { message, .. } => message.clone(),
            Self::Unauthenticated => "A valid API token is required.".into(),
            Self::WorkspaceDeleting => {
                "This workspace is being deleted; it accepts no new runs.".into()
            }
            Self::NotFound(what) => format!("No such {what}."),
            Self::PayloadTooLarge(limit) => {
                format!("The request body is larger than the limit of {limit} bytes.")
            }
            Self::BodyTimeout(limit) => format!(
                "The request body did not arrive within {} s.",
                limit.as_secs_f64()
            ),
            Self::UnsupportedMediaType => "The request body must be `application/json`.".into(),
            Self::Unavailable(what) => format!("{what} is unavailable; try again later."),
            Self::Internal(_) => {
                "Something went wrong on our side; the request id finds it in our logs.".into()
            }
        }
    }
}

/// Builds the error body for a status, for responses that do not come from [`ApiError`].
pub fn body_for(
    status: StatusCode,
    error_type: ApiErrorType,
    message: String,
    details: Option<Vec<ErrorDetail>>,
) -> Response {
    let body = ApiErrorBody {
        error: ApiErrorObject {
            error_type,
            message,
            details,
            request_id: request_id::current(),
        },
    };
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error_type, reason) = self.parts();
        if let Self::Internal(err) = &self {
            let chain: Vec<String> = err.chain().skip(1).map(ToString::to_string).collect();
            tracing::error!(error.message = %err, error.chain = ?chain, "request failed");
        }
        let message = self.message();
        let retry_after = match &self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER),
            _ => None,
        };
        let close = matches!(self, Self::BodyTimeout(_));
        let details = match self {
            Self::Invalid { details, .. } => Some(details),
            Self::BadRequestAt { detail, .. } => Some(vec![detail]),
            _ => None,
        };
        let mut response = body_for(status, error_type, message, details);
        if close {
            // The rest of a body that is late may still be on its way: the connection cannot
            // be reused, so say so and let the server close it.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(wait) = retry_after {
            // Whole seconds, rounded up, at least one: a client must never retry immediately.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response.extensions_mut().insert(RejectionReason(reason));
        response
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// A server error with only a SQLSTATE, as Postgres sends when it shuts a session down.
    #[derive(Debug)]
    struct ServerSaid(&'static str);

    impl std::fmt::Display for ServerSaid {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for ServerSaid {}

    impl DatabaseError for ServerSaid {
        fn message(&self) -> &str {
            "the server said no"
        }

        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }

        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }

        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn status_of(err: sqlx::Error) -> StatusCode {
        ApiError::from(err).into_response().status()
    }

    #[test]
    fn connection_level_failures_are_503_with_retry_after() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for err in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(refused),
            sqlx::Error::Database(Box::new(ServerSaid("57P01"))),
            sqlx::Error::Database(Box::new(ServerSaid("57P03"))),
            sqlx::Error::Database(Box::new(ServerSaid("08006"))),
            sqlx::Error::Database(Box::new(ServerSaid("53300"))),
        ] {
            let response = ApiError::from(err).into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        }
    }

    #[test]
    fn query_level_failures_stay_500() {
        for err in [
            sqlx::Error::RowNotFound,
            sqlx::Error::Protocol("unexpected message".into()),
            sqlx::Error::Database(Box::new(ServerSaid("23514"))),
            sqlx::Error::Database(Box::new(ServerSaid("57014"))),
        ] {
            assert_eq!(status_of(err), StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}
