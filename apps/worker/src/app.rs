//! Wiring: the claim loop over the run table, and the health endpoint.

use std::net::SocketAddr;
use std::sync::Arc;

use antpath_lease::{Claimer, ClaimerConfig, ClaimerHandle};
use tokio::net::TcpListener;

use crate::config::WorkerConfig;
use crate::context::Deps;
use crate::health;
use crate::job::RunJob;
use crate::store::RunStore;

/// The `NOTIFY` channel that wakes idle workers: the bff after a submission commits, the
/// runs table's trigger on a cancel or delete request.
pub const CHANNEL: &str = antpath_db::runs::WAKE_CHANNEL;

/// A running worker.
#[derive(Debug)]
pub struct WorkerHandle {
    claimer: ClaimerHandle,
    health: Option<(SocketAddr, tokio::task::JoinHandle<()>)>,
}

impl WorkerHandle {
    /// The health endpoint's address, if one was started.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.health.as_ref().map(|(addr, _)| *addr)
    }

    /// Stops claiming, lets running steps finish (or hands their runs back) and stops.
    pub async fn shutdown(self) {
        let token = self.claimer.shutdown_token();
        self.claimer.shutdown().await;
        token.cancel();
        if let Some((_, task)) = self.health {
            let _ = task.await;
        }
    }

    /// Stops at once without handing leases back, as SIGKILL would (the health endpoint, if
    /// any, stops too). For recovery benchmarks.
    pub fn kill(self) {
        self.claimer.abort();
        if let Some((_, task)) = self.health {
            task.abort();
        }
    }

    /// Waits until the worker stops (after SIGTERM cancelled its token).
    pub async fn stop_on(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

/// How the worker's claim loop behaves under `config`.
pub fn claimer_config(config: &WorkerConfig) -> ClaimerConfig {
    ClaimerConfig {
        owner: config.owner.clone(),
        concurrency: config.concurrency.max(1),
        batch: config.tuning.claim_batch.max(1),
        claim_linger: config.tuning.claim_linger,
        lease_ttl: config.lease_ttl(),
        renew_before: std::time::Duration::from_secs(config.limits.lease_renew_seconds.into()),
        poll_interval: config.tuning.claim_poll,
        channel: config.tuning.listen.then(|| CHANNEL.to_owned()),
        shutdown_grace: config.tuning.shutdown_grace,
    }
}

/// Starts the claim loop and, given a pre-bound listener, the health endpoint.
pub fn start(deps: Deps, health_listener: Option<TcpListener>) -> std::io::Result<WorkerHandle> {
    let pool = deps.pool.clone();
    let config = &deps.config;
    let claimer_config = claimer_config(config);
    let metrics = Arc::clone(&deps.metrics);
    let deps = Arc::new(deps);
    let claimer = Claimer::new(
        Arc::new(RunStore::new(pool.clone(), Arc::clone(&metrics))),
        Arc::new(RunJob::new(Arc::clone(&deps))),
        claimer_config,
    )
    .spawn(pool.clone());
    let health = match health_listener {
        Some(listener) => {
            let addr = listener.local_addr()?;
            let stop = claimer.shutdown_token();
            let task = tokio::spawn(health::serve(listener, pool, metrics, stop));
            Some((addr, task))
        }
        None => None,
    };
    Ok(WorkerHandle { claimer, health })
}
