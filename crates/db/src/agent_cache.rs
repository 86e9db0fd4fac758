//! The agent and environment cache (`provider_cache`, `run_cache_uses`).
//!
//! An entry is one provider agent or environment shared by the runs of one provider key whose
//! configuration hashes the same. It is journaled like a run's resource: [`intend`] writes the
//! row `intended` (with the name and metadata the resource will carry, and the key sealed)
//! before the create, and [`record_created`] makes it `live` the moment the create returns. The
//! unique index on `(key_hash, config_hash, kind)` over usable rows makes two runs starting
//! at once share one row: the second finds the first's and adopts or waits for it.
//!
//! A run that takes a live entry records the use ([`take`]); the sweeper retires an entry only
//! when it has been idle past its time and no unfinished run uses it ([`claim_retirable`]).

use antpath_types::{CacheEntryId, CacheState, ResourceKind, RunId};
use sqlx::{PgConnection, PgExecutor};

/// A new entry, journaled before its create.
#[derive(Debug, Clone)]
pub struct Intent<'a> {
    /// The id a new row gets; the returned row carries another id if one already existed.
    pub id: CacheEntryId,
    /// sha256 (hex) of the provider key.
    pub key_hash: &'a str,
    /// sha256 (hex) of the create body without its name and metadata.
    pub config_hash: &'a str,
    /// `agent` or `environment`.
    pub kind: ResourceKind,
    /// The deterministic provider name.
    pub provider_name: &'a str,
    /// The metadata tags.
    pub provider_metadata: serde_json::Value,
    /// The provider key sealed for this row (associated data: `id`).
    pub sealed_key: &'a antpath_vault::Sealed,
}

/// A usable entry (`intended` or `live`).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its id.
    pub id: CacheEntryId,
    /// The metadata the resource carries.
    pub provider_metadata: serde_json::Value,
    /// The provider id, once known.
    pub provider_id: Option<String>,
    /// The pinned agent version (agents).
    pub agent_version: Option<i64>,
    /// `intended` or `live`.
    pub state: CacheState,
    /// Seconds since the row last changed (how long an intent has waited for its create).
    pub idle_seconds: f64,
}

