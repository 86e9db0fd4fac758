-- The run feed notifies only about runs that some stream watches.
--
-- Every change the API shows used to call `pg_notify` from a trigger, in the worker's own
-- transaction. A transaction that notifies takes one lock for the whole cluster at commit and
-- keeps it until its commit record is flushed, so every notifying commit of every run waited
-- for the one before it: the worker's commits could not share a flush, and claiming and ending
-- runs topped out at one run per fsync whatever the number of workers. Almost no run has a
-- stream open on it, so almost all of those notifications went to no one.
--
-- A bff replica now records the runs it streams in `run_watches` (a row per run it streams),
-- and the triggers notify only when such a row exists. An unwatched run's commits notify no one
-- and flush together with any others.
--
-- Why no change can slip between a stream's first read and its watch:
-- * A replica opens a topic with one transaction that inserts its watch row and then locks the
--   run row `for update`, and reads the run only after that transaction has committed.
-- * Every transaction whose change notifies holds a lock on the run row from before its trigger
--   looks for watches until it ends: an update of `runs` holds the row it changed, and the
--   triggers on the run's other tables take `for key share` on it first.
-- * So a change either looks for watches after the watch row was committed (and notifies), or
--   held the run row while the replica asked for it, and the replica's read comes after its
--   commit and sees it. Every writer here runs at `read committed`, where each statement of a
--   trigger function sees what was committed before it started.
--
-- The table is unlogged: watches are worth nothing after a crash of the server, and a replica
-- writes its watches again whenever its `LISTEN` connection comes back, which is what a
-- restarted or promoted server makes it do. A replica renews its rows every minute and
-- deletes them when its streams end; the sweeper deletes rows a dead replica left behind
-- (a stale row costs a notification nobody hears, never a missed one).

create unlogged table run_watches (
    run_id      uuid not null,
    -- The replica's topic of the run (a random id each time a replica starts streaming the
    -- run), so that a topic ending never deletes the watch of the one that replaced it.
    topic       uuid not null,
    -- The bff replica (a random id per process), which renews its rows together.
    replica     uuid not null,
    renewed_at  timestamptz not null default now(),
    primary key (run_id, topic)
);

create index run_watches_renewed on run_watches (renewed_at);

-- For a row of `runs`. A removed run always notifies: purges are rare, and its watch rows may
-- already be gone.
create or replace function notify_run_changed() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        perform pg_notify('antpath_run_changes', old.id::text);
    elsif exists (select from run_watches where run_id = new.id) then
        perform pg_notify('antpath_run_changes', new.id::text);
    end if;
    return null;
end;
$$;

-- For an event or a provider resource of a run: lock the run row (see above), then look.
create or replace function notify_run_part_changed() returns trigger language plpgsql as $$
begin
    perform from runs where id = new.run_id for key share;
    if exists (select from run_watches where run_id = new.run_id) then
        perform pg_notify('antpath_run_changes', new.run_id::text);
    end if;
    return null;
end;
$$;
