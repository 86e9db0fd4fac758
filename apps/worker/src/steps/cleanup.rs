//! `cleanup`: remove (or retain) the run's provider resources in order — session, agent,
//! environment, credentials, vault — then, when the journal may be incomplete (the run's
//! provider doubt, or `ANTPATH_WORKER__LEAK_SCAN=always`), scan the provider for anything else
//! carrying the run's metadata ([`super::leaks`]), then destroy the run's sealed inputs.
//! A cached agent or environment ([`super::reuse`]) is not in the run's journal and is never
//! touched here: the sweeper retires it once idle.
//!
//! The run's status is already its outcome; cleanup only moves `cleanup_state`. Each action is
//! a `cleanup_attempts` row, written with the round's end in one transaction, and a 404 counts
//! as done. A failed round is counted, its error kept
//! on the run (`retrying`) and retried with backoff (`limits.cleanup_backoff_*`) until
//! `limits.cleanup_give_up_after_seconds` after the work ended — or at once when the run's key
//! no longer works — when cleanup is [`abandon`]ed: what is left is listed on the run and
//! audited, and the secrets are destroyed all the same.

use std::time::Duration;

use antpath_config::LeakScan;
use antpath_db::audit::{self, AuditEntry};
use antpath_db::cleanup::{self, Attempt};
use antpath_db::closing::{AttemptsEnd, Closing, RoundAction};
use antpath_db::lifecycle::{self, Fence, RunRow};
use antpath_db::resources::{self, Resource};
use antpath_provider::ProviderError;
use antpath_types::{
    ClaudeSessionCleanup, CleanupState, ErrorClass, ResourceKind, ResourceState, RunId,
};
use sqlx::{PgConnection, PgPool};

use super::{Ctx, Next, leaks};
use crate::error::{StepError, StepResult};
use crate::journal;
use crate::throttle::CallKind;

/// The order in which kinds are removed: the session first (it references the others), the
/// vault after its credentials.
const ORDER: [ResourceKind; 5] = [
    ResourceKind::Session,
    ResourceKind::Agent,
    ResourceKind::Environment,
    ResourceKind::Credential,
    ResourceKind::Vault,
];

/// One cleanup round. What it did to each resource is written, with what follows from it (the
/// end of cleanup, or the round's failure), in one fenced transaction at its end; a round cut
/// off before that is simply done again (every removal is idempotent: a 404 counts as done).
pub async fn cleanup(ctx: &Ctx) -> StepResult<Next> {
    let retain = ctx.run.cleanup_policy == ClaudeSessionCleanup::Retain;
    let mut round = Round::new(ctx.run.cleanup_rounds + 1);
    let failure = match clean_round(ctx, retain, &mut round).await {
        Ok(failure) => failure,
        Err(err) => {
            if let Err(write) = round.commit_alone(ctx).await {
                tracing::warn!(run.id = %ctx.run.id, error.message = %write.public_message(), "could not record a cut-off cleanup round");
            }
            return Err(err);
        }
    };
    let Some(err) = failure else {
        let state = if retain {
            CleanupState::Retained
        } else {
            CleanupState::Succeeded
        };
        finish(ctx, round, state).await?;
        return Ok(Next::Released);
    };
    let message = err.public_message();
    let class = err.class();
    let window = Duration::from_secs(ctx.deps.config.limits.cleanup_give_up_after_seconds.into());
    let ended = ctx.run.work_ended_at.unwrap_or(ctx.run.now);
    let overdue = (ctx.run.now - ended).to_std().unwrap_or_default() >= window;
    if overdue || key_refused(&err) {
        tracing::error!(run.id = %ctx.run.id, error.message = %message, "cleanup abandoned");
        round.commit_alone(ctx).await?;
        abandon(&ctx.deps.pool, ctx.fence, &ctx.run, (class, &message)).await?;
        ctx.deps.metrics.cleanup_abandoned();
        return Ok(Next::Released);
    }
    let limits = &ctx.deps.config.limits;
    let delay = antpath_lease::backoff(
        Duration::from_secs(limits.cleanup_backoff_base_seconds.into()),
        Duration::from_secs(limits.cleanup_backoff_max_seconds.into()),
        u32::try_from(round.number).unwrap_or(0),
    );
    tracing::warn!(run.id = %ctx.run.id, cleanup.round = round.number, error.message = %message, "cleanup round failed; retrying");
    let mut tx = ctx.deps.pool.begin().await?;
    lifecycle::fence(&mut tx, ctx.fence).await?;
    round.write(&mut tx, ctx.run.id).await?;
    lifecycle::cleanup_round_failed(&mut *tx, ctx.fence, (class, &message), delay.as_secs_f64())
        .await?;
    tx.commit().await?;
    Ok(Next::Released)
}

