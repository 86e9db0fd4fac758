//! `POST /v1/runs`: validate, rate-limit, seal, and admit the run plus its sealed inputs in one
//! statement.
//!
//! Order matters: everything that can reject the request without side effects runs first
//! (scope, body, validation, idempotency-key agreement, a replay of an earlier submission), and
//! the inputs are sealed before any lock is taken. The submission then joins this replica's
//! next admission group ([`crate::admission`]): one autocommitted statement spends each
//! submission's rate-limit token, takes the workspace row lock, counts the active runs and
//! inserts only under the caps (`antpath_db::admission::admit_many`), so the quota decisions
//! of one workspace are made one at a time and cannot overshoot, and concurrent duplicates
//! create exactly one run. The lock is held for that statement and its commit, never across a
//! round trip, and that commit does not wait for its flush, so the lock is not held through a
//! disk write. The group's read-back waits for durability instead
//! (`run_reads::get_many_durable`), and the workers are woken after the commit
//! ([`crate::wake`]), never from inside it. The plaintext inputs exist only in this request's
//! memory; what reaches the database is ciphertext.

use std::time::Duration;

use antpath_db::admission::{Admission, Admitted, SubmitBucket};
use antpath_db::rate_limits::BucketSpec;
use antpath_db::run_reads;
use antpath_db::runs::{NewRun, SealedSecret};
use antpath_template::{RunInputs, ValidatedSubmission, validate_submission};
use antpath_types::{CleanupPolicy, RunId, SecretId};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::{Bucket, rate_limited};
use crate::auth::{Auth, Scope};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::state::AppState;
use crate::views::RunView;

/// The header alternative to the body's `idempotencyKey`.
const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Longest idempotency key, as in the submission contract.
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// `Retry-After` for an active-run quota: no refill time is known (it depends on runs ending),
/// so suggest a short, polite pause.
const QUOTA_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Handles a submission; see the module docs. Its span (`submit_run`, a child of the request
/// span and so of the client's trace) is the parent the worker's step spans continue.
#[tracing::instrument(
    name = "submit_run",
    skip_all,
    fields(run.id = tracing::field::Empty, workspace.id = %auth.workspace_id, attempt = 0)
)]
pub async fn submit(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    auth.require(Scope::RunsWrite)?;
    // The per-token cap needs a token; a dashboard session has none.
    auth.token_id().ok_or_else(|| {
        ApiError::Forbidden("Runs are submitted with an API token, not a dashboard session.".into())
    })?;
    let header_key = idempotency_header(&headers)?;
    let submission = validate_submission(&body).map_err(|errors| ApiError::Invalid {
        message: "The run submission is invalid; every problem is listed in `details`.".into(),
        details: errors.into_details(),
    })?;
    let idempotency_key = match (header_key, submission.idempotency_key()) {
        (Some(header), Some(body)) if header != body => {
            return Err(ApiError::invalid_at(
                "/idempotencyKey",
                "The `Idempotency-Key` header and the body's `idempotencyKey` differ.",
            ));
        }
        (Some(header), _) => Some(header),
        (None, body) => body.map(str::to_owned),
    };
    let requested_duration = submission.requested_limits().max_duration_seconds;
    // A replay of an earlier submission needs no lock, no rate-limit token and no sealing.
    if let Some(key) = &idempotency_key
        && let Some(existing) = replay(&state, &auth, key, &submission).await?
    {
        return Ok((StatusCode::OK, Json(existing)));
    }
    let run_id = RunId::new();
    tracing::Span::current().record("run.id", tracing::field::display(run_id));
    let sealed = state
        .keyring
        .seal(
            run_id,
            &RunInputs::from_submission(&submission).to_plaintext_json(),
        )
        .map_err(|err| anyhow::Error::new(err).context("while sealing the run inputs"))?;
    let trace_parent = antpath_telemetry::propagation::current_traceparent();

    // An explicit request beyond any i32 is beyond every plan; the statement refuses it.
    let explicit_duration = requested_duration.map(|d| i32::try_from(d).unwrap_or(i32::MAX));
    let run = new_run(&state, &auth, run_id, &submission, idempotency_key)?;
    let (bucket_key, per_minute) = Bucket::Submit.of(&state, auth.workspace_id);
    let admission = Admission {
        run,
        secret: SealedSecret::new(SecretId::new(), sealed),
        bucket: SubmitBucket {
            key: bucket_key,
            spec: BucketSpec::per_minute(per_minute),
        },
        explicit_duration,
        trace_parent,
    };
    // The workspace's critical section: one statement and its commit, for this submission
    // and the others admitted in its group (see `crate::admission`).
    let (admitted, record) = state.admissions.admit(admission).await?;
    let (status, id) = match admitted {
        Admitted::Created(id) => (StatusCode::CREATED, id),
        Admitted::Existing(id) => (StatusCode::OK, id),
        Admitted::OverWorkspaceCap(cap) => {
            return Err(quota_error(
                "quota_workspace",
                format!(
                    "This workspace already has {cap} active runs, its limit; wait for one to finish."
                ),
            ));
        }
        Admitted::OverTokenCap(cap) => {
            return Err(quota_error(
                "quota_token",
                format!(
                    "This token already has {cap} active runs, its limit; wait for one to finish."
                ),
            ));
        }
        Admitted::DurationOverCap(cap) => {
            return Err(ApiError::invalid_at(
                "/limits/maxDurationSeconds",
                format!("This workspace allows runs of at most {cap} seconds."),
            ));
        }
        Admitted::WorkspaceInactive => {
            return Err(super::workspace::refusal(&state.pool, auth.workspace_id).await);
        }
        Admitted::RateLimited(retry_after) => return Err(rate_limited(per_minute, retry_after)),
    };
    if status == StatusCode::CREATED {
        state.wake.after_commit();
    }
    // The admission committed without waiting for its flush; the client hears of the run
    // only once it is durable (an existing run too: its own admission may still be flushing),
    // which the group's read-back waited for.
    let record = record
        .filter(|record| record.id == id)
        .ok_or_else(|| anyhow::anyhow!("the admitted run is not readable"))?;
    if status == StatusCode::CREATED {
        state.metrics.observe_submission();
        tracing::info!(run.id = %id, "run accepted");
    }
    Ok((status, Json(record.into())))
}

