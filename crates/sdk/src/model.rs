//! The objects the API returns (snake_case on the wire).
//!
//! Response types accept unknown fields, so a newer server that adds a field does not break an
//! older SDK. Timestamps are UTC.

use antpath_redact::Secret;
use antpath_types::{CleanupState, OutputId, RunId, RunStatus, TokenId, UserId, WorkspaceId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One page of a list: `{"data": [...], "next_cursor": "…" | null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// A run, as `GET /v1/runs/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// The run id.
    pub id: RunId,
    /// Where execution is and, once terminal, the outcome.
    pub status: RunStatus,
    /// The worker's finer-grained step (`provision`, `dispatch`, …, `done`), for display.
    #[serde(default)]
    pub phase: Option<String>,
    /// Whether the provider resources and secrets are gone yet; it may still be under way
    /// when the status is already terminal.
    pub cleanup: Cleanup,
    /// `delete` or `retain`.
    pub cleanup_policy: String,
    /// The provider attempt the run is on, from 1.
    pub attempt: u32,
    /// The most provider attempts the run may make.
    pub max_attempts: u32,
    /// The template's name.
    pub template_name: String,
    /// `sha256:…` of the normalised template.
    pub template_hash: String,
    /// `sha256:…` of the request (template, variables, cleanup, limits).
    pub request_hash: String,
    /// The idempotency key the run was submitted with.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Why the run failed, as a class (`provider_error`, …).
    #[serde(default)]
    pub error_class: Option<String>,
    /// A sentence about the failure.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Token usage reported by the provider.
    #[serde(default)]
    pub usage: Usage,
    /// The effective limits.
    #[serde(default)]
    pub limits: Limits,
    /// When the run was accepted.
    pub created_at: DateTime<Utc>,
    /// When the run last changed.
    pub updated_at: DateTime<Utc>,
    /// When the prompt was sent.
    #[serde(default)]
    pub dispatched_at: Option<DateTime<Utc>>,
    /// When execution ended.
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// When a cancel was requested.
    #[serde(default)]
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// When the run was deleted.
    #[serde(default)]
    pub pending_delete_at: Option<DateTime<Utc>>,
}

impl Run {
    /// True when nothing more is expected to change soon: the outcome is known and cleanup is
    /// no longer pending or running (it may still be `retrying` in the background, or
    /// `abandoned`).
    pub fn is_finished(&self) -> bool {
        self.status.is_terminal() && self.cleanup.is_settled()
    }
}

/// The cleanup of a run, reported beside its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cleanup {
    /// Where cleanup is.
    pub state: CleanupState,
    /// How many cleanup rounds have run.
    #[serde(default)]
    pub attempts: u32,
    /// Why the last round failed, if it did.
    #[serde(default)]
    pub last_error: Option<CleanupError>,
    /// The provider resources given up on (when `abandoned`); they may still exist and cost.
    #[serde(default)]
    pub abandoned_resources: Vec<AbandonedResource>,
}

impl Cleanup {
    /// True once no cleanup round is due or under way now: `succeeded`, `retained`,
    /// `retrying` (the next round is hours away, in the sweeper) or `abandoned`.
    pub fn is_settled(&self) -> bool {
        !matches!(self.state, CleanupState::Pending | CleanupState::Running)
    }

    /// True when the resources are not known to be gone and something may need a look:
    /// `retrying` or `abandoned`.
    pub fn needs_attention(&self) -> bool {
        matches!(self.state, CleanupState::Retrying | CleanupState::Abandoned)
    }
}

/// Why a cleanup round failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupError {
    /// The error class, such as `transient_provider`.
    pub class: String,
    /// A sentence about it.
    #[serde(default)]
    pub message: String,
}

/// A provider resource that cleanup gave up on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbandonedResource {
    /// What it is: `session`, `agent`, `environment`, `vault`, `credential`, ….
    pub kind: String,
    /// The provider's id of it.
    pub id: String,
}

