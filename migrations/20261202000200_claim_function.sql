-- The worker's claim as a function, planned once per session, that also starts a queued run's
-- first attempt.
--
-- Planning. The claim (`antpath_db::lifecycle::claim_due`) is one large statement: the due
-- candidates, the per-workspace fairness ranks, the active-run cap and the locking update.
-- Sent as a prepared statement it was planned afresh on every call (0.6-3 ms on 4,000 queued
-- runs, more than it took to execute): Postgres keeps re-planning a statement whose generic
-- plan is estimated dearer than its custom plans, and a parameter in a `LIMIT` makes that
-- estimate dearer although the plan is the same. Inside a plpgsql function the statement's
-- plan is cached for the session, and `plan_cache_mode = force_generic_plan` (set for this
-- function only) keeps the one generic plan, so a claim costs its execution and nothing else.
--
-- Starting. A run that is still `queued`, has no attempt yet and is neither cancelled nor
-- being deleted is moved to `provisioning` with attempt 1 (and its `run_attempts` row) by the
-- claim itself, which the worker's provision step would otherwise do as its first write.
-- The run then shows as started the moment a worker has it, one commit after the
-- submission, and a crash after the claim leaves the same state a crash after that first
-- write did. The caller passes the attempt ids (time-ordered, made by the application like
-- every other id); the claim uses one per started run.
create function claim_due_runs(
    p_owner text,
    p_limit bigint,
    p_lease_seconds double precision,
    p_attempt_ids uuid[]
)
returns table (claimed_id uuid, claimed_token uuid, claimed_expires_at timestamptz)
language plpgsql volatile
set plan_cache_mode = force_generic_plan
as $$
begin
    return query
    with due as (
        select r.id, r.workspace_id, r.status, r.priority, r.next_check_at
        from runs r
        where r.phase <> 'done'
          and r.next_check_at <= now()
          and (r.lease_expires_at is null or r.lease_expires_at <= now())
        order by r.priority desc, r.next_check_at
        limit p_limit * 8
    ),
    started as (
        -- Runs already past `queued` in the workspaces that have a queued candidate, counted
        -- once per workspace (`runs_started_by_workspace` serves it).
        select x.workspace_id, count(*) as n from runs x
        where x.workspace_id in (select d.workspace_id from due d where d.status = 'queued')
          and x.status not in ('queued', 'succeeded', 'failed', 'timed_out', 'cancelled',
                               'pending_delete', 'deleted')
        group by x.workspace_id
    ),
    ranked as (
        select d.id, d.priority, d.next_check_at,
               row_number() over (partition by d.workspace_id
                                  order by d.priority desc, d.next_check_at) as fair_rank,
               case when d.status = 'queued' then
                   row_number() over (partition by d.workspace_id, d.status = 'queued'
                                      order by d.priority desc, d.next_check_at)
               end as queued_rank,
               coalesce(s.n, 0) as started_n,
               w.max_active_runs
        from due d join workspaces w on w.id = d.workspace_id
        left join started s on s.workspace_id = d.workspace_id
    ),
    picked as (
        select k.id from ranked k
        where k.queued_rank is null or k.started_n + k.queued_rank <= k.max_active_runs
        order by k.fair_rank, k.priority desc, k.next_check_at
        limit p_limit
    ),
    locked as (
        -- The lease, due time and phase are re-checked on the locked row: a run another
        -- claimer's holder finished meanwhile is not claimed again.
        select r.id,
               (r.status = 'queued' and r.attempt_count = 0 and r.phase = 'provision'
                and r.cancel_requested_at is null and r.pending_delete_at is null) as starting
        from runs r
        where r.id in (select p.id from picked p)
          and r.phase <> 'done'
          and (r.lease_expires_at is null or r.lease_expires_at <= now())
          and r.next_check_at <= now()
        for update of r skip locked
    ),
    claimed as (
        update runs r
        set lease_owner = p_owner,
            lease_token = gen_random_uuid(),
            lease_expires_at = now() + make_interval(secs => p_lease_seconds),
            updated_at = now(),
            attempt_count = case when l.starting then 1 else r.attempt_count end,
            status = case when l.starting then 'provisioning' else r.status end,
            step_failures = case when l.starting then 0 else r.step_failures end
        from locked l
        where r.id = l.id
        returning r.id, r.lease_token, r.lease_expires_at, l.starting
    ),
    numbered as (
        select c.id, row_number() over (order by c.id) as n from claimed c where c.starting
    ),
    began as (
        insert into run_attempts (id, run_id, attempt_number)
        select p_attempt_ids[n.n], n.id, 1 from numbered n
    )
    select c.id, c.lease_token, c.lease_expires_at from claimed c;
end;
$$;