/// Journals an intended entry, or returns the usable one already there for the same key,
/// configuration and kind. `None` only when a concurrent retirement removed the row between
/// the two statements (try again).
#[tracing::instrument(skip_all, fields(cache.kind = %intent.kind))]
pub async fn intend(
    conn: &mut PgConnection,
    intent: &Intent<'_>,
) -> Result<Option<Entry>, sqlx::Error> {
    let sealed = intent.sealed_key;
    sqlx::query!(
        "insert into provider_cache
            (id, key_hash, config_hash, kind, provider_name, provider_metadata,
             key_id, wrapped_key, wrap_nonce, ciphertext, nonce)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         on conflict (key_hash, config_hash, kind) where state in ('intended', 'live')
         do nothing",
        intent.id as CacheEntryId,
        intent.key_hash,
        intent.config_hash,
        intent.kind as ResourceKind,
        intent.provider_name,
        intent.provider_metadata,
        sealed.key_id,
        sealed.wrapped_key,
        sealed.wrap_nonce,
        sealed.ciphertext,
        sealed.nonce,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_as!(
        Entry,
        r#"select id as "id: CacheEntryId", provider_metadata, provider_id, agent_version,
                  state as "state: CacheState",
                  extract(epoch from now() - updated_at)::float8 as "idle_seconds!"
           from provider_cache
           where key_hash = $1 and config_hash = $2 and kind = $3
             and state in ('intended', 'live')"#,
        intent.key_hash,
        intent.config_hash,
        intent.kind as ResourceKind,
    )
    .fetch_optional(&mut *conn)
    .await
}

/// Takes a live entry for `run`: moves its idle clock and records the use, so the sweeper
/// leaves it alone until the run is finished. Returns the provider id and pinned version, or
/// `None` when the entry is no longer live (the sweeper retired it first; make another).
#[tracing::instrument(skip_all, fields(run.id = %run, cache.id = %id))]
pub async fn take(
    conn: &mut PgConnection,
    id: CacheEntryId,
    run: RunId,
) -> Result<Option<(String, Option<i64>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"update provider_cache set last_used_at = now()
           where id = $1 and state = 'live'
           returning provider_id as "provider_id!", agent_version"#,
        id as CacheEntryId,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    sqlx::query!(
        "insert into run_cache_uses (run_id, entry_id) values ($1, $2)
         on conflict do nothing",
        run as RunId,
        id as CacheEntryId,
    )
    .execute(&mut *conn)
    .await?;
    Ok(Some((row.provider_id, row.agent_version)))
}

/// Records the provider id (and agent version) of an intended entry: it becomes `live`.
/// Also `true` when the entry is already live with this very id (another holder adopted it
/// by metadata first). `false` when the row settled otherwise (it holds another resource, or
/// the intent was given up): the caller's resource is then a duplicate to remove.
#[tracing::instrument(skip_all, fields(cache.id = %id))]
pub async fn record_created(
    db: impl PgExecutor<'_>,
    id: CacheEntryId,
    provider_id: &str,
    agent_version: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let provider_id = crate::storable::text(provider_id);
    let done = sqlx::query!(
        "update provider_cache
         set provider_id = $2, agent_version = $3, state = 'live', updated_at = now(),
             last_used_at = now()
         where id = $1
           and ((state = 'intended' and provider_id is null)
                or (state = 'live' and provider_id = $2))",
        id as CacheEntryId,
        provider_id.as_ref(),
        agent_version,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives up an intended entry whose create never happened, so a fresh one can take its
/// place. `false` when it is no longer intended.
#[tracing::instrument(skip_all, fields(cache.id = %id))]
pub async fn give_up_intent(
    db: impl PgExecutor<'_>,
    id: CacheEntryId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update provider_cache
         set state = 'never_created', updated_at = now(), key_id = null, wrapped_key = null,
             wrap_nonce = null, ciphertext = null, nonce = null
         where id = $1 and state = 'intended' and provider_id is null",
        id as CacheEntryId,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A cached resource a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Used {
    /// `agent` or `environment`.
    pub kind: ResourceKind,
    /// The provider id.
    pub provider_id: String,
    /// The pinned agent version (agents).
    pub agent_version: Option<i64>,
}

/// The cached resources `run` took, one per kind at most.
#[tracing::instrument(skip_all, fields(run.id = %run))]
pub async fn for_run(db: impl PgExecutor<'_>, run: RunId) -> Result<Vec<Used>, sqlx::Error> {
    sqlx::query_as!(
        Used,
        r#"select c.kind as "kind: ResourceKind", c.provider_id as "provider_id!",
                  c.agent_version
           from run_cache_uses u join provider_cache c on c.id = u.entry_id
           where u.run_id = $1 and c.provider_id is not null
           order by u.created_at"#,
        run as RunId,
    )
    .fetch_all(db)
    .await
}

/// An entry the sweeper is retiring.
#[derive(Debug, Clone)]
pub struct Retiring {
    /// Its id (the associated data of its sealed key).
    pub id: CacheEntryId,
    /// `agent` or `environment`.
    pub kind: ResourceKind,
    /// The provider id; `None` for an intent whose create may or may not have happened.
    pub provider_id: Option<String>,
    /// The metadata to find it by when the id is unknown.
    pub provider_metadata: serde_json::Value,
    /// The provider key, sealed for this row.
    pub sealed_key: antpath_vault::Sealed,
}

/// Marks up to `limit` entries `retiring` and returns them: live ones idle for
/// `idle_seconds` or more, intents older than `stale_intent_seconds`, and earlier
/// retirements that failed more than `retry_after_seconds` ago — in every case only when no
/// unfinished run uses the entry. Rows another transaction holds are skipped.
#[tracing::instrument(skip_all)]
pub async fn claim_retirable(
    conn: &mut PgConnection,
    idle_seconds: f64,
    stale_intent_seconds: f64,
    retry_after_seconds: f64,
    limit: i64,
) -> Result<Vec<Retiring>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"update provider_cache c set state = 'retiring', updated_at = now()
           where c.id in (
               select p.id from provider_cache p
               where ((p.state = 'live'
                       and p.last_used_at <= now() - make_interval(secs => $1::float8))
                   or (p.state = 'intended'
                       and p.updated_at < now() - make_interval(secs => $2::float8))
                   or (p.state = 'retiring'
                       and p.updated_at < now() - make_interval(secs => $3::float8)))
                 and not exists (select 1 from run_cache_uses u join runs r on r.id = u.run_id
                                 where u.entry_id = p.id and r.phase <> 'done')
               order by p.last_used_at
               limit $4
               for update skip locked)
           returning c.id as "id: CacheEntryId", c.kind as "kind: ResourceKind",
                     c.provider_id, c.provider_metadata, c.key_id as "key_id!",
                     c.wrapped_key as "wrapped_key!", c.wrap_nonce as "wrap_nonce!",
                     c.ciphertext as "ciphertext!", c.nonce as "nonce!""#,
        idle_seconds,
        stale_intent_seconds,
        retry_after_seconds,
        limit,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Retiring {
            id: r.id,
            kind: r.kind,
            provider_id: r.provider_id,
            provider_metadata: r.provider_metadata,
            sealed_key: antpath_vault::Sealed {
                key_id: r.key_id,
                wrapped_key: r.wrapped_key,
                wrap_nonce: r.wrap_nonce,
                ciphertext: r.ciphertext,
                nonce: r.nonce,
            },
        })
        .collect())
}

/// Ends a retirement with `state` (`archived`, `deleted`, `never_created` or `abandoned`)
/// and destroys the entry's sealed key. `provider_id` is the resource an intent's retirement
/// found by metadata (kept when the entry already knew its id).
#[tracing::instrument(skip_all, fields(cache.id = %id, cache.state = %state))]
pub async fn finish_retirement(
    db: impl PgExecutor<'_>,
    id: CacheEntryId,
    state: CacheState,
    provider_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    let provider_id = provider_id.map(crate::storable::text);
    sqlx::query!(
        "update provider_cache
         set state = $2, provider_id = coalesce(provider_id, $3), updated_at = now(),
             key_id = null, wrapped_key = null, wrap_nonce = null, ciphertext = null,
             nonce = null
         where id = $1 and state = 'retiring'",
        id as CacheEntryId,
        state as CacheState,
        provider_id.as_deref(),
    )
    .execute(db)
    .await?;
    Ok(())
}
