-- Autovacuum tuned for the tables that behave like queues (issue 12, the scale proof).
--
-- `runs` holds a small set of active rows, each rewritten a dozen times or more (claims, lease
-- renewals, `next_check_at`, phase changes), above a growing history of ended rows that no
-- longer change. The default trigger (20 % of the whole table dead) grows with that history,
-- so with a million ended runs the active rows' dead versions, and the index entries the claim
-- walks, would pile up to 200,000 before a pass. A fixed threshold keeps vacuum proportional to
-- the work done, a higher cost limit keeps each pass short (the hot part is small), and a
-- lower fillfactor leaves room on each page for updates that touch no indexed column to stay
-- there (HOT) without new index entries. The 10,000-run scale proof left about 11 dead
-- versions per run (docs/benchmarks.md, "Scale proof").
alter table runs set (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_limit = 2000,
    fillfactor = 85
);

-- Each bucket row is rewritten on every take (provider calls, submissions, sign-ins): a few
-- hundred rows updated thousands of times a minute. Vacuum it as soon as a few thousand
-- versions are dead, whatever its size.
alter table rate_limit_buckets set (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_cost_limit = 2000,
    fillfactor = 70
);
