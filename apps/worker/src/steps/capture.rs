//! `capture`: copy every file of the session into object storage, within the workspace quota.
//!
//! The listing is repeated until two consecutive listings agree (an empty one is trusted only
//! after `capture_settle` since the work ended, because the provider may list files late) or a
//! deadline passes. Each file is checked against the quota before it is downloaded, streamed
//! into the store under the hard safety cap (never held whole in memory), then recorded with
//! its storage increment and ledger row in one transaction. Files already recorded (stored or
//! failed) are skipped, so a retried capture never stores or counts a file twice.
//!
//! A file the provider marks `downloadable: false` (the session's copy of a mounted input) is
//! not downloaded: it is recorded as skipped with the reason `not_downloadable`, which leaves
//! the run's outcome alone. Two files of the same name are two files: each has its own
//! provider id, hence its own output id and key, and both are kept under their own name.
//!
//! A file's object key is derived from the run and the provider's file id, so a capture cut
//! off between the upload and its row overwrites the same object when it runs again: no
//! orphan. A file that keeps failing is recorded as a capture failure once its tries are used
//! up, so the files after it are still captured; a capture that cannot go on at all ends in
//! [`give_up`].

use std::collections::BTreeSet;

use antpath_db::lifecycle::{self, Fence, RunRow};
use antpath_db::outputs::{self, CaptureFailure, NewOutput, Recorded};
use antpath_db::storable;
use antpath_provider::types::file::FileMetadata;
use antpath_storage::{StorageError, output_key};
use antpath_types::{ErrorClass, OutputId, RunId, RunStatus};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio_util::io::StreamReader;

use super::{Ctx, Next, end};
use crate::error::{StepError, StepResult};
use crate::throttle::CallKind;
use tracing::Instrument as _;

/// The capture record of a file the provider will not serve: a skip, not a failure.
pub const NOT_DOWNLOADABLE: &str = "not_downloadable";

/// The workspace's storage as this step last saw it: read once with the settled files, then
/// kept up to date with what the step stores. It only spares downloads that cannot fit; the
/// recording transaction checks the quota itself.
#[derive(Debug, Clone, Copy)]
struct Quota {
    used: i64,
    cap: i64,
}

/// Captures the session's files, then moves to cleanup.
pub async fn capture(ctx: &Ctx) -> StepResult<Next> {
    if let Some(session) = ctx.run.provider_session_id.clone() {
        let files = settled_listing(ctx, &session).await?;
        let mut tx = ctx.deps.pool.begin().await?;
        let done: BTreeSet<String> = outputs::settled_files(&mut *tx, ctx.run.id)
            .await?
            .into_iter()
            .collect();
        let (used, cap) = outputs::storage(&mut *tx, ctx.run.workspace_id).await?;
        tx.commit().await?;
        let mut quota = Quota { used, cap };
        for file in files
            .iter()
            .filter(|f| !done.contains(storable::text(&f.id).as_ref()))
        {
            match capture_file(ctx, file, &mut quota).await {
                Ok(()) => ctx.progressed(),
                Err(err) if last_try(ctx, &err) => {
                    let message = err.public_message();
                    remove_unrecorded(ctx, file).await;
                    fail(ctx, file, "upload_failed", Some(message)).await?;
                    ctx.progressed();
                }
                Err(err) => return Err(err),
            }
            ctx.point("captured:file")?;
        }
    }
    let outcome = ctx.run.outcome.unwrap_or(RunStatus::Failed);
    let mut tx = ctx.deps.pool.begin().await?;
    end::enter_cleanup(&mut tx, ctx.fence, ctx.run.status, outcome).await?;
    let next = ctx.continue_after(tx).await?;
    ctx.point("phase:cleanup")?;
    Ok(next)
}

/// Whether a failed file has used up its tries (a lost lease, a crash or throttling is never
/// a file's fault).
fn last_try(ctx: &Ctx, err: &StepError) -> bool {
    let provider_throttled = matches!(err, StepError::Provider(p) if p.status() == Some(429));
    if provider_throttled
        || matches!(
            err,
            StepError::LeaseLost | StepError::Crash | StepError::Throttled(_)
        )
    {
        return false;
    }
    let max = i32::try_from(ctx.deps.config.limits.max_step_retries).unwrap_or(5);
    !err.class().is_retryable() || ctx.run.step_failures + 1 >= max
}

