//! `dispatch`: render the prompt from the template snapshot and the sealed variables, and send
//! it to the session exactly once.
//!
//! A holder that died after the send but before recording it must not send the prompt twice.
//! The attempt is marked right before the send; a dispatch that finds the mark asks the provider
//! whether the session already has a `user.message`, and the first one, finding none, does not.

use antpath_db::{lifecycle, provider_doubt};
use antpath_provider::types::event::EventListParams;
use antpath_template::render_prompt;
use antpath_types::{Phase, RunStatus};

use super::{Ctx, Next};
use crate::error::{StepError, StepResult};
use crate::throttle::CallKind;

/// Sends the prompt unless the session already has it, then schedules the first poll.
pub async fn dispatch(ctx: &Ctx) -> StepResult<Next> {
    let session = ctx
        .run
        .provider_session_id
        .clone()
        .ok_or_else(|| StepError::Bug("dispatch without a session".into()))?;
    let template = ctx.template()?;
    let prompt = render_prompt(&template.prompt, &ctx.inputs.variables).map_err(|errors| {
        let first = errors.first().map(ToString::to_string).unwrap_or_default();
        StepError::Tenant(format!("the prompt does not render: {first}"))
    })?;
    // Mark the send as begun before making it: only a dispatch that finds the mark (an earlier
    // holder may have sent and died) needs to ask the provider whether the prompt arrived. The
    // mark is fenced, so it also confirms the lease is ours right before the send, which
    // cannot be undone or deduplicated by the provider.
    let mut tx = ctx.deps.pool.begin().await?;
    let maybe_sent = provider_doubt::begin_prompt_send(&mut tx, ctx.fence).await?;
    tx.commit().await?;
    let already_sent = maybe_sent && {
        let params = EventListParams {
            limit: Some(1),
            types: vec!["user.message".into()],
            ..EventListParams::default()
        };
        let existing = ctx
            .call(CallKind::Read, ctx.client.list_events(&session, &params))
            .await?;
        !existing.data.is_empty()
    };
    if !already_sent {
        if maybe_sent {
            // The look-up took a provider round trip since the fenced mark: confirm the lease
            // again, so a replica whose lease ran out while it was slow does not send a
            // second copy after another replica took the run over.
            lifecycle::load(&ctx.deps.pool, ctx.fence).await?;
        }
        ctx.call(
            CallKind::Create,
            ctx.client.send_user_message(&session, &prompt),
        )
        .await?;
        ctx.point("sent:prompt")?;
    }
    drop(prompt);
    let base = ctx.deps.config.limits.poll_base_ms as f64 / 1000.0;
    let mut tx = ctx.deps.pool.begin().await?;
    lifecycle::mark_dispatched(&mut *tx, ctx.fence).await?;
    lifecycle::advance(
        &mut *tx,
        ctx.fence,
        lifecycle::Advance {
            status: RunStatus::Dispatched,
            phase: Phase::Observe,
            delay_seconds: base,
            release: true,
        },
    )
    .await?;
    tx.commit().await?;
    ctx.point("phase:observe")?;
    Ok(Next::Released)
}