/// The run an earlier submission with this idempotency key created, when it was the same
/// request; a different request under the key is a conflict. `None` when the key is new (a
/// concurrent first use is still caught by the admitting statement's unique index).
async fn replay(
    state: &AppState,
    auth: &Auth,
    key: &str,
    submission: &ValidatedSubmission,
) -> Result<Option<RunView>, ApiError> {
    let Some((existing, hash)) =
        run_reads::find_by_idempotency_key(&state.pool, auth.workspace_id, key).await?
    else {
        return Ok(None);
    };
    if hash != submission.request_hash().as_str() {
        return Err(ApiError::idempotency_conflict());
    }
    // Found while its own admission may still be flushing (see `antpath_db::admission::admit_many`).
    let run = run_reads::get_once_durable(&state.pool, auth.workspace_id, existing)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the idempotent run vanished"))?;
    Ok(Some(run.into()))
}

fn quota_error(reason: &'static str, message: String) -> ApiError {
    ApiError::RateLimited {
        reason,
        message,
        retry_after: QUOTA_RETRY_AFTER,
    }
}

/// The `Idempotency-Key` header, checked like the body field.
fn idempotency_header(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::invalid_at(
            "Idempotency-Key",
            "The idempotency key must be 1 to 255 characters without control characters.",
        )
    };
    let text = std::str::from_utf8(value.as_bytes()).map_err(|_| bad())?;
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_IDEMPOTENCY_KEY_CHARS || text.chars().any(char::is_control) {
        return Err(bad());
    }
    Ok(Some(text.to_owned()))
}

/// The run row: the secret-free template snapshot, hashes and limits (the duration is clamped
/// to the plan's cap when the run is admitted).
fn new_run(
    state: &AppState,
    auth: &Auth,
    id: RunId,
    submission: &ValidatedSubmission,
    idempotency_key: Option<String>,
) -> Result<NewRun, ApiError> {
    let limits = submission.limits();
    // The run's (or its template's) own limit; none leaves it to the plan's cap. `admit`
    // clamps it to that cap and refuses an explicit request above it.
    let duration = limits
        .max_duration_seconds
        .map_or(i32::MAX, |d| i32::try_from(d).unwrap_or(i32::MAX));
    // The deployment's default applies only when neither the run nor its template said.
    let cleanup = submission
        .cleanup(CleanupPolicy {
            claude_session: state.limits.claude_session_cleanup_default,
        })
        .claude_session;
    Ok(NewRun {
        id,
        workspace_id: auth.workspace_id,
        creator: auth.user_id,
        api_token_id: auth.token_id(),
        template_name: submission.template().name.clone(),
        template_snapshot: submission.template().to_normalised_value(),
        template_hash: submission.template_hash().as_str().to_owned(),
        idempotency_key,
        request_hash: submission.request_hash().as_str().to_owned(),
        cleanup_policy: cleanup,
        max_duration_seconds: duration,
        max_spend_usd: limits.max_spend_usd,
        max_attempts: i32::try_from(state.limits.max_attempts).unwrap_or(i32::MAX),
    })
}
