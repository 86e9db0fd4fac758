-- The triggers on updates of `runs` run once per statement instead of once per row, and the
-- phase history no longer checks a foreign key for every row it appends.
--
-- Measured with `pg_stat_statements` (track = all) over the claim bench
-- (`apps/worker/examples/bench/claim.rs`): every run's claim, outcome and closing each
-- changed its status or phase, so each fired two row-level triggers: the run feed's
-- (migration `…270`: a plpgsql call and a look for watches) and the phase history's
-- (migration `…060`: a plpgsql call and a one-row insert into `run_phase_history`, 36 µs a
-- row), whose insert's foreign-key check then locked the run row `for key share` once more
-- (17 µs a row; the row is the one the statement has just updated, so the check could never
-- fail). The claim and the finisher's closing write up to dozens of runs per statement.
--
-- - Both now have statement-level triggers with transition tables, like inserts (migration
--   `…260`): one function call per statement compares each updated row with its old version
--   and acts on the rows that changed. A trigger with transition tables cannot list columns,
--   so these fire for every update of `runs` (a lease renewal too) and compare the columns
--   themselves: one call per statement, however many rows. They fire at the end of the
--   statement, as the row-level after-triggers did, while the statement's row locks are
--   held; so the run feed's argument of migration `…270` (a change either sees the watch or
--   held the run row while the watch was being taken) is unchanged.
-- - The foreign key from `run_phase_history` to `runs` is dropped. Its only other use was the
--   cascade when a run is purged; a statement-level delete trigger does that now, in the
--   deleting statement's transaction. History rows are written only by these triggers, for
--   the run rows the statement has just inserted or updated, so none can name a missing run.

create function record_updated_run_phases() returns trigger language plpgsql as $$
begin
    insert into run_phase_history (run_id, phase, status, cleanup_state)
    select n.id, n.phase, n.status, n.cleanup_state
    from updated_runs n join previous_runs o on o.id = n.id
    where (n.phase, n.status, n.cleanup_state) is distinct from
          (o.phase, o.status, o.cleanup_state);
    return null;
end;
$$;

drop trigger runs_record_phase_update on runs;
create trigger runs_record_phase_update after update on runs
    referencing old table as previous_runs new table as updated_runs
    for each statement execute function record_updated_run_phases();

-- The row-level function of migration `…060` has no trigger left.
drop function record_run_phase();

create function forget_deleted_run_phases() returns trigger language plpgsql as $$
begin
    delete from run_phase_history h using deleted_runs d where h.run_id = d.id;
    return null;
end;
$$;

alter table run_phase_history drop constraint run_phase_history_run_id_fkey;
create trigger runs_forget_phase_history after delete on runs
    referencing old table as deleted_runs
    for each statement execute function forget_deleted_run_phases();

-- The run feed: the columns the API's run object shows (as compared by migration `…070`);
-- a watched run whose shown columns changed notifies once.
create function notify_updated_runs_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('antpath_run_changes', n.id::text)
    from updated_runs n join previous_runs o on o.id = n.id
    where (o.status, o.phase, o.cleanup_state, o.cleanup_rounds,
           o.cleanup_error_class, o.cleanup_error_message, o.cleanup_policy,
           o.attempt_count, o.max_attempts, o.error_class, o.error_message,
           o.input_tokens, o.output_tokens, o.cache_read_tokens,
           o.cache_creation_tokens, o.list_cost_micro_usd, o.active_seconds,
           o.max_duration_seconds, o.max_spend_usd,
           o.dispatched_at, o.ended_at, o.cancel_requested_at, o.pending_delete_at,
           o.deleted_at)
          is distinct from
          (n.status, n.phase, n.cleanup_state, n.cleanup_rounds,
           n.cleanup_error_class, n.cleanup_error_message, n.cleanup_policy,
           n.attempt_count, n.max_attempts, n.error_class, n.error_message,
           n.input_tokens, n.output_tokens, n.cache_read_tokens,
           n.cache_creation_tokens, n.list_cost_micro_usd, n.active_seconds,
           n.max_duration_seconds, n.max_spend_usd,
           n.dispatched_at, n.ended_at, n.cancel_requested_at, n.pending_delete_at,
           n.deleted_at)
      and exists (select from run_watches w where w.run_id = n.id);
    return null;
end;
$$;

drop trigger runs_notify_changed on runs;
create trigger runs_notify_changed after update on runs
    referencing old table as previous_runs new table as updated_runs
    for each statement execute function notify_updated_runs_changed();

-- `notify_run_changed` keeps its row-level trigger for deletes (`runs_notify_removed`).
