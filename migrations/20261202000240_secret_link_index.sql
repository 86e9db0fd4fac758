-- An index on the run's link to its sealed inputs, so destroying a run's secrets reads one run.
--
-- `runs.execution_secret_id` references `run_secrets (id)` with `on delete set null`. Deleting
-- a `run_secrets` row therefore makes Postgres look for the runs that still point at it
-- (`update runs set execution_secret_id = null where execution_secret_id = $1`), and without
-- an index on the column that look is a sequential scan of every run ever kept. Every run's
-- last write deletes its secrets, so each ending read the whole table: with 4,000 ended runs
-- the worker's batched closing ran at a quarter of its speed without the secrets' deletion.
--
-- Partial: a run holds the link only until its secrets are destroyed, so the index keeps only
-- the runs not yet ended, and the lookup (an equality, which implies `is not null`) can use it.
create index runs_execution_secret on runs (execution_secret_id)
    where execution_secret_id is not null;
