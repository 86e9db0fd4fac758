//! `provision` (attempt, platform rules, environment, agent, vault, credentials) and `session`.
//!
//! With agent reuse on ([`reuse`]) the environment and the agent come from the cache of the
//! run's provider key instead of the run's own journal; the vault, its credentials and the
//! session are always the run's own.
//!
//! Each resource costs one transaction: the one that journals its intent also records the id
//! of the resource made just before it (see [`crate::journal`]), and the step's last
//! transaction records the last id, moves the run on and reads it for the next step.

use antpath_db::{agent_cache, lifecycle, resources};
use antpath_provider::types::Metadata;
use antpath_provider::types::session::CreateSession;
use antpath_provider::types::vault::{CreateCredential, CreateVault, CredentialAuthParams};
use antpath_template::Template;
use antpath_template::model::McpAuth;
use antpath_types::{AttemptId, Phase, ResourceKind, RunStatus};
use serde_json::json;
use sqlx::PgConnection;

use super::{Ctx, Next, reuse, spend};
use crate::error::{StepError, StepResult};
use crate::journal::{self, Unrecorded, Want};
use crate::mapping;

/// Starts the attempt (once), checks the platform rules, then ensures the environment, the
/// agent, and — when an MCP server needs a credential — a vault with one `static_bearer`
/// credential per such server.
pub async fn provision(ctx: &Ctx) -> StepResult<Next> {
    let mut unrecorded = Unrecorded::default();
    let result = provision_in(ctx, &mut unrecorded).await;
    unrecorded.rescue_after(&result, &ctx.deps.pool).await;
    result
}

/// Starts the run's first attempt in `tx` (and moves it to provisioning); returns its number.
async fn begin_attempt(tx: &mut PgConnection, ctx: &Ctx) -> StepResult<i32> {
    Ok(lifecycle::begin_attempt(&mut *tx, ctx.fence, AttemptId::new()).await?)
}

async fn provision_in(ctx: &Ctx, unrecorded: &mut Unrecorded) -> StepResult<Next> {
    let template = ctx.template()?;
    let mut tx = journal::next_tx(ctx, unrecorded).await?;
    let attempt = if ctx.run.attempt_count == 0 {
        begin_attempt(&mut tx, ctx).await?
    } else {
        ctx.run.attempt_count
    };
    let problems = mapping::rule_violations(&template);
    if !problems.is_empty() {
        tx.commit().await?;
        return Err(StepError::Tenant(format!(
            "the template cannot run headless: {}",
            problems.join("; ")
        )));
    }
    let client = &ctx.client;
    if reuse::enabled(ctx) {
        // The cache journals its entries itself; this step's transaction only began the attempt.
        tx.commit().await?;
        provision_cached(ctx, &template).await?;
    } else {
        let want = Want {
            kind: ResourceKind::Environment,
            logical_key: "environment",
            vault_id: None,
        };
        let intended = journal::intend(&mut tx, ctx, attempt, want).await?;
        tx.commit().await?;
        journal::make(ctx, intended, unrecorded, |name, meta| {
            let body = mapping::environment(&template, &name, meta);
            async move { Ok(client.create_environment(&body).await?.id) }
        })
        .await?;
        let want = Want {
            kind: ResourceKind::Agent,
            logical_key: "agent",
            vault_id: None,
        };
        let intended = intend_next(ctx, unrecorded, attempt, want).await?;
        journal::make(ctx, intended, unrecorded, |name, meta| {
            let body = mapping::agent(&template, &name, meta);
            async move { Ok(client.create_agent(&body).await?.id) }
        })
        .await?;
    }
    let bearer: Vec<_> = template
        .agent
        .mcp_servers
        .iter()
        .filter(|s| s.auth == McpAuth::StaticBearer)
        .collect();
    if !bearer.is_empty() {
        let want = Want {
            kind: ResourceKind::Vault,
            logical_key: "vault",
            vault_id: None,
        };
        let intended = intend_next(ctx, unrecorded, attempt, want).await?;
        let vault = journal::make(ctx, intended, unrecorded, |name, meta| async {
            Ok(client
                .create_vault(&CreateVault {
                    display_name: name,
                    metadata: meta,
                })
                .await?
                .id)
        })
        .await?;
        for server in bearer {
            let token = ctx
                .inputs
                .secrets
                .bearer_token(&server.name)
                .cloned()
                .ok_or_else(|| {
                    StepError::Tenant(format!("MCP server `{}` has no bearer token", server.name))
                })?;
            let key = format!("credential:{}", server.name);
            let want = Want {
                kind: ResourceKind::Credential,
                logical_key: &key,
                vault_id: Some(&vault),
            };
            let intended = intend_next(ctx, unrecorded, attempt, want).await?;
            journal::make(ctx, intended, unrecorded, |name, meta| async {
                let params = CreateCredential {
                    auth: CredentialAuthParams::StaticBearer {
                        mcp_server_url: server.url.clone(),
                        token,
                    },
                    display_name: Some(name),
                    metadata: meta,
                };
                Ok(client.create_credential(&vault, &params).await?.id)
            })
            .await?;
        }
    }
    let mut tx = journal::next_tx(ctx, unrecorded).await?;
    lifecycle::advance(
        &mut *tx,
        ctx.fence,
        lifecycle::Advance {
            status: RunStatus::Provisioning,
            phase: Phase::Session,
            delay_seconds: 0.0,
            release: false,
        },
    )
    .await?;
    let next = ctx.continue_after(tx).await?;
    unrecorded.committed();
    ctx.point("phase:session")?;
    Ok(next)
}

