//! `observe`: one poll of the session's status and of the events after the stored cursor.
//!
//! Only metadata is stored (type, ids, times, token counts, stop reason, error type), each event
//! once, with its usage ledger row, the run's totals and — when the turn ended — the run's
//! outcome and next phase in the same transaction. The poll
//! interval adapts: back to `poll_base_ms` when something happened, doubling up to
//! `poll_max_ms` while nothing does, with jitter so runs do not poll in lockstep.

use antpath_db::events::{self, NewEvent};
use antpath_db::lifecycle;
use antpath_db::observation::{self, Attribution, Progress, Tokens};
use antpath_provider::mapping::{self, TurnOutcome};
use antpath_provider::types::event::{EventCursor, EventKind, SessionEvent};
use antpath_provider::types::session::SessionStatus;
use antpath_types::{ErrorClass, RunStatus};
use serde_json::{Value, json};

use super::{Ctx, Next, attempts, end, spend};
use crate::error::{StepError, StepResult};
use crate::throttle::CallKind;

/// What a user reads when the model refused the turn (`stop_reason: refusal`).
const REFUSAL_REASON: &str =
    "the model refused the request (stop reason: refusal); change the prompt or the template";

/// Polls once; stores new events; decides the end of work or schedules the next poll. The
/// events, the cursor and what follows from them commit in one transaction.
pub async fn observe(ctx: &Ctx) -> StepResult<Next> {
    let session_id = ctx
        .run
        .provider_session_id
        .clone()
        .ok_or_else(|| StepError::Bug("observe without a session".into()))?;
    let session = ctx
        .call(CallKind::Read, ctx.client.get_session(&session_id))
        .await?;
    let cursor = parse_cursor(ctx.run.event_cursor.as_deref());
    let (fresh, next_cursor) = ctx
        .call(
            CallKind::Read,
            ctx.client.list_events_after(&session_id, &cursor),
        )
        .await?;
    let cursor_text = format_cursor(&next_cursor);
    let ended = matches!(
        session.status,
        SessionStatus::Idle | SessionStatus::Terminated
    ) || fresh.iter().any(|e| {
        matches!(
            e.kind,
            EventKind::StatusIdle(_) | EventKind::StatusTerminated(_)
        )
    });
    // Decided before anything is written (it may take one more provider call), so that the
    // decision commits with the events it was read from.
    let decision = if ended {
        decide(ctx, &session_id, &session.status, &fresh).await?
    } else {
        None
    };
    let who = Attribution {
        workspace_id: ctx.run.workspace_id,
        run_id: ctx.run.id,
        user_id: ctx.run.creator,
    };
    let mut tx = ctx.deps.pool.begin().await?;
    lifecycle::fence(&mut tx, ctx.fence).await?;
    let (attempt_id, _) = lifecycle::current_attempt(&mut *tx, ctx.run.id)
        .await?
        .ok_or_else(|| StepError::Bug("observe without an attempt".into()))?;
    if !fresh.is_empty() {
        ctx.progressed();
    }
    for event in &fresh {
        let (summary, tokens) = summarise(event);
        let stored = events::insert_event_once(
            &mut *tx,
            &NewEvent {
                run_id: ctx.run.id,
                attempt_id,
                workspace_id: ctx.run.workspace_id,
                provider_event_id: &event.id,
                event_type: event.event_type(),
                processed_at: event.processed_at,
                summary,
            },
        )
        .await?;
        if let Some(id) = stored
            && !tokens.is_zero()
        {
            observation::account_event(&mut tx, who, id, tokens).await?;
        }
    }
    if let Some(usage) = spend::provider_usage(&session, &fresh) {
        observation::account_session(&mut tx, who, attempt_id, usage).await?;
    }
    if ended {
        observation::save_cursor(&mut tx, ctx.fence, cursor_text.as_deref()).await?;
        let Some(decision) = decision else {
            // An idle status seen before its event: poll again soon.
            let status = settled_status(ctx, RunStatus::ProviderIdle);
            let progress = progress(ctx, status, cursor_text.as_deref(), true);
            observation::save_progress(&mut tx, ctx.fence, progress).await?;
            tx.commit().await?;
            return Ok(Next::Released);
        };
        return end_turn(ctx, tx, decision).await;
    }
    let status = mapping::run_status_for(&session.status).unwrap_or(ctx.run.status);
    let status = settled_status(ctx, status);
    let progress = progress(ctx, status, cursor_text.as_deref(), !fresh.is_empty());
    observation::save_progress(&mut tx, ctx.fence, progress).await?;
    tx.commit().await?;
    Ok(Next::Released)
}

