//! Lease-based claiming of due work from Postgres, with no knowledge of what the work is.
//!
//! A *store* ([`LeaseStore`]) knows how to claim a batch of due rows under a fresh lease token
//! and expiry (`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …`), how to
//! renew a lease and how to hand one back. A *job* ([`Job`]) does one bounded piece of work on a
//! claimed row and fences every write with the token ([`fenced`] turns "rows affected" into
//! [`LeaseLost`]). The [`Claimer`] ties them together:
//!
//! - at most `concurrency` jobs at once on this replica (a semaphore);
//! - claims only as many rows as it has free slots, in batches;
//! - sleeps when nothing is due until the poll interval passes or a `NOTIFY` arrives on the
//!   configured channel ([`listener`]); polling stays the source of truth;
//! - renews each lease while its job runs and tells the job if the lease was lost;
//! - on shutdown stops claiming, lets running jobs finish within a grace period, then aborts the
//!   rest and hands their leases back so another replica can take over at once.

mod claimer;
pub mod listener;

use std::fmt::{Debug, Display};
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use claimer::{Claimer, ClaimerConfig, ClaimerHandle};

/// A claimed row: its id and the fencing token every later write must present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease<Id> {
    /// The row.
    pub id: Id,
    /// The token written by the claim.
    pub token: Uuid,
    /// When the lease runs out unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// A fenced write found the lease gone: it expired, or another holder took the row over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the lease is no longer held")]
pub struct LeaseLost;

/// Checks that a fenced write touched exactly one row.
pub fn fenced(rows_affected: u64) -> Result<(), LeaseLost> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(LeaseLost)
    }
}

/// Where leases come from: the domain's claim, renew and release queries.
pub trait LeaseStore: Send + Sync + 'static {
    /// The row id.
    type Id: Copy + Send + Sync + Display + Debug + 'static;

    /// Claims up to `limit` due rows for `owner`, each leased for `ttl`.
    fn claim(
        &self,
        owner: &str,
        limit: usize,
        ttl: Duration,
    ) -> impl Future<Output = Result<Vec<Lease<Self::Id>>, sqlx::Error>> + Send;

    /// Extends a lease by `ttl`; `None` if it was lost.
    fn renew(
        &self,
        lease: &Lease<Self::Id>,
        ttl: Duration,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, sqlx::Error>> + Send;

    /// Hands a lease back without changing the row otherwise; `false` if it was already gone.
    fn release(
        &self,
        lease: &Lease<Self::Id>,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
}

/// What a job learns from the claimer while it runs.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// Cancelled when the replica shuts down: finish the current bounded step, then stop.
    pub shutdown: CancellationToken,
    /// Cancelled when a renewal found the lease lost: stop without writing.
    pub lost: CancellationToken,
}

/// How a job ended, from the claimer's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// The job released the lease itself (or the lease is gone): nothing to do.
    Done,
    /// The job stopped early; the claimer hands the lease back.
    HandBack,
}

/// One bounded piece of work on a claimed row.
pub trait Job<Id>: Send + Sync + 'static {
    /// Works on `lease`. Must fence its writes with the lease token.
    fn run(&self, lease: Lease<Id>, ctx: JobContext) -> impl Future<Output = JobEnd> + Send;
}

/// Capped exponential backoff with full jitter: a random delay in `[0, min(cap, base·2ⁿ)]`.
pub fn backoff(base: Duration, cap: Duration, retry: u32) -> Duration {
    let ceiling = base
        .saturating_mul(2u32.saturating_pow(retry.min(30)))
        .min(cap);
    ceiling.mul_f64(rand::random::<f64>())
}
