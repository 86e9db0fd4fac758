//! The claim loop: claim as many due rows as there are free slots, run a job per lease with
//! renewal, sleep until woken or the poll interval passes, and drain on shutdown.
//!
//! While jobs run and fewer than half a batch of slots is free, the loop lingers (at most
//! [`ClaimerConfig::claim_linger`]) for more slots to free up before it claims: a busy replica
//! whose jobs end one at a time would otherwise make one claim, and one commit, per ended job.

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
    /// With jobs running and fewer than half a batch of slots free, how long to wait for more
    /// slots before claiming; zero claims at once.
    pub claim_linger: Duration,
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
            if self
                .linger(&slots, &mut jobs, &mut in_flight, &shutdown)
                .await
            {
                break;
            }
            let want = slots.available_permits().min(self.config.batch);
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

    /// Waits, while jobs run, for half a batch of slots to be free or [`ClaimerConfig::claim_linger`]
    /// to pass; true when shut down meanwhile.
    async fn linger(
        &self,
        slots: &Semaphore,
        jobs: &mut JoinSet<()>,
        in_flight: &mut Vec<(tokio::task::Id, Lease<S::Id>)>,
        shutdown: &CancellationToken,
    ) -> bool {
        let enough = (self.config.batch.min(self.config.concurrency) / 2).max(1);
        if slots.available_permits() >= enough || self.config.claim_linger.is_zero() {
            return false;
        }
        let deadline = tokio::time::Instant::now() + self.config.claim_linger;
        while slots.available_permits() < enough && !jobs.is_empty() {
            tokio::select! {
                () = shutdown.cancelled() => return true,
                () = tokio::time::sleep_until(deadline) => return false,
                done = jobs.join_next_with_id() => {
                    if let Some(done) = done { forget(in_flight, done) }
                }
            }
        }
        false
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::{DateTime, Utc};
    use tokio::sync::Notify;

    use super::*;

    /// Due rows numbered from 0, and the size of every claim made.
    #[derive(Default)]
    struct Queue {
        next: Mutex<u32>,
        claims: Mutex<Vec<usize>>,
    }

    const ROWS: u32 = 160;

    impl LeaseStore for Queue {
        type Id = u32;

        async fn claim(
            &self,
            _owner: &str,
            limit: usize,
            ttl: Duration,
        ) -> Result<Vec<Lease<u32>>, sqlx::Error> {
            let mut next = self.next.lock().unwrap();
            let first = *next;
            *next = (first + limit as u32).min(ROWS);
            let leases: Vec<_> = (first..*next)
                .map(|id| Lease {
                    id,
                    token: uuid::Uuid::new_v4(),
                    expires_at: Utc::now() + ttl,
                })
                .collect();
            if !leases.is_empty() {
                self.claims.lock().unwrap().push(leases.len());
            }
            Ok(leases)
        }

        async fn renew(
            &self,
            _lease: &Lease<u32>,
            ttl: Duration,
        ) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
            Ok(Some(Utc::now() + ttl))
        }

        async fn release(&self, _lease: &Lease<u32>) -> Result<bool, sqlx::Error> {
            Ok(true)
        }
    }

    /// Row `n`'s job takes `1 + n % 16` ms, so a full replica's jobs end one a millisecond.
    struct Staggered {
        done: AtomicUsize,
        all_done: Notify,
    }

    impl Job<u32> for Staggered {
        async fn run(&self, lease: Lease<u32>, _ctx: JobContext) -> JobEnd {
            tokio::time::sleep(Duration::from_millis(1 + u64::from(lease.id % 16))).await;
            if self.done.fetch_add(1, Ordering::AcqRel) + 1 == ROWS as usize {
                self.all_done.notify_one();
            }
            JobEnd::Done
        }
    }

    /// Runs every row through a claimer with 16 slots and batches of 16; the claim sizes.
    async fn claim_sizes(claim_linger: Duration) -> Vec<usize> {
        let queue = Arc::new(Queue::default());
        let job = Arc::new(Staggered {
            done: AtomicUsize::new(0),
            all_done: Notify::new(),
        });
        let config = ClaimerConfig {
            owner: "test".into(),
            concurrency: 16,
            batch: 16,
            claim_linger,
            lease_ttl: Duration::from_secs(30),
            renew_before: Duration::from_secs(10),
            poll_interval: Duration::from_secs(2),
            channel: None,
            shutdown_grace: Duration::from_secs(1),
        };
        // Never connected: without a channel the claimer does not listen.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://unused@127.0.0.1:1/unused")
            .expect("lazy pool");
        let handle = Claimer::new(Arc::clone(&queue), Arc::clone(&job), config).spawn(pool);
        job.all_done.notified().await;
        handle.shutdown().await;
        assert_eq!(job.done.load(Ordering::Acquire), ROWS as usize);
        queue.claims.lock().unwrap().clone()
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_claimer_lingers_for_half_a_batch_instead_of_claiming_per_ended_job() {
        let sizes = claim_sizes(Duration::from_millis(5)).await;
        assert_eq!(
            sizes[0], 16,
            "with every slot free the first claim is a full batch"
        );
        assert!(
            sizes.len() <= (ROWS as usize) / 4,
            "{} claims for {ROWS} rows: {sizes:?}",
            sizes.len()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_linger_a_claimer_claims_as_each_slot_frees() {
        let sizes = claim_sizes(Duration::ZERO).await;
        assert!(
            sizes.len() >= (ROWS as usize) / 3,
            "{} claims for {ROWS} rows: {sizes:?}",
            sizes.len()
        );
    }
}
