-- A run's status is its outcome; cleanup is reported beside it.
--
-- Before this migration a run whose work was over sat in `cleaning_up` (or `cleanup_failed`)
-- until its provider resources were gone, so the outcome hid in `runs.outcome`, the run kept
-- counting as active, and a struggling cleanup rewrote the status. Now the status becomes the
-- outcome the moment cleanup starts, and `cleanup_state` with its own attempts and last error
-- tells how cleanup stands. `phase` is what tells a worker whether a run still needs it.

-- 1. Statuses: `cleaning_up` and `cleanup_failed` are gone; runs in them take their outcome.
alter table runs drop constraint runs_status_check;
update runs set status = coalesce(outcome, 'failed')
    where status in ('cleaning_up', 'cleanup_failed');
alter table runs add constraint runs_status_check check (status in (
    'queued', 'claiming', 'provisioning', 'session_created', 'dispatched', 'provider_running',
    'provider_idle', 'provider_rescheduled', 'cancelling', 'capturing_outputs',
    'succeeded', 'failed', 'timed_out', 'cancelled', 'pending_delete', 'deleted'));

-- 2. The phase is a closed vocabulary (the worker's `Phase` enum); `done` means no worker will
-- touch the run again.
alter table runs add constraint runs_phase_check check (phase in (
    'provision', 'session', 'dispatch', 'observe', 'interrupt', 'capture', 'cleanup', 'done'));

-- 3. Cleanup state, replacing `cleanup_status`: pending (work not over), running (first round
-- due or under way), retrying (a round failed; backoff until the give-up window ends),
-- succeeded, retained, abandoned (gave up: secrets destroyed, leftovers listed).
alter table runs rename column cleanup_status to cleanup_state;
alter table runs drop constraint runs_cleanup_status_check;
update runs set cleanup_state = case cleanup_state
    when 'not_started' then 'pending'
    when 'pending' then 'running'
    when 'failed' then 'retrying'
    else cleanup_state end;
alter table runs alter column cleanup_state set default 'pending';
alter table runs add constraint runs_cleanup_state_check check (cleanup_state in (
    'pending', 'running', 'succeeded', 'retained', 'retrying', 'abandoned'));

-- Cleanup rounds so far, and the last round's failure (scrubbed and bounded before writing).
alter table runs add column cleanup_rounds integer not null default 0
    check (cleanup_rounds >= 0);
alter table runs add column cleanup_error_class text check (cleanup_error_class in (
    'transient_provider', 'provider_permanent', 'tenant_permanent', 'antpath_bug',
    'cancelled_by_user'));
alter table runs add column cleanup_error_message text
    check (length(cleanup_error_message) <= 2048);

-- Stored error messages are bounded so that no provider reply can bloat every list response.
update runs set error_message = left(error_message, 2048) where length(error_message) > 2048;
alter table runs add constraint runs_error_message_length check (length(error_message) <= 2048);

-- 4. The claim path now looks for runs whose phase is not `done`, whatever their status: a
-- run that succeeded may still be cleaning up. Finished runs stay out of the index.
drop index runs_claim;
create index runs_claim on runs (priority desc, next_check_at) where phase <> 'done';

-- Runs whose work is over no longer count as active, even while their cleanup retries.
drop index runs_active_by_workspace;
drop index runs_active_by_token;
create index runs_active_by_workspace on runs (workspace_id)
    where status not in ('succeeded', 'failed', 'timed_out', 'cancelled', 'pending_delete',
                         'deleted');
create index runs_active_by_token on runs (api_token_id)
    where status not in ('succeeded', 'failed', 'timed_out', 'cancelled', 'pending_delete',
                         'deleted');

-- 5. Provider attempts: whether the attempt's session used a tool (a new attempt after tool
-- use may repeat side effects, so it needs the template's opt-in), and the attempt's state
-- `rescheduled` when a fresh session replaced it.
alter table run_attempts add column used_tools boolean not null default false;
alter table run_attempts drop constraint run_attempts_state_check;
alter table run_attempts add constraint run_attempts_state_check check (state in (
    'started', 'succeeded', 'failed', 'rescheduled', 'abandoned'));

-- 6. Journal states: `never_created` (no provider resource carries the intended metadata)
-- is now told apart from `abandoned` (left on the provider when cleanup gave up).
alter table provider_resources drop constraint provider_resources_state_check;
alter table provider_resources drop constraint provider_resources_check;
update provider_resources set state = 'never_created'
    where state = 'abandoned' and provider_id is null;
alter table provider_resources add constraint provider_resources_state_check check (state in (
    'intended', 'created', 'deleted', 'archived', 'retained', 'cleanup_failed', 'never_created',
    'abandoned'));
alter table provider_resources add constraint provider_resources_id_known
    check (state in ('intended', 'never_created') or provider_id is not null);
-- Resources the leak scan found on the provider without a journal row of their own are
-- recorded here too (`found_by_scan`), so the run shows them and cleanup covers them.
alter table provider_resources add column found_by_scan boolean not null default false;

-- 7. Output names: the provider may put any bytes in a filename (a NUL among them, which a
-- Postgres text column refuses). `filename` keeps a normalised, path-safe name; `display_name`
-- keeps the provider's name verbatim with control characters escaped.
alter table output_objects add column display_name text;
update output_objects set display_name = filename where display_name is null;
alter table output_objects alter column display_name set not null;
alter table output_capture_failures add column display_name text;
update output_capture_failures set display_name = filename where display_name is null;
alter table output_capture_failures alter column display_name set not null;
alter table output_capture_failures drop constraint output_capture_failures_reason_check;
alter table output_capture_failures add constraint output_capture_failures_reason_check
    check (reason in ('workspace_quota_exceeded', 'download_failed', 'upload_failed',
                      'size_cap_exceeded', 'size_mismatch', 'capture_abandoned'));
