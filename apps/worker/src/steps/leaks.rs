//! The leak scan: before a run's secrets are destroyed, list every environment, agent, session
//! and vault the run's key can see (all pages, archived included) and find each one whose
//! metadata names this run. What the journal already holds is left to it; anything else — a
//! resource created by a create whose response was lost and whose journal row was gone, say —
//! is journaled as `found_by_scan` and handed back to cleanup to remove (or retain).
//!
//! Archived agents count as cleaned (archiving is the only removal agents have).

use antpath_db::resources::{self, Found, Resource};
use antpath_provider::types::HasMetadata;
use antpath_provider::types::session::SessionListParams;
use antpath_types::ResourceKind;

use super::Ctx;
use crate::error::StepResult;
use crate::throttle::CallKind;

/// The metadata tag that names a resource's run.
const RUN_TAG: &str = "antpath_run_id";

/// One resource the provider listed with this run's tag.
struct Listed {
    kind: ResourceKind,
    id: String,
    name: String,
    metadata: antpath_provider::types::Metadata,
    archived: bool,
}

/// Scans the provider for the run's resources; returns the newly journaled ones that still
/// need cleaning. Counts what it found in the worker's metrics.
pub async fn scan(ctx: &Ctx) -> StepResult<Vec<Resource>> {
    let run_tag = ctx.run.id.to_string();
    let wanted = [(RUN_TAG, run_tag.as_str())];
    let client = &ctx.client;
    let mut listed = Vec::new();
    for env in ctx
        .call(
            CallKind::Read,
            client.find_environments_by_metadata(&wanted),
        )
        .await?
    {
        listed.push(listed_of(
            ResourceKind::Environment,
            &env,
            env.id.clone(),
            env.name.clone(),
            env.archived_at.is_some(),
        ));
    }
    for agent in ctx
        .call(CallKind::Read, client.find_agents_by_metadata(&wanted))
        .await?
    {
        listed.push(listed_of(
            ResourceKind::Agent,
            &agent,
            agent.id.clone(),
            agent.name.clone(),
            agent.archived_at.is_some(),
        ));
    }
    for vault in ctx
        .call(CallKind::Read, client.find_vaults_by_metadata(&wanted))
        .await?
    {
        listed.push(listed_of(
            ResourceKind::Vault,
            &vault,
            vault.id.clone(),
            vault.display_name.clone(),
            vault.archived_at.is_some(),
        ));
    }
    for session in ctx
        .call(
            CallKind::Read,
            client.find_sessions_by_metadata(&SessionListParams::default(), &wanted),
        )
        .await?
    {
        let title = session.title.clone().unwrap_or_default();
        listed.push(listed_of(
            ResourceKind::Session,
            &session,
            session.id.clone(),
            title,
            false,
        ));
    }
    let journaled = resources::for_run(&ctx.deps.pool, ctx.run.id).await?;
    let known = |id: &str| {
        journaled
            .iter()
            .any(|r| r.provider_id.as_deref() == Some(id))
    };
    let mut fresh = Vec::new();
    for leak in listed.into_iter().filter(|l| !known(&l.id)) {
        ctx.deps.metrics.leak_found();
        tracing::warn!(run.id = %ctx.run.id, resource.kind = %leak.kind, "leak scan found an unjournaled resource");
        if leak.kind == ResourceKind::Agent && leak.archived {
            continue;
        }
        let attempt = leak
            .metadata
            .get("antpath_attempt")
            .and_then(|a| a.parse().ok())
            .unwrap_or(1);
        let recorded = resources::record_found(
            &ctx.deps.pool,
            &Found {
                run_id: ctx.run.id,
                workspace_id: ctx.run.workspace_id,
                attempt_number: attempt,
                kind: leak.kind,
                provider_id: &leak.id,
                provider_name: &antpath_db::storable::text(&leak.name),
                provider_metadata: antpath_db::storable::json(
                    serde_json::to_value(&leak.metadata).unwrap_or_default(),
                ),
            },
        )
        .await?;
        if recorded.is_some() {
            fresh.push(leak.id);
        }
    }
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    let rows = resources::for_run(&ctx.deps.pool, ctx.run.id).await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.provider_id.as_ref().is_some_and(|id| fresh.contains(id)))
        .collect())
}

fn listed_of<R: HasMetadata>(
    kind: ResourceKind,
    resource: &R,
    id: String,
    name: String,
    archived: bool,
) -> Listed {
    Listed {
        kind,
        id,
        name,
        metadata: resource.metadata().clone(),
        archived,
    }
}
