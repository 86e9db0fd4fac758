//! `dispatch`: render the prompt from the template snapshot and the sealed variables, and send
//! it to the session exactly once.
//!
//! A holder that died after the send but before recording it must not send the prompt twice,
//! so the step first asks the provider whether the session already has a `user.message`.

use antpath_db::lifecycle;
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
    let params = EventListParams {
        limit: Some(1),
        types: vec!["user.message".into()],
        ..EventListParams::default()
    };
    let existing = ctx
        .call(CallKind::Read, ctx.client.list_events(&session, &params))
        .await?;
    if existing.data.is_empty() {
        let template = ctx.template()?;
        let prompt = render_prompt(&template.prompt, &ctx.inputs.variables).map_err(|errors| {
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            StepError::Tenant(format!("the prompt does not render: {first}"))
        })?;
        // The send cannot be undone or deduplicated by the provider: confirm the lease is still
        // ours right before it, so a replica whose lease ran out while it was slow does not
        // send a second copy after another replica took the run over.
        lifecycle::load(&ctx.deps.pool, ctx.fence).await?;
        ctx.call(
            CallKind::Create,
            ctx.client.send_user_message(&session, &prompt),
        )
        .await?;
        drop(prompt);
        ctx.point("sent:prompt")?;
    }
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
