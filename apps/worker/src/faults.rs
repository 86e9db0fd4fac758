//! A crash hook for recovery tests.
//!
//! Steps call [`FaultHook::check`] at named points (after each provider create returns, after
//! each phase is saved). When the hook says so, the step stops at once with
//! [`StepError::Crash`]: nothing more is written and the lease is left to expire, exactly as
//! if the process had been killed there. Production uses [`FaultHook::none`].

use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{StepError, StepResult};

/// Decides at which point a step "crashes".
#[derive(Clone, Default)]
pub struct FaultHook {
    crash_at: Option<Arc<Mutex<Option<String>>>>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for FaultHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultHook").finish_non_exhaustive()
    }
}

impl FaultHook {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Crashes once, the first time `point` is reached.
    pub fn crash_once_at(point: &str) -> Self {
        Self {
            crash_at: Some(Arc::new(Mutex::new(Some(point.to_owned())))),
            seen: Arc::default(),
        }
    }

    /// Every point reached so far, in order (including the crash point).
    pub fn seen(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the crash has happened.
    pub fn crashed(&self) -> bool {
        self.crash_at
            .as_ref()
            .is_some_and(|at| at.lock().unwrap_or_else(PoisonError::into_inner).is_none())
    }

    /// Records `point` and fails with [`StepError::Crash`] if the hook crashes there.
    pub fn check(&self, point: &str) -> StepResult<()> {
        if let Some(at) = &self.crash_at {
            self.seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(point.to_owned());
            let mut at = at.lock().unwrap_or_else(PoisonError::into_inner);
            if at.as_deref() == Some(point) {
                *at = None;
                return Err(StepError::Crash);
            }
        }
        Ok(())
    }
}
