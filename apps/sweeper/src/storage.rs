//! Storage-accounting repair: every workspace's used-bytes counter is recomputed from its
//! output rows, batch by batch in id order, and set right where it drifted. Under the
//! [`Pass::StorageRepair`] lock, so one sweeper does it at a time.

use antpath_db::sweeps::{self, Pass, begin_bounded};
use sqlx::PgPool;

use crate::{Report, SweepConfig};

/// One repair pass over the workspaces, at most `config.max_batches` batches long.
pub(crate) async fn repair_storage(
    pool: &PgPool,
    config: &SweepConfig,
    report: &mut Report,
) -> anyhow::Result<()> {
    let Some(lock) = sweeps::try_lock_pass(pool, Pass::StorageRepair).await? else {
        report.passes_skipped += 1;
        return Ok(());
    };
    let repaired = repair_batches(pool, config, report).await;
    lock.release().await?;
    repaired
}

async fn repair_batches(
    pool: &PgPool,
    config: &SweepConfig,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut after = None;
    for _ in 0..config.max_batches {
        let mut tx = begin_bounded(pool, config.statement_timeout).await?;
        let batch = sweeps::repair_storage_batch(&mut tx, after, config.batch).await?;
        tx.commit().await?;
        for drift in &batch.fixed {
            tracing::warn!(
                workspace.id = %drift.workspace_id,
                storage.recorded_bytes = drift.recorded_bytes,
                storage.actual_bytes = drift.actual_bytes,
                "storage counter drifted from the output rows; fixed"
            );
            report.storage_drift_workspaces += 1;
            report.storage_drift_bytes += drift.recorded_bytes.abs_diff(drift.actual_bytes);
        }
        // A short batch may only mean rows skipped as locked, so go on until one is empty.
        if batch.checked == 0 {
            break;
        }
        after = batch.last;
    }
    Ok(())
}