/// Cleans the journaled resources, then scans for leftovers when the journal may be
/// incomplete; returns the first provider failure. Infrastructure errors stop the round.
async fn clean_round(ctx: &Ctx, retain: bool, round: &mut Round) -> StepResult<Option<StepError>> {
    let journaled = resources::for_run(&ctx.deps.pool, ctx.run.id).await?;
    let failure = clean_all(ctx, journaled, retain, round).await?;
    let scan = match ctx.deps.config.leak_scan {
        LeakScan::Always => true,
        LeakScan::WhenInDoubt => ctx.run.provider_doubt_at.is_some(),
    };
    if failure.is_some() || !scan {
        return Ok(failure);
    }
    match leaks::scan(ctx).await {
        Ok(found) if found.is_empty() => Ok(None),
        Ok(found) => clean_all(ctx, found, retain, round).await,
        Err(err) if is_infrastructure(&err) => Err(err),
        Err(err) => Ok(Some(err)),
    }
}

/// One round's record, written when the round ends.
#[derive(Debug)]
struct Round {
    /// Which round of the run's cleanup this is (1-based).
    number: i32,
    done: Vec<RoundAction>,
}

impl Round {
    fn new(number: i32) -> Self {
        Self {
            number,
            done: Vec::new(),
        }
    }

    /// Writes a `cleanup_attempts` row and the new state of every resource the round touched,
    /// in the caller's (fenced) transaction.
    async fn write(&self, tx: &mut PgConnection, run_id: RunId) -> StepResult<()> {
        for done in &self.done {
            cleanup::record_attempt(
                &mut *tx,
                &Attempt {
                    run_id,
                    resource_id: Some(done.resource),
                    action: done.action,
                    status: done.status(),
                    attempt_number: self.number,
                    error_class: done.error.as_ref().map(|(class, _)| *class),
                    error_message: done.error.as_ref().map(|(_, message)| message.as_str()),
                },
            )
            .await?;
            if let Some(state) = done.state {
                resources::set_state(&mut *tx, done.resource, state).await?;
            }
        }
        Ok(())
    }

