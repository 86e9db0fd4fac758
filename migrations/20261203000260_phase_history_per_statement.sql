-- A new run's first phase-history row is written once per inserting statement, and new
-- template snapshots are compressed with lz4.
--
-- Both are costs of the admitting statement (`admit_decide` and its insert, migration `…250`),
-- which runs inside the workspace's lock, so one workspace's submissions wait for them one
-- after another:
--
-- - The row-level insert trigger called a plpgsql function and ran its one-row insert for
--   every run, about 0.13 ms a run on a scratch copy of the schema. A statement-level trigger
--   with a transition table appends the rows of every run the statement inserted with one
--   insert. It sees only the runs actually inserted (not those an `on conflict do nothing`
--   skipped), and `entered_at` is the transaction's time as before. Updates keep their
--   row-level trigger: it lists the columns it watches, which a trigger with a transition
--   table cannot.
-- - A snapshot larger than the TOAST threshold (about 2 kB) was compressed with pglz, which
--   showed in a profile of the submission bench; lz4 compresses several times faster. Stored
--   snapshots keep their pglz form until rewritten; both read the same.
create function record_inserted_run_phases() returns trigger language plpgsql as $$
begin
    insert into run_phase_history (run_id, phase, status, cleanup_state)
    select id, phase, status, cleanup_state from inserted_runs;
    return null;
end;
$$;

drop trigger runs_record_phase_insert on runs;

create trigger runs_record_phase_insert after insert on runs
    referencing new table as inserted_runs
    for each statement execute function record_inserted_run_phases();

alter table runs alter column template_snapshot set compression lz4;
