//! Purging deleted runs: claim a batch, delete each run's objects (a prefix deletion, outside
//! any transaction), then remove its rows and give its bytes back in a short transaction. A
//! crash in between leaves a claimed run that the next pass takes again once the claim is
//! stale; deleting a missing prefix succeeds, and [`run_purge::finish_purge`] counts a run
//! only when it was the one to mark it deleted.

use antpath_db::run_purge;
use antpath_db::sweeps::begin_bounded;
use antpath_storage::{ObjectStore, run_prefix};
use sqlx::PgPool;

use crate::{PURGE_RECLAIM_AFTER, Report, SweepConfig};

/// One batch of deleted runs.
pub(crate) async fn purge_deleted_runs(
    pool: &PgPool,
    store: &ObjectStore,
    config: &SweepConfig,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut tx = begin_bounded(pool, config.statement_timeout).await?;
    let candidates = run_purge::claim_purge_candidates(
        &mut *tx,
        config.batch,
        PURGE_RECLAIM_AFTER.as_secs_f64(),
    )
    .await?;
    tx.commit().await?;
    for candidate in candidates {
        let prefix = run_prefix(candidate.workspace_id, candidate.run_id);
        if let Err(err) = store.delete_prefix(&prefix).await {
            tracing::warn!(run.id = %candidate.run_id, error.message = %err, "could not delete a run's objects; will retry");
            report.storage_errors += 1;
            continue;
        }
        let mut tx = begin_bounded(pool, config.statement_timeout).await?;
        let purged = run_purge::finish_purge(&mut tx, candidate.run_id).await?;
        tx.commit().await?;
        if let Some(purged) = purged {
            report.runs_purged += 1;
            report.run_bytes_purged += u64::try_from(purged.bytes).unwrap_or(0);
            report.secrets_destroyed += u64::from(purged.secrets_destroyed);
        }
    }
    Ok(())
}
