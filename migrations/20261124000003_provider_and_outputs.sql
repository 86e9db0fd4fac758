-- What a run leaves behind: the journal of provider resources, observed event metadata,
-- captured outputs and the cleanup record.

-- The journal of provider resources. A row is written in state `intended`, with the
-- deterministic name and metadata the resource will carry, *before* the provider call that
-- creates it. If the worker dies between the create and recording the provider id, the next
-- holder of the lease finds the intended row, lists the provider's resources, and adopts the
-- one whose metadata matches instead of creating a duplicate.
create table provider_resources (
    id                  uuid primary key,
    run_id              uuid not null references runs (id) on delete cascade,
    workspace_id        uuid not null references workspaces (id),
    attempt_number      integer not null check (attempt_number > 0),
    kind                text not null check (kind in (
                            'environment', 'agent', 'vault', 'credential', 'session', 'file')),
    -- Which resource of the run this is (`environment`, `credential:docs`, …); unique per attempt.
    logical_key         text not null,
    provider_name       text not null,
    provider_metadata   jsonb not null default '{}'::jsonb,
    provider_id         text,
    state               text not null default 'intended' check (state in (
                            'intended', 'created', 'deleted', 'archived', 'retained', 'cleanup_failed', 'abandoned')),
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    unique (run_id, attempt_number, logical_key),
    check (state = 'intended' or state = 'abandoned' or provider_id is not null)
);

-- The sweeper's reconciliation pass looks for intended rows that never got a provider id.
create index provider_resources_unfinished on provider_resources (created_at)
    where state in ('intended', 'created', 'cleanup_failed');

-- Event metadata only: type, ids, timestamps, usage, stop reason, error type. Never message
-- text, tool inputs or results.
create table run_events (
    id                  uuid primary key,
    -- Total order of events within the database, for stable listing.
    seq                 bigint generated always as identity,
    run_id              uuid not null references runs (id) on delete cascade,
    attempt_id          uuid not null references run_attempts (id) on delete cascade,
    workspace_id        uuid not null references workspaces (id),
    provider_event_id   text not null,
    event_type          text not null,
    processed_at        timestamptz,
    received_at         timestamptz not null default now(),
    -- Redacted, allowlisted fields (stop_reason, error type, model, token counts).
    summary             jsonb not null default '{}'::jsonb,
    -- The provider event id is the dedupe authority: the same event seen twice is one row.
    unique (attempt_id, provider_event_id)
);

create index run_events_by_run on run_events (run_id, seq);

create table output_objects (
    id                  uuid primary key,
    run_id              uuid not null references runs (id) on delete cascade,
    workspace_id        uuid not null references workspaces (id),
    provider_file_id    text not null,
    filename            text not null,
    storage_key         text not null unique,
    size_bytes          bigint not null check (size_bytes >= 0),
    sha256              text not null check (length(sha256) = 64),
    content_type        text,
    created_at          timestamptz not null default now(),
    -- Capture is idempotent across retries: a provider file is stored once per run.
    unique (run_id, provider_file_id)
);

create table output_capture_failures (
    id                  uuid primary key,
    run_id              uuid not null references runs (id) on delete cascade,
    workspace_id        uuid not null references workspaces (id),
    provider_file_id    text not null,
    filename            text not null,
    -- As reported by the provider's listing; may be absent.
    size_bytes          bigint,
    reason              text not null check (reason in (
                            'workspace_quota_exceeded', 'download_failed', 'upload_failed',
                            'size_cap_exceeded', 'size_mismatch')),
    -- Scrubbed before it is written.
    message             text,
    created_at          timestamptz not null default now(),
    unique (run_id, provider_file_id)
);

create table cleanup_attempts (
    id                  uuid primary key,
    run_id              uuid not null references runs (id) on delete cascade,
    -- Null for the antpath-side secrets entry, which is not a provider resource.
    resource_id         uuid references provider_resources (id) on delete cascade,
    action              text not null,
    status              text not null check (status in ('succeeded', 'failed', 'skipped')),
    attempt_number      integer not null check (attempt_number > 0),
    error_class         text,
    error_message       text,
    created_at          timestamptz not null default now()
);

create index cleanup_attempts_by_run on cleanup_attempts (run_id, created_at);
