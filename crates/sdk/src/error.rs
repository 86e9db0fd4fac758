//! The one error type of the SDK.
//!
//! An API failure keeps everything the server said ([`ApiFailure`]): its machine-readable type,
//! the message, every located detail, the request id to quote in a support request, and the
//! HTTP status. Nothing here ever holds the API token or a run secret: requests are rebuilt
//! from the client's state on each attempt and never stored in an error.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use antpath_types::{ApiErrorType, ErrorDetail, RunId};

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with its error body.
    #[error("{0}")]
    Api(Box<ApiFailure>),
    /// The API answered with an error status but not with its error body (a proxy in the way,
    /// or a server that is not antpath).
    #[error("the server answered HTTP {status} without an antpath error body{}", request_suffix(.request_id.as_deref()))]
    UnexpectedResponse {
        /// The HTTP status.
        status: u16,
        /// The `x-request-id` header, when present.
        request_id: Option<String>,
    },
    /// The API could not be reached, or the connection broke.
    #[error("could not reach the antpath API at {base_url}: {reason}")]
    Connection {
        /// The base URL the client talks to.
        base_url: String,
        /// What the transport reported.
        reason: String,
    },
    /// No response came within the client's request timeout.
    #[error("the antpath API did not answer within {0:?}")]
    Timeout(Duration),
    /// A successful response did not have the documented shape.
    #[error("the API response could not be read ({reason}){}", request_suffix(.request_id.as_deref()))]
    Decode {
        /// What did not match.
        reason: String,
        /// The `x-request-id` header, when present.
        request_id: Option<String>,
    },
    /// The client was configured with an unusable value.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// A downloaded output does not have the SHA-256 the API reported; nothing was kept.
    #[error("the download of `{filename}` is corrupt: expected sha256 {expected}, got {actual}")]
    ChecksumMismatch {
        /// The output's file name.
        filename: String,
        /// The digest the API reported.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// Reading or writing a local file failed.
    #[error("could not write {}: {source}", .path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// [`crate::WaitOptions::timeout`] passed before the run ended.
    #[error("run {run_id} was still running after {waited:?}")]
    WaitTimeout {
        /// The run waited on.
        run_id: RunId,
        /// How long the wait lasted.
        waited: Duration,
    },
}

fn request_suffix(request_id: Option<&str>) -> String {
    request_id.map_or_else(String::new, |id| format!(" (request id {id})"))
}

impl Error {
    /// The API failure, when the server answered with its error body.
    pub fn api(&self) -> Option<&ApiFailure> {
        match self {
            Self::Api(failure) => Some(failure),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered at all.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(failure) => Some(failure.status),
            Self::UnexpectedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The request id the server gave, for support requests.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api(failure) => failure.request_id.as_deref(),
            Self::UnexpectedResponse { request_id, .. } | Self::Decode { request_id, .. } => {
                request_id.as_deref()
            }
            _ => None,
        }
    }

    /// True for a `not_found` answer.
    pub fn is_not_found(&self) -> bool {
        self.api()
            .is_some_and(|f| f.error_type == ApiErrorType::NotFound)
    }
}

/// What the API said when it refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// The HTTP status.
    pub status: u16,
    /// The machine-readable kind; branch on this, never on the message.
    pub error_type: ApiErrorType,
    /// A sentence for people.
    pub message: String,
    /// Every located problem (validation errors list them all), possibly empty.
    pub details: Vec<ErrorDetail>,
    /// The request id (from the body, else the `x-request-id` header).
    pub request_id: Option<String>,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, HTTP {})",
            self.message, self.error_type, self.status
        )?;
        for detail in &self.details {
            let path = if detail.path.is_empty() {
                "/"
            } else {
                &detail.path
            };
            write!(f, "; {path}: {}", detail.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_failure_reads_as_its_message_with_details_and_request_id() {
        let error = Error::Api(Box::new(ApiFailure {
            status: 422,
            error_type: ApiErrorType::InvalidRequest,
            message: "The submission is invalid.".into(),
            details: vec![ErrorDetail {
                path: "/variables/topic".into(),
                message: "This variable is required and has no default.".into(),
            }],
            request_id: Some("req_1".into()),
            retry_after: None,
        }));
        let text = error.to_string();
        assert!(text.starts_with("The submission is invalid. (invalid_request, HTTP 422)"));
        assert!(text.contains("/variables/topic: This variable is required"));
        assert!(text.ends_with("[request id req_1]"));
        assert_eq!(error.status(), Some(422));
        assert_eq!(error.request_id(), Some("req_1"));
    }
}
