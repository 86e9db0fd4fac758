//! Writes of the observation step: event metadata, the usage ledger and the run's totals, and
//! the observation cursor, all in the caller's transaction so they never drift apart.

use antpath_types::{EventId, RunId, RunStatus, UserId, WorkspaceId};
use sqlx::PgConnection;

use crate::DbError;
use crate::lifecycle::{Fence, one_row};

/// Token counts reported by one provider event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Input tokens.
    pub input: i64,
    /// Output tokens.
    pub output: i64,
    /// Tokens read from the prompt cache.
    pub cache_read: i64,
    /// Tokens written to the prompt cache.
    pub cache_creation: i64,
}

impl Tokens {
    /// True when every count is zero.
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// Who a ledger row is attributed to.
#[derive(Debug, Clone, Copy)]
pub struct Attribution {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The run.
    pub run_id: RunId,
    /// The user frozen on the run.
    pub user_id: UserId,
}

/// Adds the tokens of a newly stored event to the ledger and to the run's totals. Call it only
/// for an event [`crate::events::insert_event_once`] actually inserted, in the same
/// transaction; the ledger's unique source makes a repeat a no-op either way.
#[tracing::instrument(skip_all, fields(run.id = %who.run_id))]
pub async fn account_event(
    tx: &mut PgConnection,
    who: Attribution,
    event_id: EventId,
    tokens: Tokens,
) -> Result<(), sqlx::Error> {
    let inserted = sqlx::query!(
        "insert into usage_ledger
            (workspace_id, run_id, app_user_id, source_kind, source_id, input_tokens,
             output_tokens, cache_read_tokens, cache_creation_tokens)
         values ($1, $2, $3, 'event', $4, $5, $6, $7, $8)
         on conflict (source_kind, source_id) do nothing",
        who.workspace_id as WorkspaceId,
        who.run_id as RunId,
        who.user_id as UserId,
        event_id.as_uuid(),
        tokens.input,
        tokens.output,
        tokens.cache_read,
        tokens.cache_creation,
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 1 {
        sqlx::query!(
            "update runs set input_tokens = input_tokens + $2, output_tokens = output_tokens + $3,
                 cache_read_tokens = cache_read_tokens + $4,
                 cache_creation_tokens = cache_creation_tokens + $5
             where id = $1",
            who.run_id as RunId,
            tokens.input,
            tokens.output,
            tokens.cache_read,
            tokens.cache_creation,
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The end of one observation poll.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The status mirroring the provider session.
    pub status: RunStatus,
    /// The observation cursor after this poll.
    pub cursor: Option<&'a str>,
    /// The next poll interval.
    pub poll_interval_ms: i32,
    /// Seconds until the next poll (the interval with jitter).
    pub delay_seconds: f64,
}

/// Saves the cursor and status and schedules the next poll, releasing the lease. Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn save_progress(
    tx: &mut PgConnection,
    fence: Fence,
    progress: Progress<'_>,
) -> Result<(), DbError> {
    let done = sqlx::query!(
        "update runs set status = $3, event_cursor = $4, poll_interval_ms = $5,
             next_check_at = now() + make_interval(secs => $6::float8), step_failures = 0,
             updated_at = now(), lease_owner = null, lease_token = null, lease_expires_at = null
         where id = $1 and lease_token = $2 and lease_expires_at > now()",
        fence.run_id as RunId,
        fence.token,
        progress.status as RunStatus,
        progress.cursor,
        progress.poll_interval_ms,
        progress.delay_seconds,
    )
    .execute(&mut *tx)
    .await?;
    one_row(done.rows_affected())
}

/// Saves only the cursor (events stored ahead of a decision taken in the same step). Fenced.
#[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
pub async fn save_cursor(
    tx: &mut PgConnection,
    fence: Fence,
    cursor: Option<&str>,
) -> Result<(), DbError> {
    let done = sqlx::query!(
        "update runs set event_cursor = $3, updated_at = now()
         where id = $1 and lease_token = $2 and lease_expires_at > now()",
        fence.run_id as RunId,
        fence.token,
        cursor,
    )
    .execute(&mut *tx)
    .await?;
    one_row(done.rows_affected())
}
