//! What can stop a step, and which of the five error classes it falls into.

use std::time::Duration;

use antpath_db::DbError;
use antpath_provider::ProviderError;
use antpath_types::ErrorClass;

/// Why a step did not complete.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The lease is gone: stop without writing.
    #[error("the lease was lost")]
    LeaseLost,
    /// The shared provider throttle is empty (or paused); try again after this long.
    #[error("throttled by the shared provider rate limit")]
    Throttled(Duration),
    /// A provider call failed; its class decides.
    #[error("provider call failed: {0}")]
    Provider(#[from] ProviderError),
    /// The tenant's input cannot run (platform rules, missing credentials).
    #[error("{0}")]
    Tenant(String),
    /// antpath misbehaved (undecryptable inputs, an impossible state).
    #[error("{0}")]
    Bug(String),
    /// The database failed; retry the step later.
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
    /// A fault hook simulated a crash: stop at once, leave the lease to expire.
    #[error("simulated crash")]
    Crash,
}

impl From<DbError> for StepError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::LeaseLost => Self::LeaseLost,
            DbError::Sqlx(err) => Self::Db(err),
            other => Self::Bug(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for StepError {
    fn from(err: sqlx::Error) -> Self {
        Self::Db(err)
    }
}

impl StepError {
    /// The class recorded when this error fails the run.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Provider(err) => err.class(),
            Self::Tenant(_) => ErrorClass::TenantPermanent,
            Self::Throttled(_) | Self::Db(_) | Self::LeaseLost | Self::Crash => {
                ErrorClass::TransientProvider
            }
            Self::Bug(_) => ErrorClass::AntpathBug,
        }
    }

    /// The message stored on the run: scrubbed of anything credential-shaped.
    pub fn public_message(&self) -> String {
        antpath_redact::scrub(&self.to_string())
    }
}

/// Shorthand for step results.
pub type StepResult<T> = Result<T, StepError>;