    /// Writes the round's record on its own (fenced).
    async fn commit_alone(&self, ctx: &Ctx) -> StepResult<()> {
        if self.done.is_empty() {
            return Ok(());
        }
        let mut tx = ctx.deps.pool.begin().await?;
        lifecycle::fence(&mut tx, ctx.fence).await?;
        self.write(&mut tx, ctx.run.id).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Errors that say nothing about the provider resources: stop the step and retry it.
fn is_infrastructure(err: &StepError) -> bool {
    matches!(
        err,
        StepError::LeaseLost | StepError::Crash | StepError::Db(_)
    )
}

/// The run's key is refused (revoked or never valid): no retry can clean anything.
fn key_refused(err: &StepError) -> bool {
    matches!(err, StepError::Provider(p) if matches!(p.status(), Some(401 | 403)))
}

/// Cleans every unsettled resource of `resources` in [`ORDER`], noting each action in `round`;
/// returns the first failure (the others are still tried).
async fn clean_all(
    ctx: &Ctx,
    mut resources: Vec<Resource>,
    retain: bool,
    round: &mut Round,
) -> StepResult<Option<StepError>> {
    resources.sort_by_key(|r| {
        ORDER
            .iter()
            .position(|k| *k == r.kind)
            .unwrap_or(ORDER.len())
    });
    let vault_id = resources
        .iter()
        .find(|r| r.kind == ResourceKind::Vault)
        .and_then(|r| r.provider_id.clone());
    let mut first_failure = None;
    for resource in resources.iter().filter(|r| !r.state.is_settled()) {
        match clean_one(ctx, resource, vault_id.as_deref(), retain).await {
            Ok((action, state)) => round.done.push(RoundAction {
                resource: resource.id,
                action,
                state: Some(state),
                error: None,
            }),
            // Nothing reached the provider: the step waits for the throttle, uncounted.
            Err((_, err @ StepError::Throttled(_))) => return Err(err),
            Err((action, err)) => {
                let state = (resource.state != ResourceState::CleanupFailed)
                    .then_some(ResourceState::CleanupFailed);
                round.done.push(RoundAction {
                    resource: resource.id,
                    action,
                    state,
                    error: Some((err.class(), err.public_message())),
                });
                if is_infrastructure(&err) {
                    return Err(err);
                }
                first_failure.get_or_insert(err);
            }
        }
    }
    Ok(first_failure)
}

/// Cleanup is over: records the round, destroys the secrets, records that, ends the run's
/// cleanup with `state` and closes its attempts, in one statement, which the worker's
/// [`crate::finisher`] may share with other runs ending at the same time.
async fn finish(ctx: &Ctx, round: Round, state: CleanupState) -> StepResult<()> {
    let closing = Closing {
        fence: ctx.fence,
        round: round.number,
        actions: round.done,
        state,
        attempts_end: AttemptsEnd::of(ctx.run.status),
    };
    ctx.deps.finisher.finish(closing).await?;
    ctx.deps.metrics.cleanup_ended(state.as_str());
    Ok(())
}

/// Gives up on the run's provider cleanup: every resource not yet cleaned is marked
/// `abandoned` (the run lists them by kind and id), the give-up is audited, the secrets are
/// destroyed, the run's open attempts end with its outcome and cleanup ends `abandoned` with
/// `error` as its last error. Fenced.
pub async fn abandon(
    pool: &PgPool,
    fence: Fence,
    run: &RunRow,
    error: (ErrorClass, &str),
) -> StepResult<()> {
    let mut tx = pool.begin().await?;
    lifecycle::fence(&mut tx, fence).await?;
    let left = resources::abandon_unsettled(&mut *tx, run.id).await?;
    let listed: Vec<_> = left
        .iter()
        .map(|(kind, id)| serde_json::json!({"kind": kind, "id": id}))
        .collect();
    audit::record(
        &mut *tx,
        &AuditEntry {
            workspace_id: run.workspace_id,
            actor_user: None,
            actor_token: None,
            action: "run.cleanup_abandoned",
            target_type: "run",
            target_id: run.id.to_string(),
            request_id: None,
            metadata: serde_json::json!({ "abandoned_resources": listed, "error_class": error.0 }),
        },
    )
    .await?;
    cleanup::destroy_secrets(&mut tx, fence).await?;
    cleanup::record_attempt(
        &mut *tx,
        &Attempt {
            run_id: run.id,
            resource_id: None,
            action: "destroy_secrets",
            status: "succeeded",
            attempt_number: run.cleanup_rounds + 1,
            error_class: Some(error.0),
            error_message: Some(error.1),
        },
    )
    .await?;
    antpath_db::closing::close_started_attempts(&mut *tx, run.id, AttemptsEnd::of(run.status))
        .await?;
    lifecycle::abandon_cleanup(&mut *tx, fence, error).await?;
    tx.commit().await?;
    Ok(())
}

/// What cleaning one resource did: the action and the resource's new state, or the action
/// and why it failed.
type Cleaned = Result<(&'static str, ResourceState), (&'static str, StepError)>;

/// Cleans one resource. Only an adopted id is written at once (an id the provider handed us is
/// never held back); the new state is the round's to write.
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
            match journal::find(ctx, resource.kind, &meta, vault_id).await {
                Ok(Some(id)) => {
                    resources::record_provider_id(pool, resource.id, &id)
                        .await
                        .map_err(|e| ("adopt", e.into()))?;
                    id
                }
                Ok(None) => return Ok(("abandon_never_created", ResourceState::NeverCreated)),
                Err(err) => return Err(("adopt", err)),
            }
        }
    };
    if retain {
        return Ok(("retain", ResourceState::Retained));
    }
    let client = &ctx.client;
    let (action, state, result): (&'static str, ResourceState, StepResult<()>) = match resource.kind
    {
        ResourceKind::Session => (
            "delete_session",
            ResourceState::Deleted,
            gone(session(ctx, &provider_id).await),
        ),
        ResourceKind::Agent => (
            "archive_agent",
            ResourceState::Archived,
            gone(ctx_call(ctx, client.archive_agent(&provider_id)).await),
        ),
        ResourceKind::Environment => (
            "delete_environment",
            ResourceState::Deleted,
            gone(ctx_call(ctx, client.delete_environment(&provider_id)).await),
        ),
        ResourceKind::Vault => (
            "delete_vault",
            ResourceState::Deleted,
            gone(ctx_call(ctx, client.delete_vault(&provider_id)).await),
        ),
        ResourceKind::Credential => match vault_id {
            Some(vault) => (
                "delete_credential",
                ResourceState::Deleted,
                gone(ctx_call(ctx, client.delete_credential(vault, &provider_id)).await),
            ),
            // Without its vault a credential cannot be addressed; deleting the vault
            // removes it.
            None => ("delete_credential", ResourceState::Deleted, Ok(())),
        },
        ResourceKind::File => ("skip_file", ResourceState::Abandoned, Ok(())),
    };
    match result {
        Ok(()) => Ok((action, state)),
        Err(err) => Err((action, err)),
    }
}

/// Deletes a session; a busy one is interrupted first and reported as a conflict to retry.
async fn session(ctx: &Ctx, id: &str) -> StepResult<()> {
    match ctx_call(ctx, ctx.client.delete_session(id)).await {
        Err(StepError::Provider(err)) if err.is_conflict() => {
            let _ = ctx_call(ctx, ctx.client.interrupt_session(id)).await;
            Err(StepError::Provider(err))
        }
        other => other,
    }
}

/// A provider call through the throttle, its answer dropped.
async fn ctx_call<T>(
    ctx: &Ctx,
    call: impl std::future::Future<Output = Result<T, ProviderError>>,
) -> StepResult<()> {
    ctx.call(CallKind::Read, call).await.map(|_| ())
}

/// 404 means already gone: success.
fn gone(result: StepResult<()>) -> StepResult<()> {
    match result {
        Err(StepError::Provider(err)) if err.is_not_found() => Ok(()),
        other => other,
    }
}
