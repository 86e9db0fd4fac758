-- Spend as the provider reports it: list cost, active seconds and server tool use, beside
-- the token counts we already sum from `span.model_request_end` events.
--
-- The provider's figures are cumulative per session (the session's `usage` on retrieve and
-- each `session.usage` event). One ledger row per run attempt (`source_kind = 'session'`,
-- `source_id` = the attempt, which owns exactly one provider session) holds them; it is
-- rewritten on each observation. Its token columns hold only what the provider counted
-- beyond the attempt's event rows (never negative), so summing a run's ledger rows gives the
-- provider's totals without counting a token twice.

alter table usage_ledger drop constraint usage_ledger_source_kind_check;
alter table usage_ledger add constraint usage_ledger_source_kind_check
    check (source_kind in ('event', 'output', 'session'));

-- List cost in micro-dollars (the provider reports whole cents; a cent is 10 000). Null where
-- the row carries no cost (event and output rows) or the provider has not priced it yet.
alter table usage_ledger add column list_cost_micro_usd bigint
    check (list_cost_micro_usd >= 0);
-- Seconds the session had a thread running: what runtime is priced on. Null when unknown.
alter table usage_ledger add column active_seconds double precision
    check (active_seconds >= 0);
-- Server-executed tool invocations (web search, web fetch).
alter table usage_ledger add column web_search_requests bigint not null default 0
    check (web_search_requests >= 0);
alter table usage_ledger add column web_fetch_requests bigint not null default 0
    check (web_fetch_requests >= 0);

-- The run's totals over its attempts, for the API view; null until the provider reports them.
alter table runs add column list_cost_micro_usd bigint check (list_cost_micro_usd >= 0);
alter table runs add column active_seconds double precision check (active_seconds >= 0);

-- The run object (`RunView`) now shows the cost and active seconds, so a change of either
-- alone must wake the run's live streams too: the run-feed trigger is recreated with them
-- added to the compared columns (otherwise as in 20261201000050_run_feed.sql).
drop trigger runs_notify_changed on runs;
create trigger runs_notify_changed after update on runs
    for each row
    when ((old.status, old.phase, old.cleanup_state, old.cleanup_rounds,
           old.cleanup_error_class, old.cleanup_error_message, old.cleanup_policy,
           old.attempt_count, old.max_attempts, old.error_class, old.error_message,
           old.input_tokens, old.output_tokens, old.cache_read_tokens,
           old.cache_creation_tokens, old.list_cost_micro_usd, old.active_seconds,
           old.max_duration_seconds, old.max_spend_usd,
           old.dispatched_at, old.ended_at, old.cancel_requested_at, old.pending_delete_at,
           old.deleted_at)
          is distinct from
          (new.status, new.phase, new.cleanup_state, new.cleanup_rounds,
           new.cleanup_error_class, new.cleanup_error_message, new.cleanup_policy,
           new.attempt_count, new.max_attempts, new.error_class, new.error_message,
           new.input_tokens, new.output_tokens, new.cache_read_tokens,
           new.cache_creation_tokens, new.list_cost_micro_usd, new.active_seconds,
           new.max_duration_seconds, new.max_spend_usd,
           new.dispatched_at, new.ended_at, new.cancel_requested_at, new.pending_delete_at,
           new.deleted_at))
    execute function notify_run_changed();
