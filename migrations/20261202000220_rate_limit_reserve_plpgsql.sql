-- `rate_limit_reserve` in plpgsql instead of SQL, with the same rule and the same answers.
--
-- A SQL function whose body is an `INSERT … ON CONFLICT` cannot be inlined into its caller, and
-- Postgres 15 parses and plans such a body afresh on every call. Every submission calls it
-- (`antpath_db::runs::admit`), so every submission paid for parsing and planning it; a profile
-- of the bff load bench showed the parser and the plan-tree reader among Postgres's busiest
-- functions. A plpgsql function keeps the statement's plan for the life of the session.
--
-- The statement is unchanged (see migration `…190` for the rule): it refills the bucket, spends
-- `p_cost` if that leaves at least `-p_max_debt` and the bucket is not paused, and returns the
-- tokens left, or null when nothing was spent (the conditional update returned no row).
create or replace function rate_limit_reserve(
    p_key text,
    p_capacity double precision,
    p_refill_per_second double precision,
    p_cost double precision,
    p_max_debt double precision
)
returns double precision
language plpgsql volatile
as $$
declare
    left_after double precision;
begin
    insert into rate_limit_buckets as b (key, tokens, updated_at)
    values (p_key, p_capacity - p_cost, now())
    on conflict (key) do update set
        tokens = least(p_capacity, b.tokens
                 + extract(epoch from now() - b.updated_at)::float8 * p_refill_per_second) - p_cost,
        updated_at = now()
    where (b.blocked_until is null or b.blocked_until <= now())
      and least(p_capacity, b.tokens
          + extract(epoch from now() - b.updated_at)::float8 * p_refill_per_second)
          - p_cost >= -p_max_debt
    returning b.tokens into left_after;
    return left_after;
end;
$$;
