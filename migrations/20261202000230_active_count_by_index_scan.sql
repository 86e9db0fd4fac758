-- The admission's active-run counts read their partial indexes with a plain index scan.
--
-- `lock_workspace_and_count_active` (`…000180`) counts a workspace's and a token's active runs
-- through `runs_active_by_workspace` and `runs_active_by_token`. When a run ends, its entry in
-- those partial indexes stays until vacuum reaches it, pointing at a row version that is no
-- longer active. The planner read the indexes with a bitmap scan, which visits the heap page of
-- every such entry on every call and never learns that it is dead: a workspace that had ended
-- 8,000 runs since the last vacuum paid 2,500 page visits and 6 ms per count, inside its
-- submission lock, so its submissions slowed down the more of them had finished. A plain index
-- scan marks an entry it finds dead to every transaction as dead in the index itself, so each
-- ended run costs one visit, once, and the next count reads only the active entries (0.1 ms
-- for the same workspace). This pins that scan for the function: with bitmap scans off alone,
-- statistics from before the runs ended (many active rows) make the planner read the whole
-- table instead, so sequential scans are off for it too. Both counts have their partial index,
-- so no plan needs either.
alter function lock_workspace_and_count_active(uuid, uuid)
    set enable_bitmapscan = off
    set enable_seqscan = off;
