//! Ending the work: cancellation and time-out checks before every step, deciding the outcome,
//! interrupting a session that is still running, and routing to capture or cleanup. Entering
//! cleanup is where the decided outcome becomes the run's status.

use std::time::Duration;

use antpath_db::lifecycle::{self, Advance, Fence, RunRow, StepTally};
use antpath_provider::types::session::SessionStatus;
use antpath_types::{ErrorClass, Phase, RunStatus};
use sqlx::PgConnection;

use super::{Ctx, Next};
use crate::error::{StepError, StepResult};
use crate::throttle::CallKind;

/// Before a step: a cancel or delete request, or a passed duration cap, ends the work. During
/// capture a cancel or delete stops the capture (a succeeded outcome becomes `cancelled`, since
/// the user stopped it before its outputs were in) and cleanup begins.
pub async fn check_cancel_and_timeout(ctx: &Ctx) -> StepResult<Option<Next>> {
    let run = &ctx.run;
    let stop_requested = run.cancel_requested_at.is_some() || run.pending_delete_at.is_some();
    if run.phase == Phase::Capture && stop_requested {
        let mut tx = ctx.deps.pool.begin().await?;
        lifecycle::capture_cut_short(
            &mut *tx,
            ctx.fence,
            RunStatus::Cancelled,
            (
                ErrorClass::CancelledByUser,
                "the run was cancelled during output capture",
            ),
        )
        .await?;
        let outcome = match run.outcome {
            Some(RunStatus::Succeeded) | None => RunStatus::Cancelled,
            Some(other) => other,
        };
        enter_cleanup(&mut tx, ctx.fence, run.status, outcome).await?;
        return ctx.continue_after(tx).await.map(Some);
    }
    if run.phase.is_ending() {
        return Ok(None);
    }
    if stop_requested {
        let mut tx = ctx.deps.pool.begin().await?;
        end_work(
            &mut tx,
            ctx.fence,
            run,
            RunStatus::Cancelled,
            Some((ErrorClass::CancelledByUser, "the run was cancelled")),
        )
        .await?;
        return ctx.continue_after(tx).await.map(Some);
    }
    if let Some(dispatched) = run.dispatched_at {
        let cap = chrono::Duration::seconds(run.max_duration_seconds.into());
        if run.now > dispatched + cap {
            let mut tx = ctx.deps.pool.begin().await?;
            end_work(
                &mut tx,
                ctx.fence,
                run,
                RunStatus::TimedOut,
                Some((
                    ErrorClass::TenantPermanent,
                    "the run passed its maximum duration",
                )),
            )
            .await?;
            return ctx.continue_after(tx).await.map(Some);
        }
    }
    Ok(None)
}

/// Records the outcome and moves the run to the step that follows the end of work: interrupt
/// (a session that may still be running after a cancel or time-out), capture (a session
/// exists), or cleanup. Keeps the lease and asks to go on. Writes on `conn` (the caller's
/// transaction, so the whole move commits at once).
pub async fn end_work(
    conn: &mut PgConnection,
    fence: Fence,
    run: &RunRow,
    outcome: RunStatus,
    error: Option<(ErrorClass, &str)>,
) -> StepResult<Next> {
    lifecycle::decide_outcome(&mut *conn, fence, outcome, error).await?;
    let status = run.status;
    let may_run = matches!(
        status,
        RunStatus::SessionCreated
            | RunStatus::Dispatched
            | RunStatus::ProviderRunning
            | RunStatus::ProviderRescheduled
            | RunStatus::ProviderIdle
    );
    let stopping = matches!(outcome, RunStatus::Cancelled | RunStatus::TimedOut);
    if run.provider_session_id.is_some() && may_run && stopping {
        move_to(conn, fence, status, RunStatus::Cancelling, Phase::Interrupt).await?;
    } else if run.provider_session_id.is_some()
        && status.can_transition_to(RunStatus::CapturingOutputs)
    {
        move_to(
            conn,
            fence,
            status,
            RunStatus::CapturingOutputs,
            Phase::Capture,
        )
        .await?;
    } else {
        enter_cleanup(conn, fence, status, outcome).await?;
    }
    Ok(Next::Continue)
}

