//! `provision` (attempt, platform rules, environment, agent, vault, credentials) and `session`.

use antpath_db::{events, lifecycle, resources};
use antpath_provider::types::session::CreateSession;
use antpath_provider::types::vault::{CreateCredential, CreateVault, CredentialAuthParams};
use antpath_template::model::McpAuth;
use antpath_types::{AttemptId, Phase, ResourceKind, RunStatus};

use super::{Ctx, Next, spend};
use crate::error::{StepError, StepResult};
use crate::journal::{Want, ensure};
use crate::mapping;

/// Starts the attempt (once), checks the platform rules, then ensures the environment, the
/// agent, and — when an MCP server needs a credential — a vault with one `static_bearer`
/// credential per such server.
pub async fn provision(ctx: &Ctx) -> StepResult<Next> {
    let template = ctx.template()?;
    if ctx.run.attempt_count == 0 {
        let mut tx = ctx.deps.pool.begin().await?;
        let number = lifecycle::begin_attempt(&mut tx, ctx.fence).await?;
        events::insert_attempt(&mut *tx, AttemptId::new(), ctx.run.id, number).await?;
        lifecycle::advance(
            &mut *tx,
            ctx.fence,
            lifecycle::Advance {
                status: RunStatus::Provisioning,
                phase: Phase::Provision,
                delay_seconds: 0.0,
                release: false,
            },
        )
        .await?;
        tx.commit().await?;
        // Reload so the attempt number is the new one; the next claim of this step finds it.
        return Ok(Next::Continue);
    }
    let problems = mapping::rule_violations(&template);
    if !problems.is_empty() {
        return Err(StepError::Tenant(format!(
            "the template cannot run headless: {}",
            problems.join("; ")
        )));
    }
    let client = &ctx.client;
    ensure(
        ctx,
        Want {
            kind: ResourceKind::Environment,
            logical_key: "environment",
            vault_id: None,
        },
        |name, meta| {
            let body = mapping::environment(&template, &name, meta);
            async move { Ok(client.create_environment(&body).await?.id) }
        },
    )
    .await?;
    ensure(
        ctx,
        Want {
            kind: ResourceKind::Agent,
            logical_key: "agent",
            vault_id: None,
        },
        |name, meta| {
            let body = mapping::agent(&template, &name, meta);
            async move { Ok(client.create_agent(&body).await?.id) }
        },
    )
    .await?;
    let bearer: Vec<_> = template
        .agent
        .mcp_servers
        .iter()
        .filter(|s| s.auth == McpAuth::StaticBearer)
        .collect();
    if !bearer.is_empty() {
        let vault = ensure(
            ctx,
            Want {
                kind: ResourceKind::Vault,
                logical_key: "vault",
                vault_id: None,
            },
            |name, meta| async {
                Ok(client
                    .create_vault(&CreateVault {
                        display_name: name,
                        metadata: meta,
                    })
                    .await?
                    .id)
            },
        )
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
            ensure(ctx, want, |name, meta| async {
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
    lifecycle::advance(
        &ctx.deps.pool,
        ctx.fence,
        lifecycle::Advance {
            status: RunStatus::Provisioning,
            phase: Phase::Session,
            delay_seconds: 0.0,
            release: false,
        },
    )
    .await?;
    ctx.point("phase:session")?;
    Ok(Next::Continue)
}

/// Ensures the session on the provisioned agent and environment, with the vault attached.
pub async fn session(ctx: &Ctx) -> StepResult<Next> {
    let journaled = resources::for_run(&ctx.deps.pool, ctx.run.id).await?;
    let id_of = |key: &str| {
        journaled
            .iter()
            .rev()
            .find(|r| r.logical_key == key && r.provider_id.is_some())
            .and_then(|r| r.provider_id.clone())
    };
    let (Some(environment), Some(agent)) = (id_of("environment"), id_of("agent")) else {
        return Err(StepError::Bug(
            "session step without an environment and an agent".into(),
        ));
    };
    let vault = id_of("vault");
    let budget = spend::session_budget(ctx.run.max_spend_usd, ctx.run.list_cost_micro_usd)
        .map_err(StepError::Tenant)?;
    let client = &ctx.client;
    let session = ensure(
        ctx,
        Want {
            kind: ResourceKind::Session,
            logical_key: "session",
            vault_id: None,
        },
        |name, meta| async {
            let mut params = CreateSession::new(&agent, &environment);
            params.title = Some(name);
            params.metadata = meta;
            params.vault_ids = vault.into_iter().collect();
            params.budget = budget;
            Ok(client.create_session(&params).await?.id)
        },
    )
    .await?;
    let mut tx = ctx.deps.pool.begin().await?;
    lifecycle::record_session(&mut tx, ctx.fence, ctx.run.attempt_count.max(1), &session).await?;
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
    tx.commit().await?;
    ctx.point("phase:dispatch")?;
    Ok(Next::Continue)
}
