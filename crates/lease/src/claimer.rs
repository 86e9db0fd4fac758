//! The claim loop: claim as many due rows as there are free slots, run a job per lease with
//! renewal, sleep until woken or the poll interval passes, and drain on shutdown.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{Job, JobContext, JobEnd, Lease, LeaseStore, backoff, listener};

/// How a [`Claimer`] behaves.
#[derive(Debug, Clone)]
pub struct ClaimerConfig {
    /// This replica's identity, written as the lease owner.
    pub owner: String,
    /// Jobs running at once on this replica.
    pub concurrency: usize,
    /// Most rows claimed by one query.
    pub batch: usize,
    /// Lease length.
    pub lease_ttl: Duration,
    /// Renew when this much of the lease is left.
    pub renew_before: Duration,
    /// Longest sleep when nothing is due (polling is the source of truth).
    pub poll_interval: Duration,
    /// The `NOTIFY` channel that wakes idle claimers; `None` polls only.
    pub channel: Option<String>,
    /// How long running jobs get to finish after shutdown before their leases are handed back.
    pub shutdown_grace: Duration,
}

/// Claims due rows from a store and runs a job on each.
#[derive(Debug)]
pub struct Claimer<S, J> {
    store: Arc<S>,
    job: Arc<J>,
    config: ClaimerConfig,
}

/// A running claimer: stop it with [`ClaimerHandle::shutdown`].
#[derive(Debug)]
pub struct ClaimerHandle {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl ClaimerHandle {
    /// The token that stops the claimer when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops claiming, drains running jobs (see [`ClaimerConfig::shutdown_grace`]) and waits.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        if let Err(err) = self.task.await {
            tracing::error!(error.message = %err, "claim loop panicked");
        }
    }

    /// Stops at once, as a killed process would: running jobs are dropped mid-step, their
    /// leases are neither renewed nor handed back and run out on their own. For recovery
    /// benchmarks and tests; a real shutdown uses [`ClaimerHandle::shutdown`].
    pub fn abort(self) {
        self.task.abort();
    }

    /// Waits for the claimer to end (after its token is cancelled elsewhere).
    pub async fn join(self) {
        if let Err(err) = self.task.await {
            tracing::error!(error.message = %err, "claim loop panicked");
        }
    }
}

impl<S: LeaseStore, J: Job<S::Id>> Claimer<S, J> {
    /// A claimer over `store` running `job`.
    pub fn new(store: Arc<S>, job: Arc<J>, config: ClaimerConfig) -> Self {
        Self { store, job, config }
    }

