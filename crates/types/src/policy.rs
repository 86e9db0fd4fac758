//! The per-run policy a submission may set within the plan's caps.

use serde::{Deserialize, Serialize};

/// What happens to the Claude-side resources of a run once it ends. The run's secrets are
/// destroyed either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
#[serde(rename_all = "snake_case")]
pub enum ClaudeSessionCleanup {
    /// Delete or archive every provider resource (the default).
    #[default]
    Delete,
    /// Keep the session, agent, environment and vault for inspection.
    Retain,
}

/// Cleanup settings of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CleanupPolicy {
    /// Whether Claude-side resources are deleted or retained.
    pub claude_session: ClaudeSessionCleanup,
}

/// Limits of one run; each is clamped to the workspace plan's cap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunLimits {
    /// Wall-clock limit from dispatch to end of work, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_seconds: Option<u64>,
    /// Spend budget in US dollars, checked against reported token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_spend_usd: Option<f64>,
}

/// The run-level policy of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunPolicy {
    /// Cleanup settings; absent means the template's or the deployment's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<CleanupPolicy>,
    /// Limits; absent fields fall back to the template's, then the plan's.
    #[serde(default)]
    pub limits: RunLimits,
}

impl ClaudeSessionCleanup {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Retain => "retain",
        }
    }
}

impl std::str::FromStr for ClaudeSessionCleanup {
    type Err = crate::UnknownWord;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "delete" => Ok(Self::Delete),
            "retain" => Ok(Self::Retain),
            other => Err(crate::UnknownWord {
                vocabulary: "ClaudeSessionCleanup",
                word: other.to_owned(),
            }),
        }
    }
}