/// Journals the next resource in the transaction that records the ones made before it.
async fn intend_next(
    ctx: &Ctx,
    unrecorded: &mut Unrecorded,
    attempt: i32,
    want: Want<'_>,
) -> StepResult<journal::Intended> {
    let mut tx = journal::next_tx(ctx, unrecorded).await?;
    let intended = journal::intend(&mut tx, ctx, attempt, want).await?;
    tx.commit().await?;
    unrecorded.committed();
    Ok(intended)
}

/// Takes (or makes) the cached environment and agent of the run's key and configuration.
async fn provision_cached(ctx: &Ctx, template: &Template) -> StepResult<()> {
    let client = &ctx.client;
    let kind = ResourceKind::Environment;
    let hash = reuse::config_hash(kind, &mapping::environment(template, "", Metadata::new()));
    reuse::ensure(ctx, kind, &hash, |name, meta| {
        let body = mapping::environment(template, &name, meta);
        async move { Ok((client.create_environment(&body).await?.id, None)) }
    })
    .await?;
    let kind = ResourceKind::Agent;
    let hash = reuse::config_hash(kind, &mapping::agent(template, "", Metadata::new()));
    reuse::ensure(ctx, kind, &hash, |name, meta| {
        let body = mapping::agent(template, &name, meta);
        async move {
            let agent = client.create_agent(&body).await?;
            Ok((agent.id, Some(agent.version)))
        }
    })
    .await?;
    Ok(())
}

/// Ensures the session on the provisioned (or cached) agent and environment, with the vault
/// attached. A cached agent is pinned at the version the cache recorded.
pub async fn session(ctx: &Ctx) -> StepResult<Next> {
    let mut unrecorded = Unrecorded::default();
    let result = session_in(ctx, &mut unrecorded).await;
    unrecorded.rescue_after(&result, &ctx.deps.pool).await;
    result
}

async fn session_in(ctx: &Ctx, unrecorded: &mut Unrecorded) -> StepResult<Next> {
    let attempt = ctx.run.attempt_count.max(1);
    let budget = spend::session_budget(ctx.run.max_spend_usd, ctx.run.list_cost_micro_usd)
        .map_err(StepError::Tenant)?;
    let mut tx = journal::next_tx(ctx, unrecorded).await?;
    let journaled = resources::for_run(&mut *tx, ctx.run.id).await?;
    let id_of = |key: &str| {
        journaled
            .iter()
            .rev()
            .find(|r| r.logical_key == key && r.provider_id.is_some())
            .and_then(|r| r.provider_id.clone())
    };
    // A run on cached resources has no journal rows for them (whatever the setting says now).
    let cached = if id_of("environment").is_none() || id_of("agent").is_none() {
        agent_cache::for_run(&mut *tx, ctx.run.id).await?
    } else {
        Vec::new()
    };
    let cached_of = |kind: ResourceKind| cached.iter().rev().find(|c| c.kind == kind);
    let environment = id_of("environment")
        .or_else(|| cached_of(ResourceKind::Environment).map(|c| c.provider_id.clone()));
    let agent = match (id_of("agent"), cached_of(ResourceKind::Agent)) {
        (Some(id), _) => Some(serde_json::Value::String(id)),
        (None, Some(c)) => Some(match c.agent_version {
            Some(version) => json!({"type": "agent", "id": c.provider_id, "version": version}),
            None => serde_json::Value::String(c.provider_id.clone()),
        }),
        (None, None) => None,
    };
    let (Some(environment), Some(agent)) = (environment, agent) else {
        return Err(StepError::Bug(
            "session step without an environment and an agent".into(),
        ));
    };
    let vault = id_of("vault");
    let want = Want {
        kind: ResourceKind::Session,
        logical_key: "session",
        vault_id: None,
    };
    let intended = journal::intend(&mut tx, ctx, attempt, want).await?;
    tx.commit().await?;
    let client = &ctx.client;
    let session = journal::make(ctx, intended, unrecorded, |name, meta| async {
        let mut params = CreateSession::new("", &environment);
        params.agent = agent;
        params.title = Some(name);
        params.metadata = meta;
        params.vault_ids = vault.into_iter().collect();
        params.budget = budget;
        Ok(client.create_session(&params).await?.id)
    })
    .await?;
    let mut tx = journal::next_tx(ctx, unrecorded).await?;
    lifecycle::record_session(&mut tx, ctx.fence, attempt, &session).await?;
    lifecycle::advance(
        &mut *tx,
        ctx.fence,
        lifecycle::Advance {
            status: RunStatus::SessionCreated,
            phase: Phase::Dispatch,
            delay_seconds: 0.0,
            release: false,
        },
    )
    .await?;
    let next = ctx.continue_after(tx).await?;
    unrecorded.committed();
    ctx.point("phase:dispatch")?;
    Ok(next)
}
