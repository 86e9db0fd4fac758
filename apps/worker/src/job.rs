//! [`RunJob`]: what the worker does with one claimed run.
//!
//! It loads the run with its sealed inputs (one transaction), runs the step its phase names and,
//! while the next step is due at once and the lease is held, goes straight on (up to
//! `chain_limit` steps) with the run as the step left it, so a run moves from provisioning to
//! dispatch without waiting for another claim or loading itself again. Step errors become
//! retries with backoff (transient), or a decided failure routed through capture and cleanup.

use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument as _;

use antpath_db::lifecycle::{self, Fence, RunRow, StepTally};
use antpath_lease::{Job, JobContext, JobEnd, Lease};
use antpath_types::{ErrorClass, Phase, RunId, RunStatus};

use antpath_template::submission::RunInputs;

use crate::context::{Ctx, Deps, Next};
use crate::error::{StepError, StepResult};
use crate::inputs;
use crate::steps::{self, end};
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
        // What the previous step of this hold left: the run as it now stands and the opened
        // inputs, so a chained step loads nothing.
        let mut held: Option<Held> = None;
        for _ in 0..self.deps.config.tuning.chain_limit.max(1) {
            if ctx.lost.is_cancelled() {
                return JobEnd::Done;
            }
            match self.step(fence, &mut held).await {
                Ok(Next::Continue) if ctx.shutdown.is_cancelled() => return JobEnd::HandBack,
                Ok(Next::Continue) => {}
                Ok(Next::Released) => return JobEnd::Done,
                Err(Failure {
                    err: StepError::LeaseLost,
                    ..
                }) => {
                    tracing::info!(run.id = %lease.id, "lease lost; stopping");
                    return JobEnd::Done;
                }
                Err(Failure {
                    err: StepError::Crash,
                    ..
                }) => return JobEnd::Done,
                Err(failure) => {
                    self.handle(fence, failure).await;
                    return JobEnd::Done;
                }
            }
        }
        JobEnd::HandBack
    }
}

/// A step's error, and whether the step made durable progress before it.
#[derive(Debug)]
struct Failure {
    err: StepError,
    progressed: bool,
}

impl Failure {
    fn plain(err: StepError) -> Self {
        Self {
            err,
            progressed: false,
        }
    }
}

/// What one step hands the next within a lease hold.
struct Held {
    run: RunRow,
    inputs: Arc<RunInputs>,
}

impl RunJob {
    /// Runs the run's next step inside a `step` span that continues the trace of the run's
    /// submission and carries the run, attempt and workspace ids, so every provider call and
    /// storage write of the step lands in the client's trace. The first step of a hold loads
    /// the run and its sealed inputs (one transaction); a chained step takes what the previous
    /// one left in `held`, and leaves the same for the next.
    async fn step(&self, fence: Fence, held: &mut Option<Held>) -> Result<Next, Failure> {
        let (run, inputs) = match held.take() {
            Some(Held { run, inputs }) => (run, Ok(inputs)),
            None => {
                let (run, sealed) = inputs::load(&self.deps.pool, fence)
                    .await
                    .map_err(Failure::plain)?;
                let opened = inputs::open(&self.deps.keys, &run, sealed).map(Arc::new);
                (run, opened)
            }
        };
        let span = tracing::info_span!(
            "step",
            run.id = %run.id,
            attempt = run.attempt_count,
            workspace.id = %run.workspace_id,
            run.phase = %run.phase,
        );
        antpath_telemetry::propagation::continue_trace(&span, run.trace_parent.as_deref());
        let phase = run.phase;
        let started = std::time::Instant::now();
        let result = self
            .step_in(fence, run, inputs, held)
            .instrument(span)
            .await;
        self.deps
            .metrics
            .observe_step(phase.as_str(), started.elapsed());
        if let Err(Failure {
            err: StepError::LeaseLost,
            ..
        }) = &result
        {
            self.deps.metrics.lease_lost();
        }
        result
    }

    async fn step_in(
        &self,
        fence: Fence,
        run: RunRow,
        inputs: StepResult<Arc<RunInputs>>,
        held: &mut Option<Held>,
    ) -> Result<Next, Failure> {
        let opened =
            inputs.and_then(|inputs| Ctx::new(Arc::clone(&self.deps), fence, run.clone(), inputs));
        let ctx = match opened {
            Ok(ctx) => ctx,
            Err(StepError::Bug(message)) => {
                return self
                    .unopenable(fence, &run, &message)
                    .await
                    .map_err(Failure::plain);
            }
            Err(err) => return Err(Failure::plain(err)),
        };
        tracing::debug!(run.phase = %ctx.run.phase, "step");
        let next = steps::run(&ctx).await.map_err(|err| Failure {
            err,
            progressed: ctx.made_progress(),
        })?;
        if next == Next::Continue {
            let run = match ctx.take_next_run() {
                Some(run) => run,
                None => lifecycle::load(&self.deps.pool, fence)
                    .await
                    .map_err(|err| Failure::plain(err.into()))?,
            };
            *held = Some(Held {
                run,
                inputs: Arc::clone(&ctx.inputs),
            });
        }
        Ok(next)
    }