/// How a turn ended.
#[derive(Debug)]
struct Decision {
    /// The run's outcome.
    result: RunStatus,
    /// Its error, scrubbed.
    error: Option<(ErrorClass, String)>,
    /// Whether the error is the provider's, one a fresh session may not repeat.
    provider_side: bool,
}

/// Decides how the turn ended; `None` while it has not (an idle status seen before its
/// event). Reads no history: the fresh events when they hold the whole turn, else one bounded
/// page of the latest turn signals.
async fn decide(
    ctx: &Ctx,
    session_id: &str,
    status: &SessionStatus,
    fresh: &[SessionEvent],
) -> StepResult<Option<Decision>> {
    let history = if holds_whole_turn(fresh) {
        fresh.to_vec()
    } else {
        ctx.call(CallKind::Read, ctx.client.latest_turn_signals(session_id))
            .await?
    };
    let outcome = mapping::turn_outcome(&history);
    let (result, error) = match outcome {
        TurnOutcome::Succeeded => (RunStatus::Succeeded, None),
        TurnOutcome::RequiresAction(_) => (
            RunStatus::Failed,
            Some((
                ErrorClass::TenantPermanent,
                "a tool asked for an approval or a client result, which a headless run cannot give"
                    .to_owned(),
            )),
        ),
        TurnOutcome::Failed { class, reason } if reason == "refusal" => {
            (RunStatus::Failed, Some((class, REFUSAL_REASON.to_owned())))
        }
        TurnOutcome::BudgetReached => (
            RunStatus::Failed,
            Some((
                ErrorClass::TenantPermanent,
                spend::budget_reason(ctx.run.max_spend_usd),
            )),
        ),
        TurnOutcome::Failed { class, reason } => (
            RunStatus::Failed,
            Some((class, format!("the provider session failed: {reason}"))),
        ),
        TurnOutcome::InProgress if *status == SessionStatus::Terminated => (
            RunStatus::Failed,
            Some((
                ErrorClass::ProviderPermanent,
                "the provider session terminated".to_owned(),
            )),
        ),
        TurnOutcome::InProgress => return Ok(None),
    };
    let error = error.map(|(class, message)| (class, antpath_redact::scrub(&message)));
    let terminated = *status == SessionStatus::Terminated
        || history
            .iter()
            .any(|e| matches!(e.kind, EventKind::StatusTerminated(_)));
    let provider_side = error
        .as_ref()
        .is_some_and(|(class, _)| attempts::is_provider_side(*class, terminated));
    Ok(Some(Decision {
        result,
        error,
        provider_side,
    }))
}

/// Ends the turn in `tx` (which holds this poll's events): a provider-side failure first tries
/// a new attempt (after the events are committed: whether the session used a tool is read from
/// them), anything else ends the work in the same transaction.
async fn end_turn(
    ctx: &Ctx,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    decision: Decision,
) -> StepResult<Next> {
    let error_ref = decision
        .error
        .as_ref()
        .map(|(class, message)| (*class, message.as_str()));
    if decision.provider_side
        && let Some((class, message)) = error_ref
    {
        tx.commit().await?;
        if attempts::reschedule(&ctx.deps.pool, ctx.fence, &ctx.run, (class, message)).await? {
            return Ok(Next::Continue);
        }
        tx = ctx.deps.pool.begin().await?;
    }
    end::end_work(&mut tx, ctx.fence, &ctx.run, decision.result, error_ref).await?;
    let next = ctx.continue_after(tx).await?;
    ctx.point("phase:capture")?;
    Ok(next)
}

/// `status` if the run may move there, else the status it has.
fn settled_status(ctx: &Ctx, status: RunStatus) -> RunStatus {
    if ctx.run.status.can_transition_to(status) {
        status
    } else {
        ctx.run.status
    }
}