/// The work is over: the decided outcome becomes the status and cleanup begins. Keeps the
/// lease. A missing edge in the state table is logged, never allowed to wedge the run.
pub async fn enter_cleanup(
    conn: &mut PgConnection,
    fence: Fence,
    from: RunStatus,
    outcome: RunStatus,
) -> StepResult<()> {
    if !from.can_transition_to(outcome) {
        tracing::error!(run.id = %fence.run_id, run.status = %from, run.outcome = %outcome, "no state-table edge into the outcome; entering cleanup anyway");
    }
    lifecycle::begin_cleanup(&mut *conn, fence).await?;
    Ok(())
}

/// Moves `from` → `to`, through `claiming` when the table has no direct edge (a queued run
/// cancelled before it started). Refuses any move the state machine forbids.
pub async fn move_to(
    conn: &mut PgConnection,
    fence: Fence,
    from: RunStatus,
    to: RunStatus,
    phase: Phase,
) -> StepResult<()> {
    let hop = |status| Advance {
        status,
        phase,
        delay_seconds: 0.0,
        release: false,
    };
    if from.can_transition_to(to) {
        lifecycle::advance(&mut *conn, fence, hop(to)).await?;
        return Ok(());
    }
    for via in [
        RunStatus::Claiming,
        RunStatus::Provisioning,
        RunStatus::Cancelling,
    ] {
        if from.can_transition_to(via) && via.can_transition_to(to) {
            lifecycle::advance(&mut *conn, fence, hop(via)).await?;
            lifecycle::advance(&mut *conn, fence, hop(to)).await?;
            return Ok(());
        }
    }
    Err(StepError::Bug(format!("no transition from {from} to {to}")))
}

/// `interrupt`: stops a session that is still working, then moves on to capture. Gives up
/// waiting after the tuning's deadline (cleanup will retry a busy session).
pub async fn interrupt(ctx: &Ctx) -> StepResult<Next> {
    let Some(session) = ctx.run.provider_session_id.clone() else {
        let outcome = ctx.run.outcome.unwrap_or(RunStatus::Cancelled);
        let mut tx = ctx.deps.pool.begin().await?;
        enter_cleanup(&mut tx, ctx.fence, ctx.run.status, outcome).await?;
        return ctx.continue_after(tx).await;
    };
    let state = ctx
        .call(CallKind::Read, ctx.client.get_session(&session))
        .await;
    let busy = match &state {
        Ok(s) => matches!(
            s.status,
            SessionStatus::Running | SessionStatus::Rescheduling
        ),
        Err(StepError::Provider(err)) if err.is_not_found() => false,
        Err(_) => return state.map(|_| Next::Released),
    };
    let waited = ctx
        .run
        .work_ended_at
        .map(|at| (ctx.run.now - at).to_std().unwrap_or_default())
        .unwrap_or_default();
    if busy && waited < ctx.deps.config.tuning.interrupt_deadline {
        ctx.call(CallKind::Create, ctx.client.interrupt_session(&session))
            .await?;
        let delay = Duration::from_millis(ctx.deps.config.limits.poll_base_ms);
        lifecycle::retry_later(
            &ctx.deps.pool,
            ctx.fence,
            delay.as_secs_f64(),
            StepTally::Progressed,
        )
        .await?;
        return Ok(Next::Released);
    }
    let mut tx = ctx.deps.pool.begin().await?;
    move_to(
        &mut tx,
        ctx.fence,
        ctx.run.status,
        RunStatus::CapturingOutputs,
        Phase::Capture,
    )
    .await?;
    let next = ctx.continue_after(tx).await?;
    ctx.point("phase:capture")?;
    Ok(next)
}
