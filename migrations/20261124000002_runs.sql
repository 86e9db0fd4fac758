-- Runs and their custody: the per-run secrets store, the run row the worker leases, and the
-- provider attempts of a run.
--
-- No column here may hold a provider key, an MCP credential, a raw prompt, raw model output or
-- file content. The variables a user supplies are part of the prompt, so they travel inside the
-- encrypted bundle with the secrets; the run row keeps only the secret-free template snapshot.

-- Envelope-encrypted per-run bundles (the Anthropic key, MCP bearer tokens and the variable
-- values). The bundle is sealed with AES-256-GCM under a fresh per-run data key; the data key is
-- itself sealed under the configured key `key_id`. The run id is the associated data of both, so
-- a bundle copied onto another run does not decrypt. A row is deleted when its run is cleaned up.
create table run_secrets (
    id              uuid primary key,
    run_id          uuid not null unique,
    key_id          text not null,
    wrapped_key     bytea not null,
    wrap_nonce      bytea not null check (length(wrap_nonce) = 12),
    ciphertext      bytea not null,
    nonce           bytea not null check (length(nonce) = 12),
    created_at      timestamptz not null default now()
);

create table runs (
    id                      uuid primary key,
    workspace_id            uuid not null references workspaces (id),
    -- Attribution is frozen at submission: the token's creator, and the token itself.
    creator_app_user_id     uuid not null references app_users (id),
    api_token_id            uuid references api_tokens (id),

    template_name           text not null,
    -- The validated, secret-free template as submitted, and its stable hash.
    template_snapshot       jsonb not null,
    template_hash           text not null check (template_hash like 'sha256:%'),
    -- Idempotency: the same key within a workspace names one run; the request hash (over the
    -- canonical non-secret request) tells a retry from a different request under the same key.
    idempotency_key         text check (length(idempotency_key) between 1 and 255),
    request_hash            text not null,

    status                  text not null default 'queued' check (status in (
                                'queued', 'claiming', 'provisioning', 'session_created',
                                'dispatched', 'provider_running', 'provider_idle',
                                'provider_rescheduled', 'cancelling', 'capturing_outputs',
                                'cleaning_up', 'succeeded', 'failed', 'timed_out', 'cancelled',
                                'cleanup_failed', 'pending_delete', 'deleted')),
    -- The next bounded step the worker will take (provision, dispatch, observe, capture, …).
    phase                   text not null default 'provision',
    -- The terminal status decided before cleanup starts, applied when cleanup ends.
    outcome                 text check (outcome in ('succeeded', 'failed', 'timed_out', 'cancelled')),
    cleanup_status          text not null default 'not_started' check (cleanup_status in (
                                'not_started', 'pending', 'succeeded', 'retained', 'failed')),
    cleanup_policy          text not null check (cleanup_policy in ('delete', 'retain')),
    error_class             text check (error_class in (
                                'transient_provider', 'provider_permanent', 'tenant_permanent',
                                'antpath_bug', 'cancelled_by_user')),
    -- Always passed through the scrubber before it is written.
    error_message           text,

    -- Caps snapshotted from the plan and the request at submission time.
    max_duration_seconds    integer not null check (max_duration_seconds > 0),
    max_spend_usd           numeric(12, 4) check (max_spend_usd > 0),
    max_attempts            integer not null check (max_attempts > 0),

    execution_secret_id     uuid references run_secrets (id) on delete set null,

    -- Lease: who holds the run, the fencing token every write must present, and until when.
    lease_owner             text,
    lease_token             uuid,
    lease_expires_at        timestamptz,
    attempt_count           integer not null default 0,
    -- Consecutive transient failures of the current step, for backoff; reset on progress.
    step_failures           integer not null default 0,
    next_check_at           timestamptz not null default now(),
    priority                smallint not null default 0,

    -- Provider observation: the current session and the id of the last event we stored.
    provider_session_id     text,
    event_cursor            text,

    -- Token usage summed from events (the ledger holds the per-event rows).
    input_tokens            bigint not null default 0,
    output_tokens           bigint not null default 0,
    cache_read_tokens       bigint not null default 0,
    cache_creation_tokens   bigint not null default 0,

    created_at              timestamptz not null default now(),
    updated_at              timestamptz not null default now(),
    dispatched_at           timestamptz,
    ended_at                timestamptz,
    cancel_requested_at     timestamptz,
    pending_delete_at       timestamptz,
    deleted_at              timestamptz,

    -- Lease columns move together.
    check ((lease_token is null) = (lease_expires_at is null))
);

-- One run per idempotency key per workspace. Runs without a key are not constrained.
create unique index runs_idempotency_unique on runs (workspace_id, idempotency_key)
    where idempotency_key is not null;

-- The claim path: workers look for runs that still have work, ordered by priority then due
-- time. Terminal runs (the vast majority over time) are left out of the index entirely.
create index runs_claim on runs (priority desc, next_check_at)
    where status not in ('succeeded', 'failed', 'timed_out', 'cancelled', 'pending_delete', 'deleted');

-- Quota checks count a workspace's or token's active runs at submission and claim time.
create index runs_active_by_workspace on runs (workspace_id)
    where status not in ('succeeded', 'failed', 'timed_out', 'cancelled', 'cleanup_failed',
                         'pending_delete', 'deleted');
create index runs_active_by_token on runs (api_token_id)
    where status not in ('succeeded', 'failed', 'timed_out', 'cancelled', 'cleanup_failed',
                         'pending_delete', 'deleted');

-- Listing a workspace's runs newest first, with cursor pagination on (created_at, id).
create index runs_workspace_recent on runs (workspace_id, created_at desc, id desc);

-- Wake idle workers the moment a run is submitted or a cancel is requested. Polling remains the
-- source of truth; a lost notification only costs latency.
create function notify_run_due() returns trigger language plpgsql as $$
begin
    perform pg_notify('antpath_runs', new.id::text);
    return new;
end;
$$;

create trigger runs_notify_insert after insert on runs
    for each row execute function notify_run_due();

create trigger runs_notify_cancel after update of cancel_requested_at, pending_delete_at on runs
    for each row
    when (new.cancel_requested_at is distinct from old.cancel_requested_at
          or new.pending_delete_at is distinct from old.pending_delete_at)
    execute function notify_run_due();

-- A run may take several provider attempts (a transient failure before dispatch retries with a
-- fresh session).
create table run_attempts (
    id                      uuid primary key,
    run_id                  uuid not null references runs (id) on delete cascade,
    attempt_number          integer not null check (attempt_number > 0),
    provider_session_id     text,
    state                   text not null default 'started'
                            check (state in ('started', 'succeeded', 'failed', 'abandoned')),
    error_class             text,
    error_message           text,
    started_at              timestamptz not null default now(),
    ended_at                timestamptz,
    unique (run_id, attempt_number)
);
