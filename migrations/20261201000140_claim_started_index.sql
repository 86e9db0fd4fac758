-- The claim's fairness check counts, per workspace with a queued candidate, the runs already
-- past `queued` that still count as active (`lifecycle::claim_due`, its `started` CTE). The
-- only index on `workspace_id` (`runs_active_by_workspace`) also holds every queued run, so on
-- a deep queue the count read thousands of queued rows only to throw them away, and the planner
-- preferred a sequential scan of `runs` (about 3 ms per claim on 4,000 queued runs).
--
-- This partial index holds exactly the rows the count wants: its predicate is the CTE's status
-- filter, word for word, so the planner can prove the query implies it. It stays small (the
-- runs in flight, never the queue or the finished history) and the count becomes an index-only
-- scan bounded by the workspace's started runs.
create index runs_started_by_workspace on runs (workspace_id)
    where status not in ('queued', 'succeeded', 'failed', 'timed_out', 'cancelled',
                         'pending_delete', 'deleted');