/// Whether `events` start a turn (`session.status_running`) before they end one, so the
/// outcome can be read from them alone.
pub fn holds_whole_turn(events: &[SessionEvent]) -> bool {
    let end = events.iter().rposition(|e| {
        matches!(
            e.kind,
            EventKind::StatusIdle(_)
                | EventKind::StatusTerminated(_)
                | EventKind::SessionDeleted(_)
        )
    });
    end.is_some_and(|end| {
        events[..end]
            .iter()
            .any(|e| matches!(e.kind, EventKind::StatusRunning(_)))
    })
}

fn progress<'a>(ctx: &Ctx, status: RunStatus, cursor: Option<&'a str>, busy: bool) -> Progress<'a> {
    let limits = &ctx.deps.config.limits;
    let base = limits.poll_base_ms.max(1);
    let previous = u64::try_from(ctx.run.poll_interval_ms)
        .unwrap_or(0)
        .max(base);
    let interval = if busy {
        base
    } else {
        (previous * 2).min(limits.poll_max_ms.max(base))
    };
    let jitter = 1.0 + limits.poll_jitter * rand::random::<f64>();
    Progress {
        status,
        cursor,
        poll_interval_ms: i32::try_from(interval).unwrap_or(i32::MAX),
        delay_seconds: interval as f64 / 1000.0 * jitter,
    }
}

/// The allowlisted metadata of an event, and the tokens it reports. Never message text, tool
/// inputs or results.
pub fn summarise(event: &SessionEvent) -> (Value, Tokens) {
    let mut tokens = Tokens::default();
    let summary = match &event.kind {
        EventKind::StatusIdle(idle) => json!({ "stop_reason": idle.stop_reason.type_name() }),
        EventKind::SessionError(e) => json!({
            "error_type": e.error.error_type,
            "retry_status": e.error.retry_status.type_name(),
        }),
        EventKind::AgentToolUse(tool) | EventKind::AgentMcpToolUse(tool) => json!({
            "tool": tool.name,
            "evaluated_permission": tool.evaluated_permission,
        }),
        EventKind::ModelRequestEnd(end) => {
            let usage = &end.model_usage;
            tokens = Tokens {
                input: clamp(usage.input_tokens),
                output: clamp(usage.output_tokens),
                cache_read: clamp(usage.cache_read_input_tokens),
                cache_creation: clamp(usage.cache_creation_input_tokens),
            };
            json!({
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cache_read_input_tokens": usage.cache_read_input_tokens,
                "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                "is_error": end.is_error,
            })
        }
        _ => json!({}),
    };
    (summary, tokens)
}

fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The stored cursor: `<event id> <processed_at RFC 3339>`.
pub fn parse_cursor(text: Option<&str>) -> EventCursor {
    let Some(text) = text else {
        return EventCursor::default();
    };
    let mut parts = text.splitn(2, ' ');
    let id = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
    let at = parts
        .next()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    EventCursor {
        last_event_id: id,
        last_processed_at: at,
    }
}

/// The cursor as stored; `None` before the first event.
pub fn format_cursor(cursor: &EventCursor) -> Option<String> {
    let id = cursor.last_event_id.as_deref()?;
    let at = cursor
        .last_processed_at
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    Some(format!("{id} {at}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(types: &[&str]) -> Vec<SessionEvent> {
        let values: Vec<Value> = types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut event = json!({ "id": format!("e{i}"), "type": t });
                if *t == "session.status_idle" {
                    event["stop_reason"] = json!({ "type": "end_turn" });
                }
                event
            })
            .collect();
        serde_json::from_value(Value::Array(values)).expect("events")
    }

    #[test]
    fn fresh_events_decide_alone_only_when_they_start_the_turn_they_end() {
        let whole = events(&[
            "session.status_running",
            "agent.message",
            "session.status_idle",
        ]);
        assert!(holds_whole_turn(&whole));
        let tail = events(&["agent.message", "session.status_idle"]);
        assert!(
            !holds_whole_turn(&tail),
            "the turn's start (and errors) came earlier"
        );
        let unfinished = events(&["session.status_running", "agent.message"]);
        assert!(!holds_whole_turn(&unfinished));
        let restarted = events(&["session.status_idle", "session.status_running"]);
        assert!(
            !holds_whole_turn(&restarted),
            "a running after the end is a new turn"
        );
    }
}
