//! What a step works with: the worker's shared dependencies ([`Deps`]), one step's view of its
//! run ([`Ctx`]) and what a step leaves behind ([`Next`]).
//!
//! A lease hold (one claim, up to `chain_limit` steps) loads its run and opens its sealed inputs
//! once; a step that goes on ends with [`Ctx::continue_after`], which reads the run as it now
//! stands inside the step's last transaction, so the next step starts without a load of its
//! own.
//!
//! The steps, the job and the wiring all import this module; it imports none of them, so the
//! steps never reach back into the wiring that builds them.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use antpath_db::lifecycle::{self, Fence, RunRow};
use antpath_provider::{ProviderClient, ProviderError, Transport, TransportConfig};
use antpath_storage::ObjectStore;
use antpath_template::Template;
use antpath_template::submission::RunInputs;
use antpath_vault::KeyRing;
use sqlx::{PgPool, Postgres, Transaction};

use crate::config::WorkerConfig;
use crate::error::{StepError, StepResult};
use crate::faults::FaultHook;
use crate::finisher::Finisher;
use crate::metrics::WorkerMetrics;
use crate::throttle::{CallKind, Throttle, Throttles};

/// What every step shares.
#[derive(Debug)]
pub struct Deps {
    /// Postgres.
    pub pool: PgPool,
    /// Opens the sealed inputs.
    pub keys: KeyRing,
    /// Where outputs go.
    pub store: ObjectStore,
    /// Settings.
    pub config: WorkerConfig,
    /// Crash hook (tests only).
    pub faults: FaultHook,
    /// Counters served on `/metrics`.
    pub metrics: Arc<WorkerMetrics>,
    /// The process's one provider connection pool; each step takes a client for its run's key
    /// from it, so connections and the TLS setup are reused across steps and runs.
    pub provider: Transport,
    /// The process's provider throttle, one per key (see [`crate::throttle`]).
    pub throttles: Throttles,
    /// Ends runs whose cleanup is over, several per commit (see [`crate::finisher`]).
    pub finisher: Finisher,
}

impl Deps {
    /// Wires the shared dependencies and builds the provider transport, whose every call is
    /// counted on `metrics`. Fails only on an unusable provider base URL.
    pub fn new(
        pool: PgPool,
        keys: KeyRing,
        store: ObjectStore,
        config: WorkerConfig,
        faults: FaultHook,
    ) -> Result<Self, ProviderError> {
        let provider = Transport::new(
            TransportConfig::default()
                .with_base_url(config.provider_base_url.clone())
                .with_retry(config.provider_retry)
                .with_request_timeout(config.provider_timeout),
        )?;
        let metrics = Arc::new(WorkerMetrics::default());
        let counted = Arc::clone(&metrics);
        provider.set_call_observer(Arc::new(move |route, status| {
            let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
            counted.observe_provider_call(route, &status);
        }));
        Ok(Self {
            finisher: Finisher::new(pool.clone()),
            pool,
            keys,
            store,
            config,
            faults,
            metrics,
            provider,
            throttles: Throttles::default(),
        })
    }
}

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
    /// The run as it stood at the start of the step.
    pub run: RunRow,
    /// The decrypted inputs, shared by the steps of one lease hold and dropped with it.
    pub inputs: Arc<RunInputs>,
    /// A client with the run's key.
    pub client: ProviderClient,
    /// The shared bucket of the run's key.
    pub throttle: Throttle,
    /// Set when the step made durable progress (a resource created, an event or a file
    /// stored), so a later failure in the same step does not count on top of earlier ones.
    progressed: AtomicBool,
    /// The run as the step left it, read inside its last transaction (see
    /// [`Ctx::continue_after`]).
    next_run: Mutex<Option<RunRow>>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("run", &self.run.id)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// One step's view of `run`, with the inputs its lease hold opened: builds the provider
    /// client of the run's key and takes the key's throttle. No database round trip.
    pub fn new(
        deps: Arc<Deps>,
        fence: Fence,
        run: RunRow,
        inputs: Arc<RunInputs>,
    ) -> StepResult<Self> {
        let key = inputs.secrets.anthropic.api_key.clone();
        let limits = &deps.config.limits;
        let throttle = deps.throttles.for_key(
            &key,
            limits.provider_reads_per_second,
            limits.provider_creates_per_minute,
        );
        let client = deps
            .provider
            .client(&key, None)
            .map_err(|err| StepError::Bug(err.to_string()))?;
        client.set_caller(antpath_provider::CallerIds {
            run_id: run.id.to_string(),
            // The first step of a run begins attempt 1 before its first call.
            attempt: i64::from(run.attempt_count.max(1)),
            workspace_id: run.workspace_id.to_string(),
        });
        Ok(Self {
            deps,
            fence,
            run,
            inputs,
            client,
            throttle,
            progressed: AtomicBool::new(false),
            next_run: Mutex::new(None),
        })
    }

    /// Ends a step that goes on: reads the run inside `tx` (after the step's writes in it),
    /// commits, and keeps the row for the next step of this lease hold.
    pub async fn continue_after(&self, mut tx: Transaction<'_, Postgres>) -> StepResult<Next> {
        let run = lifecycle::load(&mut *tx, self.fence).await?;
        tx.commit().await?;
        *self
            .next_run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(run);
        Ok(Next::Continue)
    }

    /// The run as the step left it, when the step ended with [`Ctx::continue_after`].
    pub fn take_next_run(&self) -> Option<RunRow> {
        self.next_run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
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

    /// Notes durable progress within this step.
    pub fn progressed(&self) {
        self.progressed.store(true, Ordering::Relaxed);
    }

    /// Whether this step made durable progress before it stopped.
    pub fn made_progress(&self) -> bool {
        self.progressed.load(Ordering::Relaxed)
    }
}
