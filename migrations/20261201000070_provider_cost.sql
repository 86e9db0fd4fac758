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
