-- Accounting and abuse control: the usage ledger, the audit trail and durable rate limits.

-- Token and storage usage by workspace and attributed user. Each row names its source (an
-- event or an output) and the pair is unique, so a retried step never counts twice; rows are
-- written in the same transaction as the event or output they account for.
create table usage_ledger (
    id                      bigint generated always as identity primary key,
    workspace_id            uuid not null references workspaces (id),
    run_id                  uuid not null references runs (id) on delete cascade,
    app_user_id             uuid not null references app_users (id),
    source_kind             text not null check (source_kind in ('event', 'output')),
    source_id               uuid not null,
    input_tokens            bigint not null default 0,
    output_tokens           bigint not null default 0,
    cache_read_tokens       bigint not null default 0,
    cache_creation_tokens   bigint not null default 0,
    storage_bytes           bigint not null default 0,
    created_at              timestamptz not null default now(),
    unique (source_kind, source_id)
);

create index usage_ledger_by_workspace on usage_ledger (workspace_id, created_at);

-- Security audit trail. Safe identifiers, action names and non-secret metadata only: never a
-- key, a token, a prompt, an output or a signed URL.
create table audit_logs (
    id                      bigint generated always as identity primary key,
    workspace_id            uuid references workspaces (id) on delete set null,
    actor_app_user_id       uuid references app_users (id),
    actor_token_id          uuid references api_tokens (id),
    action                  text not null,
    target_type             text,
    target_id               text,
    request_id              text,
    metadata                jsonb not null default '{}'::jsonb,
    created_at              timestamptz not null default now()
);

create index audit_logs_by_workspace on audit_logs (workspace_id, created_at desc);

-- Durable token buckets shared by every replica. A bucket is named by what it limits
-- (`submit:ws_…`, `provider:<key hash>`); `tokens` is refilled lazily from `updated_at` at the
-- bucket's rate on each take, inside a single UPDATE, so concurrent replicas never overspend.
create table rate_limit_buckets (
    key                     text primary key,
    tokens                  double precision not null,
    updated_at              timestamptz not null default now(),
    -- A cluster-wide pause (for provider keys that received a retry-after).
    blocked_until           timestamptz
);
