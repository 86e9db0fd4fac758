//! `cleanup`: remove (or retain) the run's provider resources in order — session, agent,
//! environment, credentials, vault — then destroy the run's sealed inputs.
//!
//! Each action is a `cleanup_attempts` row. A 404 counts as done. A failed round is retried
//! with backoff (`limits.cleanup_*`); after `cleanup_max_retries` rounds the run ends
//! `cleanup_failed` and keeps its secrets so the sweeper can try again. `retain` records the
//! provider resources as `retained` but destroys the secrets all the same. The terminal status
//! decided earlier (`runs.outcome`) is applied when cleanup ends.

use std::time::Duration;

use antpath_db::cleanup::{self, Attempt};
use antpath_db::lifecycle;
use antpath_db::resources::{self, Resource};
use antpath_provider::ProviderError;
use antpath_types::RunStatus;

use super::{Ctx, Next};
use crate::error::{StepError, StepResult};
use crate::journal;
use crate::throttle::CallKind;

/// The order in which kinds are removed: the session first (it references the others), the
/// vault after its credentials.
const ORDER: [&str; 5] = ["session", "agent", "environment", "credential", "vault"];

/// States that need no more work.
const SETTLED: [&str; 4] = ["deleted", "archived", "retained", "abandoned"];

/// One cleanup round.
pub async fn cleanup(ctx: &Ctx) -> StepResult<Next> {
    let retain = ctx.run.cleanup_policy == "retain" || ctx.deps.config.cleanup_default == "retain";
    let round = ctx.run.step_failures + 1;
    let mut journaled = resources::for_run(&ctx.deps.pool, ctx.run.id).await?;
    journaled.sort_by_key(|r| {
        ORDER
            .iter()
            .position(|k| *k == r.kind)
            .unwrap_or(ORDER.len())
    });
    let vault_id = journaled
        .iter()
        .find(|r| r.kind == "vault")
        .and_then(|r| r.provider_id.clone());
    let mut failed = false;
    for resource in journaled
        .iter()
        .filter(|r| !SETTLED.contains(&r.state.as_str()))
    {
        let result = clean_one(ctx, resource, vault_id.as_deref(), retain).await;
        let (action, outcome) = match result {
            Ok(action) => (action, Ok(())),
            Err((action, err)) => (action, Err(err)),
        };
        let (status, class, message) = match &outcome {
            Ok(()) => ("succeeded", None, None),
            Err(err) => ("failed", Some(err.class()), Some(err.public_message())),
        };
        cleanup::record_attempt(
            &ctx.deps.pool,
            &Attempt {
                run_id: ctx.run.id,
                resource_id: Some(resource.id),
                action,
                status,
                attempt_number: round,
                error_class: class,
                error_message: message.as_deref(),
            },
        )
        .await?;
        if let Err(err) = outcome {
            if matches!(
                err,
                StepError::LeaseLost | StepError::Crash | StepError::Db(_)
            ) {
                return Err(err);
            }
            failed = true;
        }
    }
    if failed {
        return retry_or_give_up(ctx, round).await;
    }
    let outcome = ctx
        .run
        .outcome
        .as_deref()
        .and_then(|o| o.parse::<RunStatus>().ok())
        .unwrap_or(RunStatus::Failed);
    let mut tx = ctx.deps.pool.begin().await?;
    cleanup::destroy_secrets(&mut tx, ctx.fence).await?;
    cleanup::record_attempt(
        &mut *tx,
        &Attempt {
            run_id: ctx.run.id,
            resource_id: None,
            action: "destroy_secrets",
            status: "succeeded",
            attempt_number: round,
            error_class: None,
            error_message: None,
        },
    )
    .await?;
    let cleanup_status = if retain { "retained" } else { "succeeded" };
    lifecycle::finish(&mut *tx, ctx.fence, outcome, cleanup_status).await?;
    let attempt_state = if outcome == RunStatus::Succeeded {
        "succeeded"
    } else {
        "failed"
    };
    lifecycle::close_attempts(&mut *tx, ctx.run.id, attempt_state).await?;
    tx.commit().await?;
    Ok(Next::Released)
}

