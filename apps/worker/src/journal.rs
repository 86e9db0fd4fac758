//! Journal-before-create and adopt-by-metadata.
//!
//! [`ensure`] makes sure one provider resource of a run exists exactly once:
//!
//! 1. journal an `intended` row (fenced) with the deterministic name `antpath-<run>-<key>` and
//!    the metadata `antpath_run_id`, `antpath_attempt`, `antpath_resource`;
//! 2. if the row already has a provider id, use it;
//! 3. if the row existed without an id (an earlier holder died around the create), look the
//!    resource up by its metadata and adopt it;
//! 4. otherwise create it and record the id at once.
//!
//! Steps 3 and a failed 4 leave the journal possibly incomplete (the provider may hold a
//! resource we never learned the id of), which is recorded as the run's provider doubt: its
//! cleanup then scans the provider for the run's metadata ([`crate::steps::leaks`]).

use std::future::Future;

use antpath_db::{lifecycle, provider_doubt, resources};
use antpath_provider::ProviderError;
use antpath_provider::pagination::ListParams;
use antpath_provider::types::Metadata;
use antpath_provider::types::session::SessionListParams;
use antpath_types::{ResourceId, ResourceKind, RunId};

use crate::error::StepResult;
use crate::steps::Ctx;
use crate::throttle::CallKind;

/// The deterministic provider name of a run's resource.
pub fn name(run: RunId, logical_key: &str) -> String {
    format!("antpath-{run}-{}", logical_key.replace(':', "-"))
}

/// The metadata tags a run's resource carries on the provider.
pub fn metadata(run: RunId, attempt: i32, logical_key: &str) -> Metadata {
    Metadata::from([
        ("antpath_run_id".to_owned(), run.to_string()),
        ("antpath_attempt".to_owned(), attempt.to_string()),
        ("antpath_resource".to_owned(), logical_key.to_owned()),
    ])
}

/// The metadata pairs to search for when adopting.
pub fn wanted(meta: &Metadata) -> Vec<(&str, &str)> {
    meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Finds a journaled resource on the provider by its metadata; `None` when it was never made.
pub async fn find(
    ctx: &Ctx,
    kind: ResourceKind,
    meta: &Metadata,
    vault_id: Option<&str>,
) -> StepResult<Option<String>> {
    let wanted = wanted(meta);
    let client = &ctx.client;
    let found = match kind {
        ResourceKind::Environment => ctx
            .call(
                CallKind::Read,
                client.find_environments_by_metadata(&wanted),
            )
            .await?
            .into_iter()
            .map(|r| r.id)
            .next(),
        ResourceKind::Agent => ctx
            .call(CallKind::Read, client.find_agents_by_metadata(&wanted))
            .await?
            .into_iter()
            .map(|r| r.id)
            .next(),
        ResourceKind::Vault => ctx
            .call(CallKind::Read, client.find_vaults_by_metadata(&wanted))
            .await?
            .into_iter()
            .map(|r| r.id)
            .next(),
        ResourceKind::Session => ctx
            .call(
                CallKind::Read,
                client.find_sessions_by_metadata(&SessionListParams::default(), &wanted),
            )
            .await?
            .into_iter()
            .map(|r| r.id)
            .next(),
        ResourceKind::Credential => match vault_id {
            Some(vault) => {
                let params = ListParams::with_limit(100).including_archived(true);
                ctx.call(CallKind::Read, client.list_credentials(vault, &params))
                    .await?
                    .data
                    .into_iter()
                    .find(|c| {
                        wanted
                            .iter()
                            .all(|(k, v)| c.metadata.get(*k).is_some_and(|x| x == v))
                    })
                    .map(|c| c.id)
            }
            None => None,
        },
        ResourceKind::File => None,
    };
    Ok(found)
}

/// One resource to ensure.
#[derive(Debug, Clone, Copy)]
pub struct Want<'a> {
    /// The provider kind.
    pub kind: ResourceKind,
    /// The logical key within the run.
    pub logical_key: &'a str,
    /// The vault a credential lives in.
    pub vault_id: Option<&'a str>,
}

/// Ensures the resource exists once and returns its provider id. `create` receives the
/// deterministic name and metadata and returns the new id.
pub async fn ensure<F, Fut>(ctx: &Ctx, want: Want<'_>, create: F) -> StepResult<String>
where
    F: FnOnce(String, Metadata) -> Fut,
    Fut: Future<Output = Result<String, ProviderError>>,
{
    let run = &ctx.run;
    let attempt = run.attempt_count.max(1);
    let meta = metadata(run.id, attempt, want.logical_key);
    let provider_name = name(run.id, want.logical_key);
    let new_id = ResourceId::new();
    let mut tx = ctx.deps.pool.begin().await?;
    lifecycle::fence(&mut tx, ctx.fence).await?;
    let row = resources::journal(
        &mut tx,
        &resources::Intent {
            id: new_id,
            run_id: run.id,
            workspace_id: run.workspace_id,
            attempt_number: attempt,
            kind: want.kind,
            logical_key: want.logical_key,
            provider_name: &provider_name,
            provider_metadata: serde_json::to_value(&meta).unwrap_or_default(),
        },
    )
    .await?;
    tx.commit().await?;
    if let Some(id) = row.provider_id {
        return Ok(id);
    }
    if row.id != new_id {
        // An earlier holder journaled this resource and never recorded its id: whatever it
        // did is known only to the provider, so cleanup will scan for leftovers.
        provider_doubt::record(&ctx.deps.pool, run.id).await?;
        if let Some(id) = find(ctx, want.kind, &meta, want.vault_id).await? {
            tracing::info!(run.id = %run.id, resource = want.logical_key, "adopted a resource created before a crash");
            resources::record_provider_id(&ctx.deps.pool, row.id, &id).await?;
            ctx.progressed();
            return Ok(id);
        }
    }
    lifecycle::load(&ctx.deps.pool, ctx.fence).await?;
    let created = ctx
        .call(CallKind::Create, create(provider_name, meta))
        .await;
    let id = match created {
        Ok(id) => id,
        Err(err) => {
            // A failed create may still have happened (a lost response, a timeout): doubt.
            provider_doubt::record(&ctx.deps.pool, run.id).await?;
            return Err(err);
        }
    };
    ctx.point(&format!("created:{}", want.logical_key))?;
    resources::record_provider_id(&ctx.deps.pool, row.id, &id).await?;
    ctx.progressed();
    Ok(id)
}
