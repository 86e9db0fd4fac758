-- Worker lifecycle bookkeeping that the first schema left out.
--
-- `poll_interval_ms` is the adaptive observation interval of a running session: it starts at
-- `limits.poll_base_ms`, doubles while a poll finds no new event, and drops back to the base as
-- soon as one arrives. Keeping it on the row (rather than in a worker's memory) lets any replica
-- take over the polling of a run without resetting its rhythm.
alter table runs add column poll_interval_ms integer not null default 0
    check (poll_interval_ms >= 0);

-- When the worker first saw the provider's work end (idle, terminated, or an interrupt). Output
-- capture waits a short grace period after it for files the provider lists late.
alter table runs add column work_ended_at timestamptz;

-- The sweeper's lease pass looks for runs whose lease has expired without being released.
create index runs_lease_expiry on runs (lease_expires_at) where lease_token is not null;

-- The sweeper's purge pass looks for runs the user deleted.
create index runs_pending_delete on runs (pending_delete_at)
    where pending_delete_at is not null and deleted_at is null;