/// Token usage of a run.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Tokens read from the prompt cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Tokens written to the prompt cache.
    #[serde(default)]
    pub cache_creation_tokens: u64,
    /// List cost in US dollars as the provider reported it; `None` until it does.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Seconds the provider session had work running; `None` until reported.
    #[serde(default)]
    pub active_seconds: Option<f64>,
}

/// The effective limits of a run.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Limits {
    /// Wall-clock limit in seconds.
    #[serde(default)]
    pub max_duration_seconds: Option<u64>,
    /// Spend budget in US dollars.
    #[serde(default)]
    pub max_spend_usd: Option<f64>,
}

/// One stored event of a run: metadata only, never message text or tool payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    /// The event id (`evt_…`).
    pub id: String,
    /// Position in the run's event order, from 1.
    pub seq: u64,
    /// The provider's event type, such as `session.status_idle`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The provider attempt it belongs to.
    #[serde(default)]
    pub attempt: Option<u32>,
    /// The provider's own id of the event.
    #[serde(default)]
    pub provider_event_id: Option<String>,
    /// When antpath processed it.
    #[serde(default)]
    pub processed_at: Option<DateTime<Utc>>,
    /// When antpath received it.
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
    /// Small structured facts (`stop_reason`, tool name), never content.
    #[serde(default)]
    pub summary: serde_json::Value,
}

/// `GET /v1/runs/{id}/outputs`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunOutputs {
    /// The captured files.
    #[serde(default)]
    pub outputs: Vec<Output>,
    /// Files the agent wrote that were not captured, and why.
    #[serde(default)]
    pub capture_failures: Vec<CaptureFailure>,
}

/// A captured output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// The output id.
    pub id: OutputId,
    /// The path-safe file name the API made of the agent's name. Downloads still normalise
    /// it and keep names unique (see [`crate::local_file_names`]).
    pub filename: String,
    /// The agent's name verbatim, with control characters escaped (`\u{0}`), for display.
    pub display_name: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// The lowercase hex SHA-256 of its content; downloads are checked against it.
    pub sha256: String,
    /// Its media type, when known.
    #[serde(default)]
    pub content_type: Option<String>,
    /// When it was captured.
    pub created_at: DateTime<Utc>,
}

/// A file that could not be captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureFailure {
    /// The provider's file id.
    #[serde(default)]
    pub provider_file_id: Option<String>,
    /// The file name.
    pub filename: String,
    /// Its size, when known.
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// The reason code, such as `workspace_quota_exceeded`.
    pub reason: String,
    /// A sentence about it.
    #[serde(default)]
    pub message: Option<String>,
    /// When the failure was recorded.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

/// A signed, expiring download URL. It is the permission: do not log it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedLink {
    /// The URL; fetch it without the API token.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// `GET /v1/whoami`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whoami {
    /// The workspace the token belongs to.
    pub workspace: WorkspaceRef,
    /// The token used.
    pub token: TokenRef,
    /// The user who created the token.
    #[serde(default)]
    pub user: Option<UserRef>,
}

/// A workspace, by id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceRef {
    /// Its id.
    pub id: WorkspaceId,
    /// Its name.
    pub name: String,
}

/// The calling token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRef {
    /// Its id.
    pub id: TokenId,
    /// Its name.
    pub name: String,
    /// Its scopes, such as `runs:read`.
    pub scopes: Vec<String>,
}

/// A user, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// Its id.
    pub id: UserId,
}

/// An API token's metadata (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Its id.
    pub id: TokenId,
    /// Its name.
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A freshly created token: the only time its value is shown.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedToken {
    /// The token value (`ant_…`); read it with `expose_secret`.
    pub token: Secret<String>,
    /// Its metadata.
    #[serde(flatten)]
    pub info: ApiToken,
}

/// `{"data": [token, …]}` of `GET /v1/tokens`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TokenList {
    pub(crate) data: Vec<ApiToken>,
}
