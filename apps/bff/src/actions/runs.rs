//! Cancel and delete a run, and sign one of its outputs' download links.
//!
//! The bff only records a request (`cancel_requested_at`, `pending_delete_at`); a worker does
//! the work. A signed link is a bearer capability: it is returned to the caller once and never
//! logged, stored or audited (the audit row names the output and the link's lifetime only).

use std::time::Duration;

use antpath_db::run_reads::RunRecord;
use antpath_db::{run_outputs, run_reads, run_requests};
use antpath_storage::ObjectKey;
use antpath_types::{OutputId, RunId};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::Actor;
use crate::error::ApiError;
use crate::routes::{Bucket, rate_limit};
use crate::state::AppState;

/// What a cancel did.
#[derive(Debug)]
pub struct Cancelled {
    /// Whether a cancel was recorded now (false: the run was already over, or already asked).
    pub recorded: bool,
    /// The run as it is after.
    pub run: RunRecord,
}

/// Records a cancel on an active run of the actor's workspace (idempotent); a run that is over
/// is left as it is. 404 for a missing or foreign run.
pub async fn cancel(state: &AppState, actor: Actor, id: RunId) -> Result<Cancelled, ApiError> {
    rate_limit(state, Bucket::Mutate, actor.workspace_id).await?;
    let mut tx = state.pool.begin().await?;
    let recorded = run_requests::request_cancel(&mut *tx, actor.workspace_id, id).await?;
    let run = run_reads::get(&mut *tx, actor.workspace_id, id)
        .await?
        .ok_or(ApiError::NotFound("run"))?;
    if recorded {
        actor
            .audit(&mut *tx, "run.cancel", "run", id.to_string(), json!({}))
            .await?;
    }
    tx.commit().await?;
    Ok(Cancelled { recorded, run })
}

/// Soft-deletes a run of the actor's workspace (an active run is cancel-requested too) and
/// returns it. 404 for a missing or foreign run.
pub async fn delete(state: &AppState, actor: Actor, id: RunId) -> Result<RunRecord, ApiError> {
    rate_limit(state, Bucket::Mutate, actor.workspace_id).await?;
    let mut tx = state.pool.begin().await?;
    if !run_requests::request_delete(&mut *tx, actor.workspace_id, id).await? {
        return Err(ApiError::NotFound("run"));
    }
    let run = run_reads::get(&mut *tx, actor.workspace_id, id)
        .await?
        .ok_or(ApiError::NotFound("run"))?;
    actor
        .audit(&mut *tx, "run.delete", "run", id.to_string(), json!({}))
        .await?;
    tx.commit().await?;
    Ok(run)
}

/// A signed download link.
#[derive(Debug)]
pub struct SignedLink {
    /// The URL; a bearer capability until it expires.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Signs a download link to an output of a run of the actor's workspace, valid for
/// `limits.signed_url_ttl_seconds`, and audits it. 404 for a missing or foreign output.
pub async fn sign_output_link(
    state: &AppState,
    actor: Actor,
    run: RunId,
    output_id: OutputId,
) -> Result<SignedLink, ApiError> {
    rate_limit(state, Bucket::Links, actor.workspace_id).await?;
    let output = run_outputs::get_output(&state.pool, actor.workspace_id, run, output_id)
        .await?
        .ok_or(ApiError::NotFound("output"))?;
    let key = ObjectKey::parse(&output.storage_key)
        .map_err(|err| anyhow::Error::new(err).context("while reading a stored output key"))?;
    let ttl = Duration::from_secs(u64::from(state.limits.signed_url_ttl_seconds));
    let issued = Utc::now();
    let url = state
        .store
        .signed_get_url(&key, ttl, &output.filename)
        .await
        .map_err(|err| anyhow::Error::new(err).context("while signing a download link"))?;
    actor
        .audit(
            &state.pool,
            "output.link",
            "output",
            output_id.to_string(),
            json!({ "run_id": run, "ttl_seconds": ttl.as_secs() }),
        )
        .await?;
    let expires_at = issued
        + chrono::TimeDelta::from_std(ttl).map_err(|err| anyhow::Error::new(err).context("ttl"))?;
    Ok(SignedLink { url, expires_at })
}
