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
--   rate_limited    the bucket was empty; nothing else was done for the row
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
    pos integer;
    locked_workspace uuid;
    workspace_open boolean;
    caps record;
    workspace_active bigint;
    tokens uuid[];
    token_active bigint[];
    token_at integer;
begin
    for pos in
        select s.pos from unnest(p_workspaces) with ordinality as s(workspace, pos)
        order by s.workspace, s.pos
    loop
        ord := pos;
        max_active_runs := null;
        max_active_runs_per_token := null;
        max_run_duration_seconds := null;
        if rate_limit_reserve(p_bucket_keys[pos], p_bucket_capacities[pos],
                              p_bucket_refills[pos], 1, 0) is null then
            decision := 'rate_limited';
            return next;
            continue;
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
