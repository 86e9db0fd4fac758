-- Group admission: one statement decides and inserts several submissions at once.
--
-- The bff admitted each submission with its own statement and commit (`…000180`). Most of a
-- statement's cost in Postgres is fixed (parse and bind, executor start-up, re-reading the 26
-- check constraints of `runs`, the commit): on a scratch copy, one admitting insert of one row
-- cost 0.49 ms and one of 16 rows 0.19 ms a row beyond the first. A bff replica now gathers the
-- submissions waiting at the same moment and admits them together
-- (`antpath_db::admission::admit_many`), so that fixed cost, the workspace lock and the counts
-- are paid once per group.
--
-- `admit_decide` makes the decisions, row by row, exactly as one admission at a time would:
-- the rows are taken in order of workspace and, within a workspace, of arrival. So every group
-- locks its rows (each workspace's rate-limit bucket, then the workspace) in one global order
-- and two groups cannot deadlock; the bff names each submission bucket after its workspace. For each row it spends a
-- token of the row's rate-limit bucket; the first row of a workspace that got one takes the
-- workspace lock and the counts (`lock_workspace_and_count_active`, which reads them after
-- the lock is granted); every later row of the workspace counts the rows admitted before it
-- in the group on top. Its answer per row (`ord`, the row's position in the arrays, from 1):
--
--   rate_limited    the bucket was empty; nothing else was done for the row (a run of rows
--                   of one workspace and bucket takes its tokens at once when the bucket holds
--                   them all, which gives every row the answer it would get alone)
--   inactive        the workspace is not active (or does not exist)
--   existing        the idempotency key already names a run of the workspace (a replay wins
--                   over every cap, as before); the caller reads which run and compares hashes
--   duration_over   the row asked explicitly for a longer run than the plan allows
--   over_workspace  the workspace is at its active-run cap
--   over_token      the row's token is at its active-run cap
--   admit           insert it; the run's duration is clamped to `max_run_duration_seconds`
--
-- The caller puts at most one row per (workspace, idempotency key) in a group; a key used
-- twice waits for the next group, which sees the first row's run as `existing`.
-- The rate-limit tokens of a run of consecutive rows in decision order (from `p_at`) that
-- share a workspace and a bucket, taken at once when the bucket holds them all: then every row
-- of the run would have got its token one at a time too, and the run's length is returned.
-- Otherwise (or for a run of one) nothing is taken and minus the run's length is returned: its
-- rows take their tokens one at a time, which decides exactly which of them get one. A group's
-- rows of one workspace all spend from one bucket, and a statement that updated that hot row
-- once per row walked every earlier version of it made in the same transaction.
create function tokens_for_run_of_rows(
    p_positions integer[],
    p_at integer,
    p_workspaces uuid[],
    p_bucket_keys text[],
    p_capacity double precision,
    p_refill_per_second double precision
)
returns integer
language plpgsql volatile
as $$
declare
    lead_pos integer := p_positions[p_at];
    run_length integer := 1;
begin
    while p_at + run_length <= cardinality(p_positions)
          and p_workspaces[p_positions[p_at + run_length]] = p_workspaces[lead_pos]
          and p_bucket_keys[p_positions[p_at + run_length]] = p_bucket_keys[lead_pos] loop
        run_length := run_length + 1;
    end loop;
    -- A bucket's first take inserts it full and does not check the cost against the
    -- capacity, so a run longer than the capacity takes its tokens one at a time.
    if run_length > 1 and run_length <= p_capacity
       and rate_limit_reserve(p_bucket_keys[lead_pos], p_capacity, p_refill_per_second,
                              run_length, 0) is not null then
        return run_length;
    end if;
    return -run_length;
end;
$$;

create function admit_decide(
    p_workspaces uuid[],
    p_tokens uuid[],
    p_keys text[],
    p_explicit_durations integer[],
    p_bucket_keys text[],
    p_bucket_capacities double precision[],
    p_bucket_refills double precision[]
)
returns table (
    ord integer,
    decision text,
    max_active_runs integer,
    max_active_runs_per_token integer,
    max_run_duration_seconds integer
)
language plpgsql volatile
as $$
#variable_conflict use_column
declare
    positions integer[];
    step integer;
    pos integer;
    prepaid integer := 0;
    locked_workspace uuid;
    workspace_open boolean;
    caps record;
    workspace_active bigint;
    tokens uuid[];
    token_active bigint[];
    token_at integer;
begin
    positions := array(
        select s.pos from unnest(p_workspaces) with ordinality as s(workspace, pos)
        order by s.workspace, s.pos
    );
    for step in 1 .. coalesce(cardinality(positions), 0) loop
        pos := positions[step];
        ord := pos;
        max_active_runs := null;
        max_active_runs_per_token := null;
        max_run_duration_seconds := null;
        if prepaid = 0 then
            prepaid := tokens_for_run_of_rows(positions, step, p_workspaces, p_bucket_keys,
                                              p_bucket_capacities[pos], p_bucket_refills[pos]);
        end if;
        if prepaid > 0 then
            prepaid := prepaid - 1;
        else
            prepaid := prepaid + 1;
            if rate_limit_reserve(p_bucket_keys[pos], p_bucket_capacities[pos],
                                  p_bucket_refills[pos], 1, 0) is null then
                decision := 'rate_limited';
                return next;
                continue;
            end if;
        end if;
        if locked_workspace is distinct from p_workspaces[pos] then
            locked_workspace := p_workspaces[pos];
            select * into caps
            from lock_workspace_and_count_active(locked_workspace, p_tokens[pos]);
            workspace_open := found;
            if workspace_open then
                workspace_active := caps.workspace_active;
                tokens := array[p_tokens[pos]];
                token_active := array[caps.token_active];
            end if;
        end if;
        if not workspace_open then
            decision := 'inactive';
            return next;
            continue;
        end if;
        max_active_runs := caps.max_active_runs;
        max_active_runs_per_token := caps.max_active_runs_per_token;
        max_run_duration_seconds := caps.max_run_duration_seconds;
        token_at := array_position(tokens, p_tokens[pos]);
        if token_at is null then
            -- A second token of the workspace in this group: its count, under the lock
            -- already held (the workspace count it also returns is the committed one, which
            -- misses this group's rows, so only the token's is taken).
            tokens := tokens || p_tokens[pos];
            token_active := token_active
                || (select l.token_active
                    from lock_workspace_and_count_active(locked_workspace, p_tokens[pos]) l);
            token_at := cardinality(tokens);
        end if;
        if p_keys[pos] is not null and exists (
            select 1 from runs r
            where r.workspace_id = locked_workspace and r.idempotency_key = p_keys[pos]
        ) then
            decision := 'existing';
        elsif p_explicit_durations[pos] is not null
              and p_explicit_durations[pos] > caps.max_run_duration_seconds then
            decision := 'duration_over';
        elsif workspace_active >= caps.max_active_runs then
            decision := 'over_workspace';
        elsif token_active[token_at] >= caps.max_active_runs_per_token then
            decision := 'over_token';
        else
            decision := 'admit';
            workspace_active := workspace_active + 1;
            token_active[token_at] := token_active[token_at] + 1;
        end if;
        return next;
    end loop;
end;
$$;
