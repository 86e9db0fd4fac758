-- Agent and environment reuse (issue 13, part 7).
--
-- A run whose agent (or environment) configuration matches a live cache entry of the same
-- provider key uses the cached provider resource instead of creating its own; the session and
-- the vault stay per run. An entry is journaled like a run's resource: the row is written
-- `intended`, with the deterministic name and metadata the resource will carry, before the
-- create; a holder that finds an intended row without a provider id adopts the provider's
-- match by metadata instead of creating a second one.

create table provider_cache (
    id                  uuid primary key,
    -- sha256 (hex) of the provider key: entries are looked up and kept apart by it; the key
    -- itself is never stored in the clear.
    key_hash            text not null check (length(key_hash) = 64),
    -- sha256 (hex) of the create body without its name and metadata: exactly what the
    -- resource was made of, so equal hashes mean interchangeable resources.
    config_hash         text not null check (length(config_hash) = 64),
    kind                text not null check (kind in ('agent', 'environment')),
    provider_name       text not null,
    provider_metadata   jsonb not null default '{}'::jsonb,
    provider_id         text,
    -- The agent version the entry pins in every session create (agents only).
    agent_version       bigint,
    state               text not null default 'intended' check (state in (
                            'intended', 'live', 'retiring', 'archived', 'deleted',
                            'never_created', 'abandoned')),
    -- The provider key, sealed like a run's secrets bundle (associated data: this row's id),
    -- so the sweeper can archive or delete the resource after every run that used it has
    -- destroyed its own copy. Cleared when the entry is retired.
    key_id              text,
    wrapped_key         bytea,
    wrap_nonce          bytea,
    ciphertext          bytea,
    nonce               bytea,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    -- Idle time counts from here: every run that takes the entry moves it.
    last_used_at        timestamptz not null default now(),
    -- A provider id is known once created; an intent (and the retirement of an intent nobody
    -- finished, which looks its resource up by metadata) may lack one.
    check (state in ('intended', 'retiring', 'never_created', 'abandoned')
           or provider_id is not null),
    check (state in ('archived', 'deleted', 'never_created', 'abandoned')
           or key_id is not null)
);

-- At most one usable entry per key, configuration and kind: two runs of the same template
-- starting at once both try to insert, one wins, the other adopts (or waits for) its row.
-- Retired entries leave the index, so a fresh entry can replace them.
create unique index provider_cache_one_live on provider_cache (key_hash, config_hash, kind)
    where state in ('intended', 'live');

-- The sweeper's idle scan.
create index provider_cache_idle on provider_cache (last_used_at)
    where state in ('intended', 'live', 'retiring');

-- Which runs used which entry: an entry is not retired while a run that uses it is unfinished.
create table run_cache_uses (
    run_id              uuid not null references runs (id) on delete cascade,
    entry_id            uuid not null references provider_cache (id) on delete cascade,
    created_at          timestamptz not null default now(),
    primary key (run_id, entry_id)
);

create index run_cache_uses_by_entry on run_cache_uses (entry_id);
