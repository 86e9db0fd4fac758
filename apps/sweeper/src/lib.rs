//! The sweeper: periodic, bounded repair passes over the run table.
//!
//! Each pass works in batches of at most `batch` rows, claimed with `FOR UPDATE SKIP LOCKED`
//! so several sweepers (or a sweeper and the workers) never fight over a row:
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
//! 4. **Deleted runs**: runs the user deleted whose cleanup is done move to `pending_delete`,
//!    their stored objects are removed (`delete_prefix`), their bytes given back to the
//!    workspace, and they end `deleted`.

use std::time::Duration;

use antpath_db::{cleanup, outputs};
use antpath_storage::{ObjectStore, run_prefix};
use sqlx::PgPool;

/// How long a journal row may stay `intended` before the sweeper nudges its run.
pub const STALE_INTENT: Duration = Duration::from_secs(180);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Leases cleared.
    pub leases_expired: u64,
    /// Secrets bundles of finished runs destroyed.
    pub secrets_destroyed: u64,
    /// Runs nudged to reconcile their journal.
    pub intents_nudged: u64,
    /// Runs whose outputs were purged.
    pub runs_purged: u64,
}

/// One pass of every sweep.
pub async fn sweep_once(pool: &PgPool, store: &ObjectStore, batch: i64) -> anyhow::Result<Report> {
    use anyhow::Context as _;
    let leases_expired = cleanup::expire_stale_leases(pool, batch)
        .await
        .context("while expiring stale leases")?;
    let secrets_destroyed = cleanup::destroy_leftover_secrets(pool, batch)
        .await
        .context("while destroying the secrets of finished runs")?;
    let intents_nudged = cleanup::nudge_stale_intents(pool, STALE_INTENT.as_secs_f64(), batch)
        .await
        .context("while nudging unfinished journals")?;
    let runs_purged = purge(pool, store, batch)
        .await
        .context("while purging deleted runs")?;
    Ok(Report {
        leases_expired,
        secrets_destroyed,
        intents_nudged,
        runs_purged,
    })
}

/// Purges the outputs of deleted runs. The objects go first; the rows and the storage counter
/// follow in one transaction, so a crash in between leaves a run that the next pass finishes
/// (deleting a missing prefix succeeds).
async fn purge(pool: &PgPool, store: &ObjectStore, batch: i64) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await?;
    let candidates = cleanup::take_purge_candidates(&mut tx, batch).await?;
    tx.commit().await?;
    let mut purged = 0;
    for candidate in candidates {
        if let Err(err) = store
            .delete_prefix(&run_prefix(candidate.workspace_id, candidate.run_id))
            .await
        {
            tracing::warn!(run.id = %candidate.run_id, error.message = %err, "could not delete a run's objects; will retry");
            continue;
        }
        let mut tx = pool.begin().await?;
        outputs::release_run_outputs(&mut tx, candidate.run_id).await?;
        cleanup::mark_deleted(&mut *tx, candidate.run_id).await?;
        tx.commit().await?;
        purged += 1;
    }
    Ok(purged)
}
