//! [`RunStore`]: the run table as an [`antpath_lease::LeaseStore`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use antpath_db::lifecycle::{self, Fence};
use antpath_lease::{Lease, LeaseStore};
use antpath_types::RunId;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::metrics::WorkerMetrics;

/// Claims, renews and releases run leases with the db crate's fenced queries.
#[derive(Debug, Clone)]
pub struct RunStore {
    pool: PgPool,
    metrics: Arc<WorkerMetrics>,
}

impl RunStore {
    /// A store over `pool`, counting claims, their latency and lease renewals in `metrics`.
    pub fn new(pool: PgPool, metrics: Arc<WorkerMetrics>) -> Self {
        Self { pool, metrics }
    }
}

/// The fence of a lease.
pub fn fence_of(lease: &Lease<RunId>) -> Fence {
    Fence {
        run_id: lease.id,
        token: lease.token,
    }
}

impl LeaseStore for RunStore {
    type Id = RunId;

    async fn claim(
        &self,
        owner: &str,
        limit: usize,
        ttl: Duration,
    ) -> Result<Vec<Lease<RunId>>, sqlx::Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let started = Instant::now();
        let claimed = lifecycle::claim_due(&self.pool, owner, limit, ttl.as_secs_f64()).await?;
        self.metrics.observe_claim(claimed.len(), started.elapsed());
        Ok(claimed
            .into_iter()
            .map(|c| Lease {
                id: c.run_id,
                token: c.token,
                expires_at: c.expires_at,
            })
            .collect())
    }

    async fn renew(
        &self,
        lease: &Lease<RunId>,
        ttl: Duration,
    ) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        self.metrics.lease_renewed();
        lifecycle::renew(&self.pool, fence_of(lease), ttl.as_secs_f64()).await
    }

    async fn release(&self, lease: &Lease<RunId>) -> Result<bool, sqlx::Error> {
        lifecycle::release(&self.pool, fence_of(lease)).await
    }
}
