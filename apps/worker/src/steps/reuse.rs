//! Agent and environment reuse (`limits.agent_cache_idle_seconds`, `antpath_db::agent_cache`).
//!
//! With reuse on, `provision` does not create a run's agent and environment: it takes the
//! cached ones of the run's provider key whose configuration hashes the same, or makes the
//! cache entry itself. The session and the vault stay per run, so `retain`/`delete` keep
//! their meaning for them; a run's cleanup never touches a cached resource, the sweeper
//! retires it once idle. A `retain` run does not use the cache: it keeps everything it ran on.
//!
//! [`ensure`] is journal-before-create for a shared resource:
//!
//! 1. journal an `intended` entry (fenced by the run's lease) named `antpath-cache-<entry>-<kind>`
//!    with the metadata `antpath_cache_id`, `antpath_resource`, the provider key sealed on it;
//!    the unique index on (key hash, configuration hash, kind) leaves one usable entry;
//! 2. a live entry is taken (its idle clock moved, the run's use recorded) and used;
//! 3. an intended entry of someone else is adopted by metadata if the provider has it, waited
//!    for while it is young (its creator is probably mid-create), and given up when it is old
//!    (its creator died before creating), so a fresh intent can replace it;
//! 4. our own intent is created and recorded `live` together with the run's use; if someone
//!    adopted or gave up the intent meanwhile, the resource just made is a duplicate and is
//!    removed at once.

use std::future::Future;
use std::time::Duration;

use antpath_db::{agent_cache, lifecycle};
use antpath_provider::ProviderError;
use antpath_provider::types::Metadata;
use antpath_redact::Secret;
use antpath_types::{CacheEntryId, CacheState, ClaudeSessionCleanup, ResourceKind};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Ctx;
use crate::error::{StepError, StepResult};
use crate::throttle::CallKind;

/// How long an intent of another holder is waited for before it is taken to be dead: longer
/// than a create call takes (the transport's retries included), shorter than a lease.
const PATIENCE: Duration = Duration::from_secs(20);

/// How soon a step waiting for another holder's create looks again.
const WAIT: Duration = Duration::from_millis(250);

/// Rounds of intend / adopt / give up one ensure makes before it waits a turn (each round
/// ends with a decision that changes the entry, so two are enough but for a race).
const ROUNDS: usize = 4;

/// A cached resource a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    /// The provider id.
    pub id: String,
    /// The agent version to pin (agents).
    pub version: Option<i64>,
}

/// Whether `ctx`'s run uses the cache.
pub fn enabled(ctx: &Ctx) -> bool {
    ctx.deps.config.limits.agent_cache_idle_seconds > 0
        && ctx.run.cleanup_policy != ClaudeSessionCleanup::Retain
}

/// sha256 (hex) of a provider key: how entries are told apart by key.
pub fn key_hash(key: &Secret<String>) -> String {
    hex::encode(Sha256::digest(key.expose_secret().as_bytes()))
}

/// sha256 (hex) of a create body built with an empty name and no metadata: what the resource
/// is made of, and nothing that names its run.
pub fn config_hash(kind: ResourceKind, body: &impl Serialize) -> String {
    let mut digest = Sha256::new();
    digest.update(kind.as_str().as_bytes());
    digest.update(b"\n");
    digest.update(serde_json::to_vec(body).unwrap_or_default());
    hex::encode(digest.finalize())
}

/// The deterministic provider name of a cache entry.
pub fn name(entry: CacheEntryId, kind: ResourceKind) -> String {
    format!("antpath-cache-{}-{kind}", entry.as_uuid().simple())
}

/// The metadata tags a cached resource carries.
pub fn metadata(entry: CacheEntryId, kind: ResourceKind) -> Metadata {
    Metadata::from([
        ("antpath_cache_id".to_owned(), entry.to_string()),
        ("antpath_resource".to_owned(), kind.as_str().to_owned()),
    ])
}

