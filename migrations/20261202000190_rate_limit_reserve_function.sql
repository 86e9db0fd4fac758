-- The token-bucket take as a function, so that the statement admitting a submission can take
-- its rate-limit token in the same round trip (`antpath_db::runs::admit`) and every other
-- caller (`antpath_db::rate_limits::reserve`) spends from a bucket by the very same rule.
--
-- Refills the bucket from the time since its last update (up to `p_capacity`), then spends
-- `p_cost` if that leaves at least `-p_max_debt` (a reservation may run the bucket into debt
-- by that much; a plain take allows none) and the bucket is not paused. One
-- `INSERT … ON CONFLICT DO UPDATE … WHERE` statement, so concurrent callers never overspend.
-- Returns the tokens left (negative: the caller's slot is that far in the future), or null
-- when nothing was spent.
create function rate_limit_reserve(
    p_key text,
    p_capacity double precision,
    p_refill_per_second double precision,
    p_cost double precision,
    p_max_debt double precision
)
returns double precision
language sql volatile
as $$
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
    returning tokens
$$;
