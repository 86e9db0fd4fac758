//! Exit codes, and how failures are told to people (stderr) and scripts (`--json` on stdout).
//!
//! Every failure reads as a sentence with the fix where there is one; API failures add the
//! located details and the request id. Nothing prints a backtrace or a `Debug` dump, and no
//! message includes a token or key (the SDK's errors never hold them).

use antpath_sdk::{ApiErrorType, Error, ErrorDetail, RunStatus};
use serde_json::{Value, json};

/// The command did what was asked (for a followed run: it succeeded).
pub const OK: u8 = 0;
/// Something unexpected on this machine, such as an unwritable output folder.
pub const INTERNAL: u8 = 1;
/// The command line, configuration, template or variables are wrong; nothing was sent.
pub const USAGE: u8 = 2;
/// The followed run failed.
pub const RUN_FAILED: u8 = 3;
/// The followed run hit its time limit.
pub const RUN_TIMED_OUT: u8 = 4;
/// The followed run was cancelled.
pub const RUN_CANCELLED: u8 = 5;
/// The API refused the request or could not be reached.
pub const API: u8 = 6;
/// The followed run ended otherwise: `pending_delete` or `deleted`.
pub const RUN_ENDED_OTHERWISE: u8 = 7;
/// An output could not be downloaded, or failed its SHA-256 check.
pub const DOWNLOAD: u8 = 8;
/// Ctrl-C detached from a run that keeps running (128 + SIGINT, as shells report it).
pub const DETACHED: u8 = 130;

/// The exit code for a run that ended in `status`: the outcome alone, whatever its cleanup.
pub fn exit_code_for(status: RunStatus) -> u8 {
    match status {
        RunStatus::Succeeded => OK,
        RunStatus::Failed => RUN_FAILED,
        RunStatus::TimedOut => RUN_TIMED_OUT,
        RunStatus::Cancelled => RUN_CANCELLED,
        _ => RUN_ENDED_OTHERWISE,
    }
}

/// Why a command stopped.
#[derive(Debug)]
pub enum Failure {
    /// Wrong input; the message says how to fix it. Exit [`USAGE`].
    Usage {
        /// A sentence with the fix.
        message: String,
        /// Located problems (template or variable validation).
        details: Vec<ErrorDetail>,
    },
    /// An SDK call failed. Exit [`API`], or [`DOWNLOAD`] for download problems.
    Sdk(Error),
    /// Anything else. Exit [`INTERNAL`].
    Internal(String),
}

impl Failure {
    /// A usage failure without details.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage { .. } => USAGE,
            Self::Sdk(error) if is_download_error(error) => DOWNLOAD,
            Self::Sdk(_) => API,
            Self::Internal(_) => INTERNAL,
        }
    }

    /// Writes the failure for people to stderr and, with `json`, as `{"error": …}` to stdout.
    pub fn report(&self, json: bool) {
        eprintln!("{}", self.human());
        if json {
            println!("{}", self.to_json());
        }
    }

    /// The text for people.
    pub fn human(&self) -> String {
        match self {
            Self::Usage { message, details } => {
                let mut text = format!("error: {message}");
                push_details(&mut text, details);
                text
            }
            Self::Internal(message) => format!("error: {message}"),
            Self::Sdk(Error::Api(failure)) => {
                let mut text = format!("error: {}", failure.message);
                push_details(&mut text, &failure.details);
                text.push_str(&format!(
                    "\n  ({}, HTTP {}{})",
                    failure.error_type,
                    failure.status,
                    failure
                        .request_id
                        .as_deref()
                        .map_or_else(String::new, |id| format!(", request id {id}"))
                ));
                if let Some(hint) = hint_for(failure.error_type) {
                    text.push_str(&format!("\nhint: {hint}"));
                }
                text
            }
            Self::Sdk(error @ Error::Connection { .. }) => format!(
                "error: {error}\nhint: check the URL in ANTPATH_BASE_URL or --base-url, and that the service is up"
            ),
            Self::Sdk(error) => format!("error: {error}"),
        }
    }

    /// The JSON for scripts.
    pub fn to_json(&self) -> Value {
        let (kind, message, details, request_id, status) = match self {
            Self::Usage { message, details } => {
                ("usage_error", message.clone(), details.clone(), None, None)
            }
            Self::Internal(message) => ("internal_error", message.clone(), Vec::new(), None, None),
            Self::Sdk(Error::Api(f)) => (
                f.error_type.as_str(),
                f.message.clone(),
                f.details.clone(),
                f.request_id.clone(),
                Some(f.status),
            ),
            Self::Sdk(error) => {
                let kind = if is_download_error(error) {
                    "download_error"
                } else {
                    "connection_error"
                };
                (
                    kind,
                    error.to_string(),
                    Vec::new(),
                    error.request_id().map(str::to_owned),
                    error.status(),
                )
            }
        };
        json!({"error": {
            "type": kind, "message": message, "details": details,
            "request_id": request_id, "status": status, "exit_code": self.exit_code(),
        }})
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::Sdk(error)
    }
}

fn is_download_error(error: &Error) -> bool {
    matches!(error, Error::ChecksumMismatch { .. } | Error::Io { .. })
}

fn push_details(text: &mut String, details: &[ErrorDetail]) {
    for detail in details {
        let path = if detail.path.is_empty() {
            "/"
        } else {
            &detail.path
        };
        text.push_str(&format!("\n  {path}: {}", detail.message));
    }
}

fn hint_for(kind: ApiErrorType) -> Option<&'static str> {
    match kind {
        ApiErrorType::AuthenticationError => {
            Some("check the token in ANTPATH_API_TOKEN or --api-token; it may be revoked")
        }
        ApiErrorType::PermissionDenied => {
            Some("the token lacks the scope this needs; create one with it")
        }
        ApiErrorType::RateLimited => Some("too many requests or active runs; try again shortly"),
        ApiErrorType::Conflict => {
            Some("the idempotency key was used for a different request; choose a new key")
        }
        ApiErrorType::WorkspaceDeleting => {
            Some("the workspace is being deleted and accepts no new runs")
        }
        ApiErrorType::ServiceUnavailable => {
            Some("antpath cannot reach a dependency right now; try again shortly")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_terminal_status_has_its_own_exit_code() {
        assert_eq!(exit_code_for(RunStatus::Succeeded), 0);
        assert_eq!(exit_code_for(RunStatus::Failed), 3);
        assert_eq!(exit_code_for(RunStatus::TimedOut), 4);
        assert_eq!(exit_code_for(RunStatus::Cancelled), 5);
        assert_eq!(exit_code_for(RunStatus::Deleted), 7);
    }

    #[test]
    fn a_usage_failure_lists_its_details_under_the_sentence() {
        let failure = Failure::Usage {
            message: "the variables do not fit the template".into(),
            details: vec![ErrorDetail {
                path: "/variables/topic".into(),
                message: "This variable is required and has no default.".into(),
            }],
        };
        assert_eq!(
            failure.human(),
            "error: the variables do not fit the template\n  /variables/topic: This variable is required and has no default."
        );
        assert_eq!(failure.to_json()["error"]["exit_code"], 2);
    }
}
