//! The workspace-deletion pass, under the [`Pass::WorkspacePurge`] lock: each unfinished
//! deletion is moved along as far as it can go this pass.
//!
//! `requested` → `draining` at once; `draining` waits (cancel-requesting any straggler) until
//! every run of the workspace is `phase = 'done'`; `purging` deletes the workspace's stored
//! objects (one prefix deletion, outside any transaction, repeated each pass until the purge is
//! done, which is harmless), then the runs in batches, then completes: tokens revoked,
//! workspace tombstoned, completion audited.

use antpath_db::sweeps::{self, Pass, begin_bounded};
use antpath_db::workspace_deletion::DeletionState;
use antpath_db::workspace_purge::{self, Unfinished};
use antpath_storage::{ObjectStore, workspace_prefix};
use sqlx::PgPool;

use crate::{Report, SweepConfig};

/// One pass over the unfinished deletions (at most `config.batch` of them).
pub(crate) async fn delete_workspaces(
    pool: &PgPool,
    store: &ObjectStore,
    config: &SweepConfig,
    report: &mut Report,
) -> anyhow::Result<()> {
    let Some(lock) = sweeps::try_lock_pass(pool, Pass::WorkspacePurge).await? else {
        report.passes_skipped += 1;
        return Ok(());
    };
    let swept = sweep_deletions(pool, store, config, report).await;
    lock.release().await?;
    swept
}

async fn sweep_deletions(
    pool: &PgPool,
    store: &ObjectStore,
    config: &SweepConfig,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut tx = begin_bounded(pool, config.statement_timeout).await?;
    let deletions = workspace_purge::unfinished(&mut *tx, config.batch).await?;
    tx.commit().await?;
    for deletion in deletions {
        advance(pool, store, config, deletion, report).await?;
    }
    Ok(())
}

/// Moves one deletion as far as it goes now.
async fn advance(
    pool: &PgPool,
    store: &ObjectStore,
    config: &SweepConfig,
    deletion: Unfinished,
    report: &mut Report,
) -> anyhow::Result<()> {
    let workspace = deletion.workspace_id;
    let mut state = deletion.state;
    if state == DeletionState::Requested {
        let mut tx = begin_bounded(pool, config.statement_timeout).await?;
        workspace_purge::start_draining(&mut *tx, workspace).await?;
        tx.commit().await?;
        state = DeletionState::Draining;
    }
    if state == DeletionState::Draining {
        let mut tx = begin_bounded(pool, config.statement_timeout).await?;
        let drain = workspace_purge::drain(&mut tx, workspace).await?;
        tx.commit().await?;
        report.workspace_runs_cancelled += drain.runs_cancelled;
        if !drain.purging {
            tracing::info!(workspace.id = %workspace, runs.unfinished = drain.runs_unfinished, "workspace deletion waits for its runs");
            report.workspaces_draining += 1;
            return Ok(());
        }
        state = DeletionState::Purging;
    }
    if state != DeletionState::Purging {
        return Ok(());
    }
    if let Err(err) = store.delete_prefix(&workspace_prefix(workspace)).await {
        tracing::warn!(workspace.id = %workspace, error.message = %err, "could not delete a workspace's objects; will retry");
        report.storage_errors += 1;
        return Ok(());
    }
    for _ in 0..config.max_batches {
        let mut tx = begin_bounded(pool, config.statement_timeout).await?;
        let batch = workspace_purge::purge_batch(&mut tx, workspace, config.batch).await?;
        tx.commit().await?;
        report.workspace_runs_purged += batch.runs;
        report.workspace_objects_purged += batch.objects;
        report.workspace_bytes_purged += u64::try_from(batch.bytes).unwrap_or(0);
        if batch.runs == 0 {
            break;
        }
    }
    let mut tx = begin_bounded(pool, config.statement_timeout).await?;
    let completed = workspace_purge::complete(&mut tx, workspace).await?;
    tx.commit().await?;
    if let Some(completed) = completed {
        tracing::info!(
            workspace.id = %workspace,
            runs.purged = completed.runs_purged,
            storage.bytes_purged = completed.bytes_purged,
            tokens.revoked = completed.tokens_revoked,
            "workspace deleted"
        );
        report.workspaces_deleted += 1;
    }
    Ok(())
}
