//! Journal-before-create and adopt-by-metadata.
//!
//! [`intend`] and [`make`] make sure one provider resource of a run exists exactly once:
//!
//! 1. journal an `intended` row (fenced, committed before any create) with the deterministic
//!    name `antpath-<run>-<key>` and the metadata `antpath_run_id`, `antpath_attempt`,
//!    `antpath_resource`;
//! 2. if the row already has a provider id, use it;
//! 3. if the row existed without an id (an earlier holder died around the create), look the
//!    resource up by its metadata and adopt it;
//! 4. otherwise create it; the id is recorded in the step's next transaction — the one that
//!    journals the next resource, or moves the run on — so a chain of creates costs one
//!    transaction per resource ([`Unrecorded`]).
//!
//! Steps 3 and a failed 4 leave the journal possibly incomplete (the provider may hold a
//! resource we never learned the id of), which is recorded as the run's provider doubt: its
//! cleanup then scans the provider for the run's metadata ([`crate::steps::leaks`]).

use std::future::Future;

use antpath_db::resources::Resource;
use antpath_db::{lifecycle, provider_doubt, resources};
use antpath_provider::ProviderError;
use antpath_provider::pagination::ListParams;
use antpath_provider::types::Metadata;
use antpath_provider::types::session::SessionListParams;
use antpath_types::{ResourceId, ResourceKind, RunId};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::error::{StepError, StepResult};
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

/// A resource journaled as intended, not yet made.
#[derive(Debug)]
pub struct Intended {
    row: Resource,
    /// Whether this call wrote the row (no earlier holder journaled it).
    fresh: bool,
    kind: ResourceKind,
    logical_key: String,
    vault_id: Option<String>,
    name: String,
    meta: Metadata,
}

/// Journals `want` as intended for `attempt` in the caller's fenced transaction: the intent is
/// durable once the caller commits, which it does before [`make`] calls the provider.
pub async fn intend(
    tx: &mut PgConnection,
    ctx: &Ctx,
    attempt: i32,
    want: Want<'_>,
) -> StepResult<Intended> {
    let run = &ctx.run;
    let meta = metadata(run.id, attempt, want.logical_key);
    let name = name(run.id, want.logical_key);
    let new_id = ResourceId::new();
    let row = resources::journal(
        &mut *tx,
        &resources::Intent {
            id: new_id,
            run_id: run.id,
            workspace_id: run.workspace_id,
            attempt_number: attempt,
            kind: want.kind,
            logical_key: want.logical_key,
            provider_name: &name,
            provider_metadata: serde_json::to_value(&meta).unwrap_or_default(),
        },
    )
    .await?;
    Ok(Intended {
        fresh: row.id == new_id,
        row,
        kind: want.kind,
        logical_key: want.logical_key.to_owned(),
        vault_id: want.vault_id.map(str::to_owned),
        name,
        meta,
    })
}

/// Provider ids made in this step whose journal rows do not hold them yet. The step writes
/// them in its next transaction ([`Unrecorded::write`]); a step that fails before that commits
/// writes them on their own ([`Unrecorded::rescue_after`]), so a resource the provider made is
/// never left unrecorded by a failed step (a crash, by design, leaves it to adoption).
#[derive(Debug, Default)]
pub struct Unrecorded {
    made: Vec<(ResourceId, String)>,
}

impl Unrecorded {
    /// Writes the ids in the caller's transaction; call [`Unrecorded::committed`] once it
    /// commits.
    pub async fn write(&self, tx: &mut PgConnection) -> StepResult<()> {
        for (row, id) in &self.made {
            resources::record_provider_id(&mut *tx, *row, id).await?;
        }
        Ok(())
    }

    /// The transaction that wrote the ids committed.
    pub fn committed(&mut self) {
        self.made.clear();
    }

    /// After a step's `result`: if it failed (but for a simulated crash) with ids still
    /// unwritten, writes them on their own, unfenced like any id the provider handed us.
    pub async fn rescue_after<T>(&mut self, result: &StepResult<T>, pool: &PgPool) {
        if !matches!(result, Err(err) if !matches!(err, StepError::Crash)) {
            return;
        }
        for (row, id) in self.made.drain(..) {
            if let Err(err) = resources::record_provider_id(pool, row, &id).await {
                tracing::warn!(resource.id = %row, error.message = %err, "could not record a created resource's id; adoption will find it");
            }
        }
    }
}

/// Opens the step's next transaction: fenced, with the ids made since the last one written
/// first.
pub async fn next_tx(
    ctx: &Ctx,
    unrecorded: &Unrecorded,
) -> StepResult<Transaction<'static, Postgres>> {
    let mut tx = ctx.deps.pool.begin().await?;
    lifecycle::fence(&mut tx, ctx.fence).await?;
    unrecorded.write(&mut tx).await?;
    Ok(tx)
}

/// Makes the intended resource exist once and returns its provider id: the journaled id if it
/// has one; else (a row an earlier holder journaled) the provider's match by metadata; else a
/// create, whose id joins `unrecorded`. `create` receives the deterministic name and metadata
/// and returns the new id.
pub async fn make<F, Fut>(
    ctx: &Ctx,
    intended: Intended,
    unrecorded: &mut Unrecorded,
    create: F,
) -> StepResult<String>
where
    F: FnOnce(String, Metadata) -> Fut,
    Fut: Future<Output = Result<String, ProviderError>>,
{
    let run = &ctx.run;
    let Intended {
        row,
        fresh,
        kind,
        logical_key,
        vault_id,
        name,
        meta,
    } = intended;
    if let Some(id) = row.provider_id {
        return Ok(id);
    }
    if !fresh {
        // An earlier holder journaled this resource and never recorded its id: whatever it
        // did is known only to the provider, so cleanup will scan for leftovers.
        provider_doubt::record(&ctx.deps.pool, run.id).await?;
        if let Some(id) = find(ctx, kind, &meta, vault_id.as_deref()).await? {
            tracing::info!(run.id = %run.id, resource = %logical_key, "adopted a resource created before a crash");
            resources::record_provider_id(&ctx.deps.pool, row.id, &id).await?;
            ctx.progressed();
            return Ok(id);
        }
        // The look-up took a provider round trip since the fenced intent: confirm the lease
        // is still ours right before the create.
        lifecycle::load(&ctx.deps.pool, ctx.fence).await?;
    }
    let created = ctx.call(CallKind::Create, create(name, meta)).await;
    let id = match created {
        Ok(id) => id,
        Err(err) => {
            // A failed create may still have happened (a lost response, a timeout): doubt.
            provider_doubt::record(&ctx.deps.pool, run.id).await?;
            return Err(err);
        }
    };
    ctx.point(&format!("created:{logical_key}"))?;
    unrecorded.made.push((row.id, id.clone()));
    ctx.progressed();
    Ok(id)
}