    /// A run whose inputs do not open can neither run nor be cleaned on the provider: fail it
    /// (if its work was not over), list what it leaves on the provider and end its cleanup
    /// `abandoned`.
    async fn unopenable(
        &self,
        fence: Fence,
        run: &RunRow,
        message: &str,
    ) -> Result<Next, StepError> {
        tracing::error!(run.id = %run.id, error.message = message, "run inputs unusable");
        let pool = &self.deps.pool;
        let mut tx = pool.begin().await?;
        lifecycle::decide_outcome(
            &mut *tx,
            fence,
            RunStatus::Failed,
            Some((ErrorClass::AntpathBug, message)),
        )
        .await?;
        if run.phase != Phase::Cleanup {
            end::enter_cleanup(&mut tx, fence, run.status, RunStatus::Failed).await?;
        }
        tx.commit().await?;
        steps::cleanup::abandon(pool, fence, run, (ErrorClass::AntpathBug, message)).await?;
        Ok(Next::Released)
    }

    /// Turns a step error into a wait, a retry, a move past an ending step, or a decided
    /// failure.
    async fn handle(&self, fence: Fence, failure: Failure) {
        let Failure { err, progressed } = failure;
        let pool = &self.deps.pool;
        let limits = &self.deps.config.limits;
        let result = async {
            match &err {
                StepError::LeaseLost | StepError::Crash => return Ok(()),
                StepError::Throttled(wait) => {
                    self.deps.metrics.throttle_wait("ours");
                    lifecycle::retry_later(pool, fence, wait.as_secs_f64(), StepTally::Waited)
                        .await?;
                    return Ok(());
                }
                StepError::Provider(p) if p.status() == Some(429) => {
                    // The provider asks us to slow down: wait as long as it says, uncounted.
                    self.deps.metrics.throttle_wait("provider");
                    let wait = retry_delay(&err, limits.poll_base_ms, 1);
                    lifecycle::retry_later(pool, fence, wait.as_secs_f64(), StepTally::Waited)
                        .await?;
                    return Ok(());
                }
                StepError::Db(db) if antpath_db::is_unavailable(db) => {
                    // The database is unreachable, which says nothing about this step: wait with
                    // backoff, uncounted, so an outage never fails or reschedules a run.
                    let wait = retry_delay(&err, limits.poll_base_ms.max(1000), 3);
                    lifecycle::retry_later(pool, fence, wait.as_secs_f64(), StepTally::Waited)
                        .await?;
                    return Ok(());
                }
                _ => {}
            }
            let run = lifecycle::load(pool, fence).await?;
            let retryable = matches!(err, StepError::Db(_)) || err.class().is_retryable();
            let tries = if progressed {
                1
            } else {
                u32::try_from(run.step_failures).unwrap_or(0) + 1
            };
            // Cleanup never gives up on a count: its own rounds run until the give-up window.
            let bounded = run.phase != Phase::Cleanup;
            if retryable && (tries <= limits.max_step_retries || !bounded) {
                tracing::warn!(run.id = %run.id, run.phase = %run.phase, error.message = %err.public_message(), "step failed; retrying");
                let delay = retry_delay(&err, limits.poll_base_ms, tries);
                let tally = if progressed {
                    StepTally::FailedAfterProgress
                } else {
                    StepTally::Failed
                };
                lifecycle::retry_later(pool, fence, delay.as_secs_f64(), tally).await?;
                return Ok(());
            }
            let message = err.public_message();
            match run.phase {
                Phase::Interrupt => {
                    tracing::warn!(run.id = %run.id, error.message = %message, "interrupt keeps failing; moving on to capture");
                    let mut tx = pool.begin().await?;
                    end::move_to(&mut tx, fence, run.status, RunStatus::CapturingOutputs, Phase::Capture).await?;
                    lifecycle::release(&mut *tx, fence).await?;
                    tx.commit().await?;
                }
                Phase::Capture => {
                    tracing::warn!(run.id = %run.id, error.message = %message, "capture keeps failing; moving on to cleanup");
                    steps::capture::give_up(pool, fence, &run, &message).await?;
                    lifecycle::release(pool, fence).await?;
                }
                _ => {
                    let class = err.class();
                    // Only a provider's give-up earns a new attempt; our own errors do not.
                    if matches!(err, StepError::Provider(_))
                        && matches!(run.phase, Phase::Session | Phase::Dispatch | Phase::Observe)
                        && steps::attempts::reschedule(pool, fence, &run, (class, &message)).await?
                    {
                        lifecycle::release(pool, fence).await?;
                        return Ok(());
                    }
                    tracing::warn!(run.id = %run.id, run.phase = %run.phase, error.class = %class, error.message = %message, "step failed; failing the run");
                    let mut tx = pool.begin().await?;
                    end::end_work(&mut tx, fence, &run, RunStatus::Failed, Some((class, &message)))
                        .await?;
                    lifecycle::release(&mut *tx, fence).await?;
                    tx.commit().await?;
                }
            }
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
