-- The history of a run's lifecycle, for the dashboard's timeline.
--
-- The runs row keeps only where a run is now (`status`, `phase`, `cleanup_state`) and a few
-- milestones (`dispatched_at`, `ended_at`, …). The worker moves a run through its phases from
-- many places, so rather than have each of them write history, a trigger appends one row here
-- whenever any of the three changes. The rows hold lifecycle words and a time only: nothing a
-- tenant wrote, nothing secret.

create table run_phase_history (
    id              bigint generated always as identity primary key,
    -- Cascades with the run, so purging a run (or a workspace) takes its history with it.
    run_id          uuid not null references runs (id) on delete cascade,
    phase           text not null,
    status          text not null,
    cleanup_state   text not null,
    entered_at      timestamptz not null default now()
);

-- The timeline reads one run's rows in order.
create index run_phase_history_by_run on run_phase_history (run_id, id);

-- Appends the run's new lifecycle position. On insert it records where the run starts; on
-- update only when the phase, the status or the cleanup state actually changed (the worker
-- rewrites `status = status` when it only moves `next_check_at`).
create function record_run_phase() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT'
       or new.phase is distinct from old.phase
       or new.status is distinct from old.status
       or new.cleanup_state is distinct from old.cleanup_state then
        insert into run_phase_history (run_id, phase, status, cleanup_state)
        values (new.id, new.phase, new.status, new.cleanup_state);
    end if;
    return new;
end;
$$;

create trigger runs_record_phase_insert after insert on runs
    for each row execute function record_run_phase();

-- `update of` lists the columns so an update that touches none of them (a lease renewal,
-- an event cursor) does not even call the function.
create trigger runs_record_phase_update after update of phase, status, cleanup_state on runs
    for each row execute function record_run_phase();

-- Runs that existed before this migration get one row: where they are now, as of their last
-- change. Their earlier history was never recorded.
insert into run_phase_history (run_id, phase, status, cleanup_state, entered_at)
select id, phase, status, cleanup_state, updated_at from runs;
