-- The submission lock and the active-run counts, taken by one call.
--
-- A submission is admitted by one statement (`antpath_db::runs::admit`) that calls this
-- function and inserts the run only when both counts are under their caps. Exactness needs
-- the counts to see every run admitted before this one: the workspace row lock serialises the
-- admissions of one workspace, and the counts must be read *after* the lock is granted. A
-- statement's snapshot is taken when it starts, before it waits for the lock, so the lock and
-- the counts cannot share one plain statement; inside a volatile function every statement
-- takes a fresh snapshot (read committed), so here they are two statements in one call. That
-- keeps the whole critical section inside the server: the lock is held for this call, the
-- insert and the commit, never across a round trip to the bff.
--
-- It also returns the plan's run-duration cap, which the admitting statement clamps the run's
-- duration to, so a submission reads its workspace's plan once, under the lock.
--
-- Returns no row when the workspace is not active (deleting, suspended or unknown). The counts
-- stop at the caps (`limit`), so a workspace with many active runs costs no more than its cap.
create function lock_workspace_and_count_active(p_workspace uuid, p_token uuid)
returns table (
    workspace_active bigint,
    token_active bigint,
    max_active_runs integer,
    max_active_runs_per_token integer,
    max_run_duration_seconds integer
)
language plpgsql volatile
as $$
declare
    caps record;
begin
    select w.max_active_runs, w.max_active_runs_per_token, w.max_run_duration_seconds into caps
    from workspaces w where w.id = p_workspace and w.status = 'active'
    for update;
    if not found then
        return;
    end if;
    return query select
        (select count(*) from (select 1 from runs r where r.workspace_id = p_workspace
            and r.status not in ('succeeded', 'failed', 'timed_out', 'cancelled',
                                 'pending_delete', 'deleted')
            limit caps.max_active_runs) w),
        (select count(*) from (select 1 from runs r where r.api_token_id = p_token
            and r.status not in ('succeeded', 'failed', 'timed_out', 'cancelled',
                                 'pending_delete', 'deleted')
            limit caps.max_active_runs_per_token) t),
        caps.max_active_runs,
        caps.max_active_runs_per_token,
        caps.max_run_duration_seconds;
end;
$$;