async fn retry_or_give_up(ctx: &Ctx, round: i32) -> StepResult<Next> {
    let limits = &ctx.deps.config.limits;
    if round >= i32::try_from(limits.cleanup_max_retries).unwrap_or(8) {
        lifecycle::finish(
            &ctx.deps.pool,
            ctx.fence,
            RunStatus::CleanupFailed,
            "failed",
        )
        .await?;
        tracing::error!(run.id = %ctx.run.id, "cleanup gave up; the sweeper will retry");
        return Ok(Next::Released);
    }
    let delay = antpath_lease::backoff(
        Duration::from_secs(limits.cleanup_backoff_base_seconds.into()),
        Duration::from_secs(limits.cleanup_backoff_max_seconds.into()),
        u32::try_from(round).unwrap_or(0),
    );
    lifecycle::retry_later(&ctx.deps.pool, ctx.fence, delay.as_secs_f64(), true).await?;
    Ok(Next::Released)
}

type Cleaned = Result<&'static str, (&'static str, StepError)>;

/// Cleans one resource; returns the action taken.
async fn clean_one(
    ctx: &Ctx,
    resource: &Resource,
    vault_id: Option<&str>,
    retain: bool,
) -> Cleaned {
    let pool = &ctx.deps.pool;
    let provider_id = match &resource.provider_id {
        Some(id) => id.clone(),
        None => {
            let meta =
                serde_json::from_value(resource.provider_metadata.clone()).unwrap_or_default();
            match journal::find(ctx, &resource.kind, &meta, vault_id).await {
                Ok(Some(id)) => {
                    resources::record_provider_id(pool, resource.id, &id)
                        .await
                        .map_err(|e| ("adopt", e.into()))?;
                    id
                }
                Ok(None) => {
                    resources::set_state(pool, resource.id, "abandoned")
                        .await
                        .map_err(|e| ("adopt", e.into()))?;
                    return Ok("abandon_never_created");
                }
                Err(err) => return Err(("adopt", err)),
            }
        }
    };
    if retain {
        resources::set_state(pool, resource.id, "retained")
            .await
            .map_err(|e| ("retain", e.into()))?;
        return Ok("retain");
    }
    let client = &ctx.client;
    let (action, state, result): (&'static str, &str, Result<(), ProviderError>) =
        match resource.kind.as_str() {
            "session" => (
                "delete_session",
                "deleted",
                gone(session(ctx, &provider_id).await),
            ),
            "agent" => (
                "archive_agent",
                "archived",
                gone(ctx_call(ctx, client.archive_agent(&provider_id)).await),
            ),
            "environment" => (
                "delete_environment",
                "deleted",
                gone(ctx_call(ctx, client.delete_environment(&provider_id)).await),
            ),
            "vault" => (
                "delete_vault",
                "deleted",
                gone(ctx_call(ctx, client.delete_vault(&provider_id)).await),
            ),
            "credential" => match vault_id {
                Some(vault) => (
                    "delete_credential",
                    "deleted",
                    gone(ctx_call(ctx, client.delete_credential(vault, &provider_id)).await),
                ),
                None => ("delete_credential", "deleted", Ok(())),
            },
            _ => ("skip_unknown_kind", "abandoned", Ok(())),
        };
    match result {
        Ok(()) => {
            resources::set_state(pool, resource.id, state)
                .await
                .map_err(|e| (action, e.into()))?;
            Ok(action)
        }
        Err(err) => Err((action, err.into())),
    }
}

/// Deletes a session; a busy one is interrupted first and reported as a conflict to retry.
async fn session(ctx: &Ctx, id: &str) -> Result<(), ProviderError> {
    match ctx_call(ctx, ctx.client.delete_session(id)).await {
        Err(err) if err.is_conflict() => {
            let _ = ctx_call(ctx, ctx.client.interrupt_session(id)).await;
            Err(err)
        }
        other => other,
    }
}

/// A provider call through the throttle, keeping the provider's error (a throttled call is
/// reported as a transient 429 so the round is retried later).
async fn ctx_call<T>(
    ctx: &Ctx,
    call: impl std::future::Future<Output = Result<T, ProviderError>>,
) -> Result<(), ProviderError> {
    match ctx.call(CallKind::Read, call).await {
        Ok(_) => Ok(()),
        Err(StepError::Provider(err)) => Err(err),
        Err(other) => Err(ProviderError::Config(other.to_string())),
    }
}

/// 404 means already gone: success.
fn gone(result: Result<(), ProviderError>) -> Result<(), ProviderError> {
    match result {
        Err(err) if err.is_not_found() => Ok(()),
        other => other,
    }
}