/// Capture cannot go on (the listing or the database keeps failing past the step's bound): a
/// succeeded outcome becomes `failed` — its outputs are not all in — and cleanup begins.
pub async fn give_up(pool: &PgPool, fence: Fence, run: &RunRow, message: &str) -> StepResult<()> {
    let why = format!("output capture gave up: {message}");
    let mut tx = pool.begin().await?;
    lifecycle::capture_cut_short(
        &mut *tx,
        fence,
        RunStatus::Failed,
        (ErrorClass::TransientProvider, &why),
    )
    .await?;
    let outcome = match run.outcome {
        Some(RunStatus::Succeeded) | None => RunStatus::Failed,
        Some(other) => other,
    };
    end::enter_cleanup(&mut tx, fence, run.status, outcome).await?;
    tx.commit().await?;
    Ok(())
}

/// The output id of a provider file of a run: the same on every try, so a retried upload
/// lands on the same object key.
fn output_id_for(run: RunId, provider_file_id: &str) -> OutputId {
    let mut hash = Sha256::new();
    hash.update(run.as_uuid().as_bytes());
    hash.update(provider_file_id.as_bytes());
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    OutputId::from(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// Lists until two consecutive listings agree (see the module docs).
async fn settled_listing(ctx: &Ctx, session: &str) -> StepResult<Vec<FileMetadata>> {
    let tuning = &ctx.deps.config.tuning;
    let started = tokio::time::Instant::now();
    let ended_before = ctx
        .run
        .work_ended_at
        .map(|at| (ctx.run.now - at).to_std().unwrap_or_default())
        .unwrap_or_default();
    let mut previous: Option<Vec<String>> = None;
    loop {
        let files = ctx
            .call(CallKind::Read, ctx.client.list_session_files(session))
            .await?;
        let ids: Vec<String> = files.iter().map(|f| f.id.clone()).collect();
        let settled_for = ended_before + started.elapsed();
        let trusted = !ids.is_empty() || settled_for >= tuning.capture_settle;
        if (previous.as_ref() == Some(&ids) && trusted)
            || started.elapsed() >= tuning.capture_deadline
        {
            return Ok(files);
        }
        previous = Some(ids);
        tokio::time::sleep(tuning.capture_relist).await;
    }
}

async fn fail(
    ctx: &Ctx,
    file: &FileMetadata,
    reason: &str,
    message: Option<String>,
) -> StepResult<()> {
    let message = message.map(|m| antpath_redact::scrub(&m));
    outputs::record_failure(
        &ctx.deps.pool,
        &CaptureFailure {
            run_id: ctx.run.id,
            workspace_id: ctx.run.workspace_id,
            provider_file_id: &file.id,
            filename: &file.filename,
            size_bytes: i64::try_from(file.size_bytes).ok(),
            reason,
            message: message.as_deref(),
        },
    )
    .await?;
    Ok(())
}

async fn capture_file(ctx: &Ctx, file: &FileMetadata, quota: &mut Quota) -> StepResult<()> {
    // Only an explicit `false` skips: a listing without the flag is tried, and the download
    // answers.
    if file.downloadable == Some(false) {
        return fail(ctx, file, NOT_DOWNLOADABLE, None).await;
    }
    let limits = &ctx.deps.config.limits;
    let size = i64::try_from(file.size_bytes).unwrap_or(i64::MAX);
    if quota.used.saturating_add(size) > quota.cap {
        return fail(ctx, file, "workspace_quota_exceeded", None).await;
    }
    if file.size_bytes > limits.file_safety_cap_bytes {
        return fail(ctx, file, "size_cap_exceeded", None).await;
    }
    let download = match ctx
        .call(CallKind::Read, ctx.client.download_file(&file.id))
        .await
    {
        Ok(download) => download,
        Err(err) => {
            if let StepError::Provider(provider) = &err
                && last_try(ctx, &err)
            {
                return fail(ctx, file, "download_failed", Some(provider.to_string())).await;
            }
            return Err(err);
        }
    };
    let content_type = download
        .content_type
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "application/octet-stream".into());
    let output_id = output_id_for(ctx.run.id, &file.id);
    let key = output_key(ctx.run.workspace_id, ctx.run.id, output_id, &file.filename);
    let body = StreamReader::new(download.stream.map_err(std::io::Error::other));
    let write = tracing::info_span!(
        "storage.write",
        run.id = %ctx.run.id,
        attempt = ctx.run.attempt_count,
        workspace.id = %ctx.run.workspace_id,
        storage.bytes = tracing::field::Empty,
    );
    let stored = ctx
        .deps
        .store
        .put_stream(&key, body, &content_type, limits.file_safety_cap_bytes)
        .instrument(write.clone())
        .await;
    if let Ok(put) = &stored {
        write.record("storage.bytes", put.size_bytes);
    }
    let put = match stored {
        Ok(put) => put,
        Err(StorageError::TooLarge { .. }) => {
            return fail(ctx, file, "size_cap_exceeded", None).await;
        }
        Err(StorageError::Body(err)) => {
            return fail(ctx, file, "download_failed", Some(err.to_string())).await;
        }
        Err(err) => return fail(ctx, file, "upload_failed", Some(err.to_string())).await,
    };
    ctx.deps.metrics.captured(put.size_bytes);
    if put.size_bytes != file.size_bytes {
        remove(ctx, &key).await;
        return fail(ctx, file, "size_mismatch", None).await;
    }
    let sha = put.sha256_hex();
    // On an error the object stays: its row may have committed even though the answer was
    // lost, and if not, the retry overwrites the same key; a file that is finally given up is
    // removed by `remove_unrecorded`.
    let stored = record(ctx, file, output_id, &key, &put, &sha, &content_type).await?;
    if stored {
        quota.used = quota
            .used
            .saturating_add(i64::try_from(put.size_bytes).unwrap_or(i64::MAX));
    }
    Ok(())
}

/// Removes the object a given-up file may have left, unless a row records it (a commit whose
/// answer was lost). Any doubt keeps the object: a row must never lose its file.
async fn remove_unrecorded(ctx: &Ctx, file: &FileMetadata) {
    let id = storable::text(&file.id);
    let stored = outputs::stored_file_ids(&ctx.deps.pool, ctx.run.id).await;
    if matches!(&stored, Ok(ids) if !ids.iter().any(|s| s == id.as_ref())) {
        let output_id = output_id_for(ctx.run.id, &file.id);
        let key = output_key(ctx.run.workspace_id, ctx.run.id, output_id, &file.filename);
        remove(ctx, &key).await;
    }
}

async fn record(
    ctx: &Ctx,
    file: &FileMetadata,
    output_id: OutputId,
    key: &antpath_storage::ObjectKey,
    put: &antpath_storage::PutResult,
    sha: &str,
    content_type: &str,
) -> StepResult<bool> {
    let mut tx = ctx.deps.pool.begin().await?;
    lifecycle::fence(&mut tx, ctx.fence).await?;
    let recorded = outputs::record_output(
        &mut tx,
        &NewOutput {
            id: output_id,
            run_id: ctx.run.id,
            workspace_id: ctx.run.workspace_id,
            user_id: ctx.run.creator,
            provider_file_id: &file.id,
            filename: &file.filename,
            storage_key: key.as_str(),
            size_bytes: i64::try_from(put.size_bytes).unwrap_or(i64::MAX),
            sha256: sha,
            content_type: Some(content_type),
        },
    )
    .await?;
    match recorded {
        Recorded::Stored => {
            tx.commit().await?;
            return Ok(true);
        }
        // Recorded on an earlier try under the same key: the object is the recorded one.
        Recorded::Duplicate => tx.rollback().await?,
        Recorded::OverQuota => {
            tx.rollback().await?;
            remove(ctx, key).await;
            fail(ctx, file, "workspace_quota_exceeded", None).await?;
        }
    }
    Ok(false)
}

async fn remove(ctx: &Ctx, key: &antpath_storage::ObjectKey) {
    if let Err(err) = ctx.deps.store.delete(key).await {
        tracing::warn!(run.id = %ctx.run.id, error.message = %err, "could not remove an unrecorded object");
    }
}
