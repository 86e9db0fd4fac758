//! Writes of the observation step: event metadata, the usage ledger and the run's totals, and
//! the observation cursor, all in the caller's transaction so they never drift apart.

use antpath_types::{AttemptId, EventId, RunId, RunStatus, UserId, WorkspaceId};
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

/// A provider session's cumulative usage as the provider reports it (the session's `usage`
/// on retrieve, or a `session.usage` event).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProviderUsage {
    /// Token totals of the session.
    pub tokens: Tokens,
    /// List cost in micro-dollars; `None` until the provider prices the session.
    pub list_cost_micro_usd: Option<i64>,
    /// Seconds with a thread running; `None` when not reported.
    pub active_seconds: Option<f64>,
    /// Server-executed web searches.
    pub web_search_requests: i64,
    /// Server-executed web fetches.
    pub web_fetch_requests: i64,
}

/// Records the provider's cumulative usage of the session of `attempt_id` in its ledger row
/// (`source_kind = 'session'`), then recomputes the run's totals from its ledger. The row's
/// tokens are what the provider counted beyond the attempt's event rows, so nothing is counted
/// twice; cost and active seconds never go down (a stale read cannot undo a later one).
#[tracing::instrument(skip_all, fields(run.id = %who.run_id))]
pub async fn account_session(
    tx: &mut PgConnection,
    who: Attribution,
    attempt_id: AttemptId,
    usage: ProviderUsage,
) -> Result<(), sqlx::Error> {
    let tokens = usage.tokens;
    sqlx::query!(
        "with counted as (
             select coalesce(sum(l.input_tokens), 0)::bigint as input,
                    coalesce(sum(l.output_tokens), 0)::bigint as output,
                    coalesce(sum(l.cache_read_tokens), 0)::bigint as cache_read,
                    coalesce(sum(l.cache_creation_tokens), 0)::bigint as cache_creation
             from usage_ledger l join run_events e on e.id = l.source_id
             where l.source_kind = 'event' and e.attempt_id = $4
         )
         insert into usage_ledger
             (workspace_id, run_id, app_user_id, source_kind, source_id, input_tokens,
              output_tokens, cache_read_tokens, cache_creation_tokens, list_cost_micro_usd,
              active_seconds, web_search_requests, web_fetch_requests)
         select $1, $2, $3, 'session', $4, greatest($5 - input, 0), greatest($6 - output, 0),
                greatest($7 - cache_read, 0), greatest($8 - cache_creation, 0), $9, $10, $11, $12
         from counted
         on conflict (source_kind, source_id) do update set
             input_tokens = excluded.input_tokens,
             output_tokens = excluded.output_tokens,
             cache_read_tokens = excluded.cache_read_tokens,
             cache_creation_tokens = excluded.cache_creation_tokens,
             list_cost_micro_usd = greatest(usage_ledger.list_cost_micro_usd,
                                            excluded.list_cost_micro_usd),
             active_seconds = greatest(usage_ledger.active_seconds, excluded.active_seconds),
             web_search_requests = greatest(usage_ledger.web_search_requests,
                                            excluded.web_search_requests),
             web_fetch_requests = greatest(usage_ledger.web_fetch_requests,
                                           excluded.web_fetch_requests)",
        who.workspace_id as WorkspaceId,
        who.run_id as RunId,
        who.user_id as UserId,
        attempt_id.as_uuid(),
        tokens.input,
        tokens.output,
        tokens.cache_read,
        tokens.cache_creation,
        usage.list_cost_micro_usd,
        usage.active_seconds,
        usage.web_search_requests,
        usage.web_fetch_requests,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update runs set input_tokens = t.input, output_tokens = t.output,
             cache_read_tokens = t.cache_read, cache_creation_tokens = t.cache_creation,
             list_cost_micro_usd = t.cost, active_seconds = t.active
         from (select coalesce(sum(input_tokens), 0)::bigint as input,
                      coalesce(sum(output_tokens), 0)::bigint as output,
                      coalesce(sum(cache_read_tokens), 0)::bigint as cache_read,
                      coalesce(sum(cache_creation_tokens), 0)::bigint as cache_creation,
                      sum(list_cost_micro_usd)::bigint as cost,
                      sum(active_seconds) as active
               from usage_ledger where run_id = $1 and source_kind in ('event', 'session')) t
         where runs.id = $1",
        who.run_id as RunId,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
