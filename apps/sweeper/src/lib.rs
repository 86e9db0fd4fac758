//! The sweeper: periodic, bounded repair passes over the run and workspace tables.
//!
//! Every pass works in batches of at most `batch` rows, claimed with `FOR UPDATE SKIP LOCKED`
//! so several sweepers (or a sweeper and the workers) never fight over a row, and every
//! transaction carries its own `SET LOCAL statement_timeout`. The passes where only one actor
//! may act hold a Postgres advisory lock; a second sweeper skips them (`passes_skipped`).
//!
//! 1. **Stale leases**: leases that ran out without being released are cleared, so the runs
//!    are claimable at once.
//! 2. **Leftover secrets**: a finished run (`phase = 'done'`) that still holds its secrets has
//!    them destroyed. The workers retry cleanup themselves until the give-up window
//!    (`limits.cleanup_give_up_after_seconds`) and destroy the secrets when it ends, so this is
//!    only a safety net.
//! 3. **Unfinished journals**: runs with provider resources stuck in `intended` for more than a
//!    few minutes are made due now; the worker's next step adopts the resource by metadata (or
//!    abandons it if it never existed) and cleans up.
//! 4. **Stale run-feed watches**: watches a bff replica has not renewed for ten minutes (the
//!    replica is gone) are deleted, so the runs they named stop notifying.
//! 5. **Deleted runs** ([`purge`]): runs the user deleted that are finished (`phase = 'done'`),
//!    whatever became of their cleanup, lose their stored objects, output rows and secrets, and
//!    end `deleted`.
//! 6. **Storage accounting** ([`storage`], locked): each workspace's used-bytes counter is
//!    recomputed from its output rows and fixed where it drifted.
//! 7. **Deleted workspaces** ([`workspaces`], locked): drained, purged and tombstoned.
//! 8. **Idle cached agents and environments** ([`agent_cache`], when the sweeper has the key
//!    ring and a provider URL): archived or deleted on the provider once idle for
//!    `limits.agent_cache_idle_seconds` with no unfinished run on them. Run separately
//!    ([`agent_cache::retire_idle`]) since it is the one pass that calls the provider.

pub mod agent_cache;
pub mod metrics;
mod purge;
mod report;
mod storage;
mod workspaces;

use std::time::Duration;

use antpath_db::sweeps::begin_bounded;
use antpath_db::{cleanup, feed_watches};
use antpath_storage::ObjectStore;
use anyhow::Context as _;
use sqlx::PgPool;

pub use report::Report;

/// How long a journal row may stay `intended` before the sweeper nudges its run.
pub const STALE_INTENT: Duration = Duration::from_secs(180);

/// How long a sweeper's claim on a deleted run keeps other sweepers off it. Longer than any
/// prefix deletion should take; a claim older than this belongs to a sweeper that died.
pub const PURGE_RECLAIM_AFTER: Duration = Duration::from_secs(5 * 60);

/// Default statement timeout of a sweeper transaction.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Most batches one pass of a batched sweep (storage repair, a workspace's purge) takes, so a
/// pass ends in bounded time; the next pass goes on where this one stopped.
pub const MAX_BATCHES_PER_PASS: u32 = 1000;

/// How a pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepConfig {
    /// Rows per batch.
    pub batch: i64,
    /// Statement timeout of each transaction.
    pub statement_timeout: Duration,
    /// Most batches a batched sweep takes in one pass.
    pub max_batches: u32,
}

impl SweepConfig {
    /// The defaults with `batch` rows per batch.
    pub fn with_batch(batch: i64) -> Self {
        Self {
            batch,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            max_batches: MAX_BATCHES_PER_PASS,
        }
    }
}

/// One pass of every sweep with the default settings and `batch` rows per batch.
pub async fn sweep_once(pool: &PgPool, store: &ObjectStore, batch: i64) -> anyhow::Result<Report> {
    sweep(pool, store, &SweepConfig::with_batch(batch)).await
}

/// One pass of every sweep.
pub async fn sweep(
    pool: &PgPool,
    store: &ObjectStore,
    config: &SweepConfig,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let timeout = config.statement_timeout;
    let batch = config.batch;

    let mut tx = begin_bounded(pool, timeout).await?;
    report.leases_expired = cleanup::expire_stale_leases(&mut *tx, batch)
        .await
        .context("while expiring stale leases")?;
    tx.commit().await?;

    let mut tx = begin_bounded(pool, timeout).await?;
    report.secrets_destroyed = cleanup::destroy_leftover_secrets(&mut *tx, batch)
        .await
        .context("while destroying the secrets of finished runs")?;
    tx.commit().await?;

    let mut tx = begin_bounded(pool, timeout).await?;
    report.intents_nudged =
        cleanup::nudge_stale_intents(&mut *tx, STALE_INTENT.as_secs_f64(), batch)
            .await
            .context("while nudging unfinished journals")?;
    tx.commit().await?;

    report.watches_expired = feed_watches::expire_stale(pool, batch)
        .await
        .context("while expiring the run feed's stale watches")?;

    purge::purge_deleted_runs(pool, store, config, &mut report)
        .await
        .context("while purging deleted runs")?;
    storage::repair_storage(pool, config, &mut report)
        .await
        .context("while repairing storage accounting")?;
    workspaces::delete_workspaces(pool, store, config, &mut report)
        .await
        .context("while deleting workspaces")?;
    Ok(report)
}
