//! Retiring cached agents and environments (`provider_cache`, see the worker's
//! `steps::reuse`).
//!
//! An entry is retired when it has been idle for `limits.agent_cache_idle_seconds` and no
//! unfinished run uses it; an intent nobody finished ([`STALE_CACHE_INTENT`]) is looked up
//! on the provider by its metadata and retired if it exists. The batch is marked `retiring`
//! in one short transaction (rows other sweepers or workers hold are skipped; a worker that
//! loses the race makes a fresh entry), then each resource is removed outside it: an agent
//! archived, an environment deleted (archived instead when a session still refers to it). A
//! 404 counts as removed. The entry's sealed provider key is destroyed with it. A failed call
//! leaves the entry `retiring`, retried after [`RETRY_AFTER`]; a refused key (401/403) ends it
//! `abandoned`: nothing can remove it any more.

use std::time::Duration;

use antpath_db::agent_cache::{self, Retiring};
use antpath_db::sweeps::begin_bounded;
use antpath_provider::{ProviderClient, ProviderError, Transport};
use antpath_types::{CacheState, ResourceKind};
use antpath_vault::KeyRing;
use anyhow::Context as _;
use sqlx::PgPool;

use crate::{Report, SweepConfig};

/// How long a cache intent may stay without a provider id before the sweeper settles it.
pub const STALE_CACHE_INTENT: Duration = Duration::from_secs(180);

/// How long a failed retirement waits before a pass tries it again.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);

/// What the cache pass needs: the key ring that opens the entries' sealed keys, a provider
/// transport, and the idle time.
#[derive(Debug, Clone)]
pub struct CacheSweep {
    /// Opens each entry's sealed provider key.
    pub keys: KeyRing,
    /// The provider connection pool.
    pub provider: Transport,
    /// How long an entry may stay unused before it is retired.
    pub idle: Duration,
}

/// One pass: retires up to `config.batch` entries.
pub async fn retire_idle(
    pool: &PgPool,
    cache: &CacheSweep,
    config: &SweepConfig,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut tx = begin_bounded(pool, config.statement_timeout).await?;
    let claimed = agent_cache::claim_retirable(
        &mut tx,
        cache.idle.as_secs_f64(),
        STALE_CACHE_INTENT.as_secs_f64(),
        RETRY_AFTER.as_secs_f64(),
        config.batch,
    )
    .await
    .context("while claiming idle cache entries")?;
    tx.commit().await?;
    for entry in claimed {
        let (state, found) = match retire(cache, &entry).await {
            Ok(retired) => retired,
            Err(Failure::Provider(err)) if matches!(err.status(), Some(401 | 403)) => {
                tracing::error!(cache.id = %entry.id, cache.kind = %entry.kind, "the cache entry's key is refused; abandoned on the provider");
                (CacheState::Abandoned, None)
            }
            Err(err) => {
                tracing::warn!(cache.id = %entry.id, cache.kind = %entry.kind, error.message = %err, "cache retirement failed; retried later");
                report.cache_errors += 1;
                continue;
            }
        };
        agent_cache::finish_retirement(pool, entry.id, state, found.as_deref())
            .await
            .context("while recording a retired cache entry")?;
        report.cache_retired += 1;
    }
    Ok(())
}

/// Why one retirement failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// The sealed key does not open (its key id is no longer configured).
    #[error("the cache entry's key does not open: {0}")]
    Vault(#[from] antpath_vault::VaultError),
    /// The provider call failed.
    #[error("{0}")]
    Provider(#[from] ProviderError),
}

/// Removes one entry's resource; returns the state it ends in and, for an intent, the
/// resource found by its metadata.
async fn retire(
    cache: &CacheSweep,
    entry: &Retiring,
) -> Result<(CacheState, Option<String>), Failure> {
    let key = cache
        .keys
        .open_bound(entry.id.as_uuid(), &entry.sealed_key)?;
    let client = cache.provider.client(&key, None)?;
    let id = match &entry.provider_id {
        Some(id) => id.clone(),
        None => match find(&client, entry).await? {
            Some(id) => id,
            None => return Ok((CacheState::NeverCreated, None)),
        },
    };
    let found = entry.provider_id.is_none().then(|| id.clone());
    let removed = match entry.kind {
        ResourceKind::Agent => client
            .archive_agent(&id)
            .await
            .map(|_| CacheState::Archived),
        _ => match client.delete_environment(&id).await {
            // A session that outlived its run still refers to it: archive instead, which
            // keeps that session working and stops new ones.
            Err(err) if err.is_conflict() => client
                .archive_environment(&id)
                .await
                .map(|_| CacheState::Archived),
            other => other.map(|_| CacheState::Deleted),
        },
    };
    let state = match removed {
        Err(err) if err.is_not_found() => match entry.kind {
            ResourceKind::Agent => CacheState::Archived,
            _ => CacheState::Deleted,
        },
        other => other?,
    };
    Ok((state, found))
}

/// The provider id of an intent's resource, found by its metadata.
async fn find(client: &ProviderClient, entry: &Retiring) -> Result<Option<String>, ProviderError> {
    let meta: std::collections::BTreeMap<String, String> =
        serde_json::from_value(entry.provider_metadata.clone()).unwrap_or_default();
    let wanted: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if wanted.is_empty() {
        // An empty filter matches everything; an entry always carries its tags.
        return Ok(None);
    }
    Ok(match entry.kind {
        ResourceKind::Agent => client
            .find_agents_by_metadata(&wanted)
            .await?
            .into_iter()
            .find(|a| a.archived_at.is_none())
            .map(|a| a.id),
        _ => client
            .find_environments_by_metadata(&wanted)
            .await?
            .into_iter()
            .find(|e| e.archived_at.is_none())
            .map(|e| e.id),
    })
}