    /// Starts the claim loop (and the listener, if a channel is configured) in the background.
    pub fn spawn(self, pool: PgPool) -> ClaimerHandle {
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move { self.run(pool, token).await });
        ClaimerHandle { shutdown, task }
    }

    /// Runs the claim loop until `shutdown` is cancelled and running jobs are drained.
    pub async fn run(self, pool: PgPool, shutdown: CancellationToken) {
        let wake = Arc::new(Notify::new());
        let listener_stop = CancellationToken::new();
        // Stops the listener however this future ends, an abort included.
        let _listener_guard = listener_stop.clone().drop_guard();
        if let Some(channel) = self.config.channel.clone() {
            tokio::spawn(listener::listen(
                pool,
                channel,
                Arc::clone(&wake),
                listener_stop.clone(),
            ));
        }
        let slots = Arc::new(Semaphore::new(self.config.concurrency));
        let mut jobs: JoinSet<()> = JoinSet::new();
        let mut in_flight: Vec<(tokio::task::Id, Lease<S::Id>)> = Vec::new();
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            while let Some(done) = jobs.try_join_next_with_id() {
                forget(&mut in_flight, done);
            }
            let free = slots.available_permits();
            if free == 0 {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    done = jobs.join_next_with_id() => { if let Some(done) = done { forget(&mut in_flight, done) } }
                }
                continue;
            }
            let want = free.min(self.config.batch);
            let claimed = match self
                .store
                .claim(&self.config.owner, want, self.config.lease_ttl)
                .await
            {
                Ok(claimed) => {
                    failures = 0;
                    claimed
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    tracing::error!(error.message = %err, "claiming failed; backing off");
                    let delay = backoff(
                        Duration::from_millis(100),
                        self.config.poll_interval,
                        failures,
                    );
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(delay) => {}
                    }
                    continue;
                }
            };
            let got = claimed.len();
            for lease in claimed {
                let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                    // Cannot happen (we claimed at most the free slots); hand it back.
                    let _ = self.store.release(&lease).await;
                    continue;
                };
                let ctx = JobContext {
                    shutdown: shutdown.clone(),
                    lost: CancellationToken::new(),
                };
                let store = Arc::clone(&self.store);
                let job = Arc::clone(&self.job);
                let config = self.config.clone();
                let handle = jobs.spawn(async move {
                    let _permit = permit;
                    run_one(store, job, config, lease, ctx).await;
                });
                in_flight.push((handle.id(), lease));
            }
            if got < want {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = wake.notified() => {}
                    () = tokio::time::sleep(self.config.poll_interval) => {}
                    done = jobs.join_next_with_id(), if !jobs.is_empty() => {
                        if let Some(done) = done { forget(&mut in_flight, done) }
                    }
                }
            }
        }
        listener_stop.cancel();
        self.drain(jobs, in_flight).await;
    }

    /// Lets running jobs finish within the grace period, then aborts the rest and hands their
    /// leases back.
    async fn drain(
        &self,
        mut jobs: JoinSet<()>,
        mut in_flight: Vec<(tokio::task::Id, Lease<S::Id>)>,
    ) {
        let deadline = tokio::time::Instant::now() + self.config.shutdown_grace;
        while !jobs.is_empty() {
            match tokio::time::timeout_at(deadline, jobs.join_next_with_id()).await {
                Ok(Some(done)) => forget(&mut in_flight, done),
                Ok(None) => break,
                Err(_) => {
                    jobs.abort_all();
                    while jobs.join_next().await.is_some() {}
                    for (_, lease) in &in_flight {
                        if let Err(err) = self.store.release(lease).await {
                            tracing::warn!(lease.id = %lease.id, error.message = %err, "could not hand a lease back");
                        }
                    }
                    break;
                }
            }
        }
    }
}

fn forget<Id>(
    in_flight: &mut Vec<(tokio::task::Id, Lease<Id>)>,
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
) {
    let id = match done {
        Ok((id, ())) => id,
        Err(err) => {
            tracing::error!(error.message = %err, "a job panicked; its lease will expire");
            err.id()
        }
    };
    in_flight.retain(|(task, _)| *task != id);
}

/// Runs one job alongside its lease renewal; hands the lease back if the job asks to.
async fn run_one<S: LeaseStore, J: Job<S::Id>>(
    store: Arc<S>,
    job: Arc<J>,
    config: ClaimerConfig,
    lease: Lease<S::Id>,
    ctx: JobContext,
) {
    let lost = ctx.lost.clone();
    let work = job.run(lease, ctx);
    let renew = renew_loop(&*store, lease, &config, lost);
    let end = tokio::select! {
        end = work => end,
        () = renew => JobEnd::Done,
    };
    if end == JobEnd::HandBack
        && let Err(err) = store.release(&lease).await
    {
        tracing::warn!(lease.id = %lease.id, error.message = %err, "could not hand a lease back");
    }
}

/// Renews the lease before it runs out; when it is lost, cancels `lost` and waits for ever (the
/// job then stops on its own, its fenced writes failing).
async fn renew_loop<S: LeaseStore>(
    store: &S,
    mut lease: Lease<S::Id>,
    config: &ClaimerConfig,
    lost: CancellationToken,
) {
    loop {
        let left = (lease.expires_at - chrono::Utc::now())
            .to_std()
            .unwrap_or_default();
        let wait = left.saturating_sub(config.renew_before);
        tokio::time::sleep(wait.max(Duration::from_millis(50))).await;
        match store.renew(&lease, config.lease_ttl).await {
            Ok(Some(expires_at)) => lease.expires_at = expires_at,
            Ok(None) => {
                tracing::warn!(lease.id = %lease.id, "lease lost during a step");
                lost.cancel();
                std::future::pending::<()>().await;
            }
            Err(err) => {
                tracing::warn!(lease.id = %lease.id, error.message = %err, "lease renewal failed; retrying");
            }
        }
    }
}
