//! The bounded lifecycle steps. `runs.phase` names the next one:
//!
//! | phase | does | then |
//! |---|---|---|
//! | `provision` | starts an attempt, checks platform rules, ensures environment, agent, vault and credentials | `session` |
//! | `session` | ensures the session (metadata, vault ids) | `dispatch` |
//! | `dispatch` | renders the prompt and sends it once | `observe` |
//! | `observe` | polls the session and new events; decides the end of work | `observe`, `interrupt`, `capture` |
//! | `interrupt` | interrupts a cancelled or timed-out session and waits for it to stop | `capture` |
//! | `capture` | copies session files into object storage within the workspace quota | `cleanup` |
//! | `cleanup` | removes or retains provider resources, destroys the secrets | `done` |
//!
//! Every step is idempotent: it may be cut off anywhere and run again by any replica.

pub mod capture;
pub mod cleanup;
pub mod dispatch;
pub mod end;
pub mod observe;
pub mod provision;

use std::future::Future;
use std::sync::Arc;

use antpath_db::lifecycle::{Fence, RunRow};
use antpath_provider::{ClientConfig, ProviderClient, ProviderError};
use antpath_template::Template;
use antpath_template::submission::RunInputs;

use crate::app::Deps;
use crate::error::{StepError, StepResult};
use crate::throttle::{CallKind, Throttle};

/// What a step left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The next step is due now and the lease is still held: go on.
    Continue,
    /// The next step is scheduled and the lease was released.
    Released,
}

/// One step's view of its run.
pub struct Ctx {
    /// Shared dependencies.
    pub deps: Arc<Deps>,
    /// The lease.
    pub fence: Fence,
    /// The run as loaded at the start of the step.
    pub run: RunRow,
    /// The decrypted inputs, dropped with the step.
    pub inputs: RunInputs,
    /// A client with the run's key.
    pub client: ProviderClient,
    /// The shared bucket of the run's key.
    pub throttle: Throttle,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("run", &self.run.id)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// Opens the run's inputs and builds its provider client.
    pub async fn open(deps: Arc<Deps>, fence: Fence, run: RunRow) -> StepResult<Self> {
        let inputs = crate::inputs::open(&deps.pool, &deps.keys, &run).await?;
        let key = inputs.secrets.anthropic.api_key.clone();
        let limits = &deps.config.limits;
        let throttle = Throttle::for_key(
            &key,
            limits.provider_reads_per_second,
            limits.provider_creates_per_minute,
        );
        let client = ProviderClient::new(
            ClientConfig::new(key)
                .with_base_url(deps.config.provider_base_url.clone())
                .with_retry(deps.config.provider_retry)
                .with_request_timeout(deps.config.provider_timeout),
        )
        .map_err(|err| StepError::Bug(err.to_string()))?;
        Ok(Self {
            deps,
            fence,
            run,
            inputs,
            client,
            throttle,
        })
    }

    /// Makes one provider call through the shared throttle.
    pub async fn call<T>(
        &self,
        kind: CallKind,
        call: impl Future<Output = Result<T, ProviderError>>,
    ) -> StepResult<T> {
        self.throttle.take(&self.deps.pool, kind).await?;
        match call.await {
            Ok(value) => Ok(value),
            Err(err) => {
                self.throttle.observe(&self.deps.pool, &err).await;
                Err(err.into())
            }
        }
    }

    /// The run's template snapshot.
    pub fn template(&self) -> StepResult<Template> {
        serde_json::from_value(self.run.template_snapshot.clone())
            .map_err(|_| StepError::Bug("the run's template snapshot does not parse".into()))
    }

    /// Records a fault-hook point.
    pub fn point(&self, point: &str) -> StepResult<()> {
        self.deps.faults.check(point)
    }
}

/// Runs the step `ctx.run.phase` names.
pub async fn run(ctx: &Ctx) -> StepResult<Next> {
    if let Some(next) = end::check_cancel_and_timeout(ctx).await? {
        return Ok(next);
    }
    match ctx.run.phase.as_str() {
        "provision" => provision::provision(ctx).await,
        "session" => provision::session(ctx).await,
        "dispatch" => dispatch::dispatch(ctx).await,
        "observe" => observe::observe(ctx).await,
        "interrupt" => end::interrupt(ctx).await,
        "capture" => capture::capture(ctx).await,
        "cleanup" => cleanup::cleanup(ctx).await,
        other => Err(StepError::Bug(format!("unknown phase `{other}`"))),
    }
}
