-- The run feed: wake-ups for the bff's live run streams (`GET /v1/runs/{id}/stream`).
--
-- Each bff replica holds one `LISTEN antpath_run_changes` connection and fans what it hears
-- out to its open streams in memory (see docs/architecture.md, "Live run streams"). The
-- payload is only the run's id, never data: a replica that has a stream open on that run reads
-- the run and its new events itself, once per notification. Postgres folds identical
-- notifications of one transaction into one, so a worker step that stores ten events and
-- updates the run wakes each replica once.
--
-- Notifications only cut latency here too: a replica whose listening connection dropped
-- re-reads every run it streams once it is back, so a lost notification delays an update and
-- never loses it. The `antpath_runs` channel (which wakes workers) is left alone.

-- For a row of `runs`: its own id (the old row's on delete).
create function notify_run_changed() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        perform pg_notify('antpath_run_changes', old.id::text);
    else
        perform pg_notify('antpath_run_changes', new.id::text);
    end if;
    return null;
end;
$$;

-- For a row that belongs to a run (an event, a provider resource): its `run_id`.
create function notify_run_part_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('antpath_run_changes', new.run_id::text);
    return null;
end;
$$;

-- A change of anything the run object of the API shows (`RunView`). Bookkeeping the API does
-- not show (the lease, `next_check_at`, `poll_interval_ms`, `step_failures`, the provider
-- cursor, `updated_at` on its own) changes often and wakes no one.
create trigger runs_notify_changed after update on runs
    for each row
    when ((old.status, old.phase, old.cleanup_state, old.cleanup_rounds,
           old.cleanup_error_class, old.cleanup_error_message, old.cleanup_policy,
           old.attempt_count, old.max_attempts, old.error_class, old.error_message,
           old.input_tokens, old.output_tokens, old.cache_read_tokens,
           old.cache_creation_tokens, old.max_duration_seconds, old.max_spend_usd,
           old.dispatched_at, old.ended_at, old.cancel_requested_at, old.pending_delete_at,
           old.deleted_at)
          is distinct from
          (new.status, new.phase, new.cleanup_state, new.cleanup_rounds,
           new.cleanup_error_class, new.cleanup_error_message, new.cleanup_policy,
           new.attempt_count, new.max_attempts, new.error_class, new.error_message,
           new.input_tokens, new.output_tokens, new.cache_read_tokens,
           new.cache_creation_tokens, new.max_duration_seconds, new.max_spend_usd,
           new.dispatched_at, new.ended_at, new.cancel_requested_at, new.pending_delete_at,
           new.deleted_at))
    execute function notify_run_changed();

-- A removed run (a workspace purge deletes its rows): open streams on it end.
create trigger runs_notify_removed after delete on runs
    for each row execute function notify_run_changed();

-- A stored event. No `update` trigger: event rows are written once.
create trigger run_events_notify_inserted after insert on run_events
    for each row execute function notify_run_part_changed();

-- The run object lists the provider resources cleanup gave up on (`abandoned_resources`),
-- read from this table: a resource entering or leaving `abandoned` changes the run object.
create trigger provider_resources_notify_abandoned after update of state on provider_resources
    for each row
    when ((old.state = 'abandoned') is distinct from (new.state = 'abandoned'))
    execute function notify_run_part_changed();
