//! The response bodies (snake_case), converted from database records, and the opaque list
//! cursors.

use antpath_db::run_outputs::{CaptureFailureRecord, EventRecord, OutputRecord};
use antpath_db::run_reads::{RunCursor, RunRecord};
use antpath_db::token_admin::TokenRecord;
use antpath_types::{
    ClaudeSessionCleanup, CleanupState, ErrorClass, EventId, OutputId, Phase, RunId, RunStatus,
    TokenId,
};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::ApiError;

/// Usage of a run: token totals (the provider's session totals once it reports them, else
/// the sum of its model requests), and the provider-reported list cost and active seconds.
#[derive(Debug, Serialize)]
pub struct UsageView {
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Cache-read tokens.
    pub cache_read_tokens: i64,
    /// Cache-creation tokens.
    pub cache_creation_tokens: i64,
    /// List cost in US dollars as the provider reported it (whole cents, at public list
    /// prices); `null` until it does.
    pub cost_usd: Option<f64>,
    /// Seconds the provider session had a thread running; `null` until reported.
    pub active_seconds: Option<f64>,
}

/// Micro-dollars in a dollar.
const MICROS_PER_USD: f64 = 1_000_000.0;

/// The snapshotted limits of a run.
#[derive(Debug, Serialize)]
pub struct LimitsView {
    /// Duration cap in seconds.
    pub max_duration_seconds: i32,
    /// Spend budget in US dollars.
    pub max_spend_usd: Option<f64>,
}

/// A failure's class and scrubbed message.
#[derive(Debug, Serialize)]
pub struct ErrorView {
    /// The class.
    pub class: ErrorClass,
    /// The scrubbed, bounded message.
    pub message: Option<String>,
}

/// How a run's cleanup stands, beside its outcome.
#[derive(Debug, Serialize)]
pub struct CleanupView {
    /// pending, running, succeeded, retained, retrying or abandoned.
    pub state: CleanupState,
    /// Cleanup rounds so far.
    pub attempts: i32,
    /// The last failed round's error, if any.
    pub last_error: Option<ErrorView>,
    /// What was left on the provider when cleanup gave up: `[{"kind", "id"}]`.
    pub abandoned_resources: serde_json::Value,
}

/// The run object.
#[derive(Debug, Serialize)]
pub struct RunView {
    /// `run_…`.
    pub id: RunId,
    /// Always `run`.
    pub object: &'static str,
    /// Where its work is, then its outcome; never changed by cleanup.
    pub status: RunStatus,
    /// The worker's next step.
    pub phase: Phase,
    /// Cleanup, reported beside the outcome.
    pub cleanup: CleanupView,
    /// `delete` or `retain`.
    pub cleanup_policy: ClaudeSessionCleanup,
    /// The current provider attempt (0 before the first).
    pub attempt: i32,
    /// The most provider attempts the run may take.
    pub max_attempts: i32,
    /// The template's name.
    pub template_name: String,
    /// `sha256:…`.
    pub template_hash: String,
    /// `sha256:…`.
    pub request_hash: String,
    /// The idempotency key, if one was given.
    pub idempotency_key: Option<String>,
    /// Failure class.
    pub error_class: Option<String>,
    /// Scrubbed failure message.
    pub error_message: Option<String>,
    /// Token usage.
    pub usage: UsageView,
    /// Snapshotted limits.
    pub limits: LimitsView,
    /// Accepted at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Prompt sent at.
    pub dispatched_at: Option<DateTime<Utc>>,
    /// Execution ended at.
    pub ended_at: Option<DateTime<Utc>>,
    /// Cancel requested at.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// Delete requested at.
    pub pending_delete_at: Option<DateTime<Utc>>,
}

impl From<RunRecord> for RunView {
    fn from(r: RunRecord) -> Self {
        Self {
            id: r.id,
            object: "run",
            status: r.status,
            phase: r.phase,
            cleanup: CleanupView {
                state: r.cleanup_state,
                attempts: r.cleanup_rounds,
                last_error: r.cleanup_error_class.map(|class| ErrorView {
                    class,
                    message: r.cleanup_error_message,
                }),
                abandoned_resources: r.abandoned_resources,
            },
            cleanup_policy: r.cleanup_policy,
            attempt: r.attempt_count,
            max_attempts: r.max_attempts,
            template_name: r.template_name,
            template_hash: r.template_hash,
            request_hash: r.request_hash,
            idempotency_key: r.idempotency_key,
            error_class: r.error_class,
            error_message: r.error_message,
            usage: UsageView {
                input_tokens: r.input_tokens,
                output_tokens: r.output_tokens,
                cache_read_tokens: r.cache_read_tokens,
                cache_creation_tokens: r.cache_creation_tokens,
                #[expect(
                    clippy::cast_precision_loss,
                    reason = "a run's cost in micro-dollars is far below 2^53"
                )]
                cost_usd: r.list_cost_micro_usd.map(|m| m as f64 / MICROS_PER_USD),
                active_seconds: r.active_seconds,
            },
            limits: LimitsView {
                max_duration_seconds: r.max_duration_seconds,
                max_spend_usd: r.max_spend_usd,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
            dispatched_at: r.dispatched_at,
            ended_at: r.ended_at,
            cancel_requested_at: r.cancel_requested_at,
            pending_delete_at: r.pending_delete_at,
        }
    }
}

