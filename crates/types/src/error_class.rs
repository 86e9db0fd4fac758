//! The five classes every failure is sorted into.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why something failed, in the terms that decide what happens next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The provider is overloaded, rate limiting or briefly unreachable: retry with backoff.
    TransientProvider,
    /// The provider rejected our request for a reason retrying will not fix: fail and clean up.
    ProviderPermanent,
    /// The tenant's input is at fault (invalid key, quota, invalid template, an approval-required
    /// tool): fail and clean up, and tell the user what to fix.
    TenantPermanent,
    /// antpath itself misbehaved: fail safely, alert, keep the cleanup work.
    AntpathBug,
    /// The user cancelled: clean up and mark cancelled.
    CancelledByUser,
}

impl ErrorClass {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransientProvider => "transient_provider",
            Self::ProviderPermanent => "provider_permanent",
            Self::TenantPermanent => "tenant_permanent",
            Self::AntpathBug => "antpath_bug",
            Self::CancelledByUser => "cancelled_by_user",
        }
    }

    /// Whether a retry may succeed.
    pub fn is_retryable(self) -> bool {
        self == Self::TransientProvider
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
