//! [`RunJob`]: what the worker does with one claimed run.
//!
//! It loads the run, opens its inputs, runs the step its phase names and, while the next step
//! is due at once and the lease is held, goes straight on (up to `chain_limit` steps), so a run
//! moves from provisioning to dispatch without waiting for another claim. Step errors become
//! retries with backoff (transient), or a decided failure routed through capture and cleanup.

use std::sync::Arc;
use std::time::Duration;

use antpath_db::lifecycle::{self, Fence, RunRow};
use antpath_lease::{Job, JobContext, JobEnd, Lease};
use antpath_types::{ErrorClass, RunId, RunStatus};

use crate::app::Deps;
use crate::error::StepError;
use crate::steps::{self, Ctx, Next, end};
use crate::store::fence_of;

/// Drives claimed runs.
#[derive(Debug, Clone)]
pub struct RunJob {
    deps: Arc<Deps>,
}

impl RunJob {
    /// A job over the worker's dependencies.
    pub fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }
}

impl Job<RunId> for RunJob {
    async fn run(&self, lease: Lease<RunId>, ctx: JobContext) -> JobEnd {
        let fence = fence_of(&lease);
        for _ in 0..self.deps.config.tuning.chain_limit.max(1) {
            if ctx.lost.is_cancelled() {
                return JobEnd::Done;
            }
            match self.step(fence).await {
                Ok(Next::Continue) if ctx.shutdown.is_cancelled() => return JobEnd::HandBack,
                Ok(Next::Continue) => {}
                Ok(Next::Released) => return JobEnd::Done,
                Err(StepError::LeaseLost) => {
                    tracing::info!(run.id = %lease.id, "lease lost; stopping");
                    return JobEnd::Done;
                }
                Err(StepError::Crash) => return JobEnd::Done,
                Err(err) => {
                    self.handle(fence, err).await;
                    return JobEnd::Done;
                }
            }
        }
        JobEnd::HandBack
    }
}

impl RunJob {
    #[tracing::instrument(skip_all, fields(run.id = %fence.run_id))]
    async fn step(&self, fence: Fence) -> Result<Next, StepError> {
        let run = lifecycle::load(&self.deps.pool, fence).await?;
        let ctx = match Ctx::open(Arc::clone(&self.deps), fence, run.clone()).await {
            Ok(ctx) => ctx,
            Err(StepError::Bug(message)) => return self.unopenable(fence, &run, &message).await,
            Err(err) => return Err(err),
        };
        tracing::debug!(run.phase = %ctx.run.phase, "step");
        steps::run(&ctx).await
    }

    /// A run whose inputs do not open can neither run nor be cleaned on the provider: fail it
    /// and leave cleanup failed for an operator.
    async fn unopenable(
        &self,
        fence: Fence,
        run: &RunRow,
        message: &str,
    ) -> Result<Next, StepError> {
        tracing::error!(run.id = %run.id, error.message = message, "run inputs unusable");
        let pool = &self.deps.pool;
        lifecycle::decide_outcome(
            pool,
            fence,
            RunStatus::Failed,
            Some((ErrorClass::AntpathBug, message)),
        )
        .await?;
        if run.status != RunStatus::CleaningUp {
            end::move_to(pool, fence, run.status, RunStatus::CleaningUp, "cleanup").await?;
        }
        lifecycle::finish(pool, fence, RunStatus::CleanupFailed, "failed").await?;
        Ok(Next::Released)
    }

    /// Turns a step error into a retry or a decided failure.
    async fn handle(&self, fence: Fence, err: StepError) {
        let pool = &self.deps.pool;
        let limits = &self.deps.config.limits;
        let result = async {
            let run = lifecycle::load(pool, fence).await?;
            let retryable = match &err {
                StepError::Throttled(wait) => {
                    lifecycle::retry_later(pool, fence, wait.as_secs_f64(), false).await?;
                    return Ok(());
                }
                StepError::Db(_) => true,
                other => other.class().is_retryable(),
            };
            let tries = u32::try_from(run.step_failures).unwrap_or(0) + 1;
            let ending = matches!(run.phase.as_str(), "cleanup" | "capture" | "interrupt");
            if retryable && (tries <= limits.max_step_retries || ending) {
                tracing::warn!(run.id = %run.id, run.phase = %run.phase, error.message = %err.public_message(), "step failed; retrying");
                let delay = retry_delay(&err, limits.poll_base_ms, tries);
                lifecycle::retry_later(pool, fence, delay.as_secs_f64(), true).await?;
                return Ok(());
            }
            tracing::warn!(run.id = %run.id, run.phase = %run.phase, error.class = %err.class(), error.message = %err.public_message(), "step failed; failing the run");
            let message = err.public_message();
            end::end_work(pool, fence, &run, RunStatus::Failed, Some((err.class(), &message))).await?;
            lifecycle::release(pool, fence).await?;
            Ok::<(), StepError>(())
        }
        .await;
        match result {
            Ok(()) | Err(StepError::LeaseLost) => {}
            Err(other) => {
                tracing::error!(run.id = %fence.run_id, error.message = %other.public_message(), "could not record a step failure");
                let _ = lifecycle::release(pool, fence).await;
            }
        }
    }
}

/// Backoff with full jitter from the poll base, honouring a provider's `retry-after`.
fn retry_delay(err: &StepError, base_ms: u64, tries: u32) -> Duration {
    let base = Duration::from_millis(base_ms.max(100));
    let jittered = antpath_lease::backoff(base, Duration::from_secs(60), tries).max(base / 2);
    match err {
        StepError::Provider(p) => p
            .retry_after()
            .map_or(jittered, |after| after.max(jittered)),
        _ => jittered,
    }
}