/// A page of a list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// The items.
    pub data: Vec<T>,
    /// Pass as `?cursor=` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// One event's metadata.
#[derive(Debug, Serialize)]
pub struct EventView {
    /// `evt_…`.
    pub id: EventId,
    /// Order within the database.
    pub seq: i64,
    /// Provider event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Attempt number.
    pub attempt: i32,
    /// Provider event id.
    pub provider_event_id: String,
    /// Processed by the provider at.
    pub processed_at: Option<DateTime<Utc>>,
    /// Stored at.
    pub received_at: DateTime<Utc>,
    /// Allowlisted metadata.
    pub summary: serde_json::Value,
}

impl From<EventRecord> for EventView {
    fn from(e: EventRecord) -> Self {
        Self {
            id: e.id,
            seq: e.seq,
            event_type: e.event_type,
            attempt: e.attempt,
            provider_event_id: e.provider_event_id,
            processed_at: e.processed_at,
            received_at: e.received_at,
            summary: e.summary,
        }
    }
}

/// A captured output (never its storage key).
#[derive(Debug, Serialize)]
pub struct OutputView {
    /// `out_…`.
    pub id: OutputId,
    /// Filename, normalised for use as a path (control characters dropped).
    pub filename: String,
    /// The provider's filename verbatim, control characters escaped.
    pub display_name: String,
    /// Size.
    pub size_bytes: i64,
    /// Hex SHA-256.
    pub sha256: String,
    /// Media type.
    pub content_type: Option<String>,
    /// Captured at.
    pub created_at: DateTime<Utc>,
}

impl From<OutputRecord> for OutputView {
    fn from(o: OutputRecord) -> Self {
        Self {
            id: o.id,
            filename: o.filename,
            display_name: o.display_name,
            size_bytes: o.size_bytes,
            sha256: o.sha256,
            content_type: o.content_type,
            created_at: o.created_at,
        }
    }
}

/// A file that could not be captured.
#[derive(Debug, Serialize)]
pub struct CaptureFailureView {
    /// Provider file id.
    pub provider_file_id: String,
    /// Filename, normalised.
    pub filename: String,
    /// The provider's filename verbatim, control characters escaped.
    pub display_name: String,
    /// Reported size.
    pub size_bytes: Option<i64>,
    /// Why.
    pub reason: String,
    /// Scrubbed explanation.
    pub message: Option<String>,
    /// Recorded at.
    pub created_at: DateTime<Utc>,
}

impl From<CaptureFailureRecord> for CaptureFailureView {
    fn from(f: CaptureFailureRecord) -> Self {
        Self {
            provider_file_id: f.provider_file_id,
            filename: f.filename,
            display_name: f.display_name,
            size_bytes: f.size_bytes,
            reason: f.reason,
            message: f.message,
            created_at: f.created_at,
        }
    }
}

/// A token (never its value or hash).
#[derive(Debug, Serialize)]
pub struct TokenView {
    /// `tok_…`.
    pub id: TokenId,
    /// Label.
    pub name: String,
    /// `ant_XXXX`.
    pub prefix: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last used at (at most a minute stale).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked at.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRecord> for TokenView {
    fn from(t: TokenRecord) -> Self {
        Self {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            scopes: t.scopes,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// What a run-list cursor looks like (as the OpenAPI document states it): the creation time in
/// microseconds since the epoch (at most 18 digits), a dot, and the run id.
pub const RUN_CURSOR_PATTERN: &str = r"^[0-9]{1,18}\.run_[0-9a-fA-F]{32}$";

/// What an event-list cursor looks like: the last `seq` seen, at most 18 digits (event numbers
/// stay far below 10^18).
pub const EVENT_CURSOR_PATTERN: &str = "^[0-9]{1,18}$";

/// Encodes a run-list cursor: `<microseconds since epoch>.<run id>`, opaque to clients.
pub fn encode_run_cursor(run: &RunRecord) -> String {
    format!("{}.{}", run.created_at.timestamp_micros(), run.id)
}

/// Most digits of a cursor's number, as [`RUN_CURSOR_PATTERN`] and [`EVENT_CURSOR_PATTERN`]
/// state; 18 digits always fit an `i64`.
const MAX_CURSOR_DIGITS: usize = 18;

/// Reads a cursor's number: 1 to [`MAX_CURSOR_DIGITS`] decimal digits, nothing else (no sign,
/// which Rust's integer parser would take).
pub fn cursor_number(text: &str) -> Option<i64> {
    let digits =
        (1..=MAX_CURSOR_DIGITS).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
}

/// Decodes a run-list cursor; anything else is a 422.
pub fn decode_run_cursor(text: &str) -> Result<RunCursor, ApiError> {
    let bad = || ApiError::invalid_at("?cursor", "This cursor is not one we issued.");
    let (micros, id) = text.split_once('.').ok_or_else(bad)?;
    let micros = cursor_number(micros).ok_or_else(bad)?;
    Ok(RunCursor {
        created_at: DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
        id: id.parse().map_err(|_| bad())?,
    })
}
