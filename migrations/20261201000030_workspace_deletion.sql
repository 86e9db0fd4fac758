-- Workspace deletion: the owner's request, its progress, and what the sweeper needs to do it in
-- bounded batches.
--
-- A deletion moves through four states, each entered by the sweeper except the first:
--   requested  the owner (or an operator) asked; submissions are refused and every active run
--              is cancel-requested in the same transaction;
--   draining   the sweeper saw it and waits until every run of the workspace is `phase = 'done'`
--              (no worker will touch it again);
--   purging    the stored objects, then the runs and everything that cascades from them, are
--              being removed;
--   deleted    the tokens are revoked and the workspace row stays as a tombstone, so audit rows
--              and their foreign keys keep pointing at something.
-- The workspace row's own `status` moves `active` → `pending_delete` → `deleted` beside it.

create table workspace_deletions (
    -- One deletion per workspace: a second request finds this row and changes nothing.
    workspace_id                uuid primary key references workspaces (id),
    state                       text not null default 'requested'
                                check (state in ('requested', 'draining', 'purging', 'deleted')),
    -- Who asked: a user through one of its tokens (`api`), or an operator's `admin
    -- delete-workspace` command (`admin`, no user or token).
    requested_via               text not null check (requested_via in ('api', 'admin')),
    requested_by_app_user_id    uuid references app_users (id),
    requested_by_token_id       uuid references api_tokens (id),
    requested_at                timestamptz not null default now(),
    draining_at                 timestamptz,
    purging_at                  timestamptz,
    completed_at                timestamptz,
    -- What the purge removed so far, reported in the completion's audit row.
    runs_purged                 bigint not null default 0 check (runs_purged >= 0),
    bytes_purged                bigint not null default 0 check (bytes_purged >= 0),
    updated_at                  timestamptz not null default now(),
    -- An API request names its user and token; an operator's names neither.
    check ((requested_via = 'api') = (requested_by_app_user_id is not null
                                      and requested_by_token_id is not null)),
    -- Each state's timestamp is set once the deletion reaches it.
    check (state = 'requested' or draining_at is not null),
    check (state not in ('purging', 'deleted') or purging_at is not null),
    check ((state = 'deleted') = (completed_at is not null))
);

-- The sweeper's deletion pass looks only at deletions still under way, oldest first.
create index workspace_deletions_unfinished on workspace_deletions (requested_at)
    where state <> 'deleted';

-- The storage-accounting repair sums each workspace's output sizes; with the size in the index
-- the sum is an index-only scan instead of a pass over the whole table. The workspace purge
-- counts the objects left the same way.
create index output_objects_by_workspace on output_objects (workspace_id, size_bytes);
