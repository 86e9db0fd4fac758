//! Provider attempts: when a session ends for a provider-side reason a fresh session may not
//! repeat (terminated by the provider, `retries_exhausted`, a transient give-up), the run starts
//! attempt N+1 with a new session on the same environment, agent and vault, up to its
//! `max_attempts`.
//!
//! Safe by default: a new attempt is automatic only when the failed session had not used a
//! tool; after tool use only when the template opts in (`retryAfterToolUse`), since the agent's
//! side effects may repeat. Never after a tenant error, an antpath bug or a user cancel.

use antpath_db::events;
use antpath_db::lifecycle::{self, Fence, RunRow};
use antpath_types::{AttemptId, ErrorClass};
use sqlx::PgPool;

use crate::error::StepResult;

/// Whether a failure of this class, seen this way, is one a fresh session may not repeat.
pub fn is_provider_side(class: ErrorClass, terminated: bool) -> bool {
    match class {
        ErrorClass::TransientProvider => true,
        ErrorClass::ProviderPermanent => terminated,
        ErrorClass::TenantPermanent | ErrorClass::AntpathBug | ErrorClass::CancelledByUser => false,
    }
}

/// Starts the next attempt if the run may take one; returns whether it did. The caller has
/// already decided that the failure is provider-side (see [`is_provider_side`]) or a transient
/// give-up.
pub async fn reschedule(
    pool: &PgPool,
    fence: Fence,
    run: &RunRow,
    error: (ErrorClass, &str),
) -> StepResult<bool> {
    if !matches!(
        error.0,
        ErrorClass::TransientProvider | ErrorClass::ProviderPermanent
    ) || run.provider_session_id.is_none()
        // An outcome already decided (the session succeeded, say) is never thrown away.
        || run.outcome.is_some()
        || run.attempt_count >= run.max_attempts
        || run.cancel_requested_at.is_some()
        || run.pending_delete_at.is_some()
    {
        return Ok(false);
    }
    let opted_in = run
        .template_snapshot
        .get("retryAfterToolUse")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    if !opted_in && lifecycle::attempt_used_tools(pool, run.id).await? {
        tracing::info!(run.id = %run.id, "the session used a tool; no automatic new attempt");
        return Ok(false);
    }
    let mut tx = pool.begin().await?;
    let number = lifecycle::reschedule_attempt(&mut tx, fence, error).await?;
    events::insert_attempt(&mut *tx, AttemptId::new(), run.id, number).await?;
    tx.commit().await?;
    tracing::warn!(run.id = %run.id, run.attempt = number, error.class = %error.0, "provider-side failure; starting a new attempt");
    Ok(true)
}