/// Makes sure the run uses one cached resource of `kind` built from `config_hash`, creating
/// it with `create` (name, metadata → id and version) when no usable entry exists.
pub async fn ensure<F, Fut>(
    ctx: &Ctx,
    kind: ResourceKind,
    config_hash: &str,
    create: F,
) -> StepResult<Cached>
where
    F: Fn(String, Metadata) -> Fut,
    Fut: Future<Output = Result<(String, Option<i64>), ProviderError>>,
{
    let pool = &ctx.deps.pool;
    let key = &ctx.inputs.secrets.anthropic.api_key;
    let key_hash = key_hash(key);
    for _ in 0..ROUNDS {
        let new_id = CacheEntryId::new();
        let sealed = ctx
            .deps
            .keys
            .seal_bound(new_id.as_uuid(), key)
            .map_err(|err| StepError::Bug(format!("the provider key does not seal: {err}")))?;
        let meta = metadata(new_id, kind);
        let mut tx = pool.begin().await?;
        lifecycle::fence(&mut tx, ctx.fence).await?;
        let entry = agent_cache::intend(
            &mut tx,
            &agent_cache::Intent {
                id: new_id,
                key_hash: &key_hash,
                config_hash,
                kind,
                provider_name: &name(new_id, kind),
                provider_metadata: serde_json::to_value(&meta).unwrap_or_default(),
                sealed_key: &sealed,
            },
        )
        .await?;
        let Some(entry) = entry else {
            tx.commit().await?;
            continue;
        };
        if entry.state == CacheState::Live {
            let taken = agent_cache::take(&mut tx, entry.id, ctx.run.id).await?;
            tx.commit().await?;
            if let Some((id, version)) = taken {
                ctx.deps.metrics.agent_cache("hit");
                return Ok(Cached { id, version });
            }
            continue;
        }
        tx.commit().await?;
        if entry.id != new_id {
            adopt_or_wait(ctx, kind, &entry).await?;
            continue;
        }
        // Ours: create it. The lease is confirmed by the fenced intent just written.
        let created = match ctx
            .call(CallKind::Create, create(name(new_id, kind), meta))
            .await
        {
            Ok(created) => created,
            Err(err) => {
                // A refusal means nothing was made: free the slot for the next try at once.
                // Anything else (a timeout, a 5xx) may have created it; the next try adopts.
                if refused(&err) {
                    agent_cache::give_up_intent(pool, new_id).await?;
                }
                return Err(err);
            }
        };
        ctx.point(&format!("created:cache:{kind}"))?;
        let mut tx = pool.begin().await?;
        lifecycle::fence(&mut tx, ctx.fence).await?;
        if agent_cache::record_created(&mut *tx, new_id, &created.0, created.1).await? {
            let taken = agent_cache::take(&mut tx, new_id, ctx.run.id).await?;
            tx.commit().await?;
            ctx.progressed();
            if let Some((id, version)) = taken {
                ctx.deps.metrics.agent_cache("created");
                return Ok(Cached { id, version });
            }
            continue;
        }
        tx.commit().await?;
        tracing::warn!(run.id = %ctx.run.id, cache.kind = %kind, "a cache entry was settled by another holder during its create; removing the duplicate");
        remove(ctx, kind, &created.0).await?;
    }
    Err(StepError::Throttled(WAIT))
}

/// A create the provider answered with a definite refusal (a 4xx other than 408 and 429).
fn refused(err: &StepError) -> bool {
    matches!(err, StepError::Provider(p)
        if p.status().is_some_and(|s| (400..500).contains(&s) && s != 408 && s != 429))
}

/// Another holder's intent: adopt its resource if the provider has it, wait while the intent
/// is young, give it up when it is old.
async fn adopt_or_wait(
    ctx: &Ctx,
    kind: ResourceKind,
    entry: &agent_cache::Entry,
) -> StepResult<()> {
    let meta: Metadata =
        serde_json::from_value(entry.provider_metadata.clone()).unwrap_or_default();
    if let Some((id, version)) = find(ctx, kind, &meta).await? {
        tracing::info!(run.id = %ctx.run.id, cache.kind = %kind, "adopted a cached resource created before a crash");
        agent_cache::record_created(&ctx.deps.pool, entry.id, &id, version).await?;
        ctx.deps.metrics.agent_cache("adopted");
        return Ok(());
    }
    if entry.idle_seconds < PATIENCE.as_secs_f64() {
        ctx.deps.metrics.agent_cache("waited");
        return Err(StepError::Throttled(WAIT));
    }
    agent_cache::give_up_intent(&ctx.deps.pool, entry.id).await?;
    Ok(())
}

/// The cached resource carrying `meta` on the provider, with its version (agents).
async fn find(
    ctx: &Ctx,
    kind: ResourceKind,
    meta: &Metadata,
) -> StepResult<Option<(String, Option<i64>)>> {
    let wanted = crate::journal::wanted(meta);
    let client = &ctx.client;
    Ok(match kind {
        ResourceKind::Agent => ctx
            .call(CallKind::Read, client.find_agents_by_metadata(&wanted))
            .await?
            .into_iter()
            .find(|a| a.archived_at.is_none())
            .map(|a| (a.id, Some(a.version))),
        _ => ctx
            .call(
                CallKind::Read,
                client.find_environments_by_metadata(&wanted),
            )
            .await?
            .into_iter()
            .find(|e| e.archived_at.is_none())
            .map(|e| (e.id, None)),
    })
}

/// Removes a duplicate cached resource (archives an agent, deletes an environment).
async fn remove(ctx: &Ctx, kind: ResourceKind, id: &str) -> StepResult<()> {
    let client = &ctx.client;
    let result = match kind {
        ResourceKind::Agent => ctx
            .call(CallKind::Read, client.archive_agent(id))
            .await
            .map(|_| ()),
        _ => ctx
            .call(CallKind::Read, client.delete_environment(id))
            .await
            .map(|_| ()),
    };
    match result {
        Err(StepError::Provider(err)) if err.is_not_found() => Ok(()),
        other => other,
    }
}
