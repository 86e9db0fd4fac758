//! The bounded lifecycle steps. `runs.phase` names the next one:
//!
//! | phase | does | then |
//! |---|---|---|
//! | `provision` | starts an attempt, checks platform rules, ensures environment, agent, vault and credentials | `session` |
//! | `session` | ensures the session (metadata, vault ids) | `dispatch` |
//! | `dispatch` | renders the prompt and sends it once | `observe` |
//! | `observe` | polls the session and new events; decides the end of work or a new attempt | `observe`, `session`, `interrupt`, `capture`, `cleanup` |
//! | `interrupt` | interrupts a cancelled or timed-out session and waits for it to stop | `capture` |
//! | `capture` | copies session files into object storage within the workspace quota | `cleanup` |
//! | `cleanup` | removes or retains provider resources, scans for leaks, destroys the secrets | `done` |
//!
//! Every step is idempotent: it may be cut off anywhere and run again by any replica.

pub mod attempts;
pub mod capture;
pub mod cleanup;
pub mod dispatch;
pub mod end;
pub mod leaks;
pub mod observe;
pub mod provision;
pub mod reuse;
pub mod spend;

use antpath_types::Phase;

pub use crate::context::{Ctx, Next};
use crate::error::{StepError, StepResult};

/// Runs the step `ctx.run.phase` names.
pub async fn run(ctx: &Ctx) -> StepResult<Next> {
    if let Some(next) = end::check_cancel_and_timeout(ctx).await? {
        return Ok(next);
    }
    match ctx.run.phase {
        Phase::Provision => provision::provision(ctx).await,
        Phase::Session => provision::session(ctx).await,
        Phase::Dispatch => dispatch::dispatch(ctx).await,
        Phase::Observe => observe::observe(ctx).await,
        Phase::Interrupt => end::interrupt(ctx).await,
        Phase::Capture => capture::capture(ctx).await,
        Phase::Cleanup => cleanup::cleanup(ctx).await,
        Phase::Done => Err(StepError::Bug("a finished run was claimed".into())),
    }
}
