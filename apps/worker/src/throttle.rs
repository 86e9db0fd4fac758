//! The provider throttle: one pair of token buckets (reads, creates) per provider key, kept
//! **in the worker process** until the provider pushes back, then shared through Postgres.
//!
//! - *Local* (the usual case): each process spends from its own in-memory buckets, sized by the
//!   limits. No database round trip per provider call.
//! - *Pushed back*: a 429 pauses the key's buckets in this process until its `retry-after`,
//!   writes the pause to the key's shared buckets in `rate_limit_buckets` (so every process that
//!   shares them waits too) and, for [`SHARED_AFTER_PUSHBACK`], takes every token of that key
//!   from the shared buckets instead of the local ones, so the processes that were pushed back
//!   together slow down together to the configured rate.
//!
//! Several processes sharing a key may, while none of them has been pushed back, together
//! exceed the configured rate; the provider's own 429s are the backstop that brings each of
//! them into the shared buckets. The shared bucket is named `provider:<sha256 of the key>`; the
//! key itself never leaves memory.
//!
//! Either way a call *reserves* its token: on an empty bucket the caller is handed its own
//! slot in the refill, up to [`MAX_SLEEP`] ahead, and sleeps until then; only beyond that does
//! the step give its lease back and come again once the debt is paid, with jitter. A crowd of
//! runs on one hot key thus queues in order instead of re-stepping on every refill tick (the
//! scale proof's first attempt: 9,311 Postgres transactions per run).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use antpath_db::rate_limits::{self, BucketSpec, Reservation};
use antpath_provider::ProviderError;
use antpath_redact::Secret;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::{StepError, StepResult};

/// How long after a 429 a process takes a key's tokens from the shared buckets: long enough
/// to cover the provider's usual minute window, short enough that a one-off 429 does not cost
/// a database round trip per call for long.
pub const SHARED_AFTER_PUSHBACK: Duration = Duration::from_secs(60);

/// The longest a call sleeps for its reserved token while its step holds the lease.
pub const MAX_SLEEP: Duration = Duration::from_secs(2);

/// The pause a 429 without a `retry-after` gets.
const DEFAULT_PUSHBACK: Duration = Duration::from_secs(1);

/// What a call costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A GET, list, archive or delete.
    Read,
    /// A create or an event send.
    Create,
}

/// The process's throttle state for every provider key it has used.
#[derive(Debug, Default)]
pub struct Throttles {
    keys: Mutex<HashMap<String, Arc<Mutex<KeyState>>>>,
}

impl Throttles {
    /// The throttle of `api_key`, sized by the limits; every step of every run with this key in
    /// this process shares it.
    pub fn for_key(
        &self,
        api_key: &Secret<String>,
        reads_per_second: u32,
        creates_per_minute: u32,
    ) -> Throttle {
        let digest = Sha256::digest(api_key.expose_secret().as_bytes());
        let key = format!("provider:{}", hex::encode(digest));
        let reads = BucketSpec::per_second(reads_per_second.max(1));
        let creates = BucketSpec::per_minute(creates_per_minute.max(1));
        let state = {
            let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                keys.entry(key.clone())
                    .or_insert_with(|| Arc::new(Mutex::new(KeyState::new(reads, creates)))),
            )
        };
        Throttle {
            key,
            reads,
            creates,
            state,
        }
    }
}

/// The throttle of one provider key.
#[derive(Debug, Clone)]
pub struct Throttle {
    key: String,
    reads: BucketSpec,
    creates: BucketSpec,
    state: Arc<Mutex<KeyState>>,
}

/// Where one key's tokens come from at a given moment.
#[derive(Debug)]
enum Source {
    /// Reserved from the local bucket; usable after this wait.
    Local(Duration),
    /// To be reserved from the shared bucket.
    Shared,
}

impl Throttle {
    /// The shared bucket names (reads, creates); safe to log.
    pub fn bucket(&self, kind: CallKind) -> String {
        match kind {
            CallKind::Read => format!("{}:read", self.key),
            CallKind::Create => format!("{}:create", self.key),
        }
    }

    /// Reserves one token for a call of `kind` and sleeps until it is there, or fails with
    /// [`StepError::Throttled`] (a jittered wait) when the bucket owes more than [`MAX_SLEEP`].
    /// Touches the database only while the key is pushed back.
    pub async fn take(&self, pool: &PgPool, kind: CallKind) -> StepResult<()> {
        let taken = self.lock().take(kind, Instant::now());
        let wait = match taken {
            Ok(Source::Local(wait)) => wait,
            Ok(Source::Shared) => {
                match rate_limits::reserve(
                    pool,
                    &self.bucket(kind),
                    self.spec(kind),
                    1.0,
                    MAX_SLEEP,
                )
                .await?
                {
                    Reservation::Granted { wait } => wait,
                    Reservation::Limited { retry_after } => return Err(refused(retry_after)),
                }
            }
            Err(retry_after) => return Err(refused(retry_after)),
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    /// After a provider error: a 429 pauses the key here and, through the shared buckets, for
    /// every process, and moves this process onto the shared buckets for a while.
    pub async fn observe(&self, pool: &PgPool, err: &ProviderError) {
        if err.status() != Some(429) {
            return;
        }
        let wait = err.retry_after().unwrap_or(DEFAULT_PUSHBACK);
        self.lock().pushed_back(Instant::now(), wait);
        let Ok(wait) = chrono::Duration::from_std(wait) else {
            return;
        };
        let until = chrono::Utc::now() + wait;
        for kind in [CallKind::Read, CallKind::Create] {
            if let Err(db) =
                rate_limits::pause_until(pool, &self.bucket(kind), self.spec(kind), until).await
            {
                tracing::warn!(error.message = %db, "could not pause the provider bucket");
            }
        }
    }

    fn spec(&self, kind: CallKind) -> BucketSpec {
        match kind {
            CallKind::Read => self.reads,
            CallKind::Create => self.creates,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeyState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A refusal, spread over the next stretch of the refill so the refused callers do not all
/// come back at once.
fn refused(retry_after: Duration) -> StepError {
    StepError::Throttled(retry_after.mul_f64(1.0 + rand::random::<f64>()))
}

/// One key's state in this process.
#[derive(Debug)]
struct KeyState {
    reads: LocalBucket,
    creates: LocalBucket,
    /// No call before this (the provider's `retry-after`).
    paused_until: Option<Instant>,
    /// Tokens come from the shared buckets until this.
    shared_until: Option<Instant>,
}

impl KeyState {
    fn new(reads: BucketSpec, creates: BucketSpec) -> Self {
        Self {
            reads: LocalBucket::full(reads),
            creates: LocalBucket::full(creates),
            paused_until: None,
            shared_until: None,
        }
    }

    /// Where the token comes from, or how long until asking again is useful.
    fn take(&mut self, kind: CallKind, now: Instant) -> Result<Source, Duration> {
        if let Some(until) = self.paused_until.filter(|until| *until > now) {
            return Err(until - now);
        }
        if self.shared_until.is_some_and(|until| until > now) {
            return Ok(Source::Shared);
        }
        let bucket = match kind {
            CallKind::Read => &mut self.reads,
            CallKind::Create => &mut self.creates,
        };
        bucket.reserve(now, MAX_SLEEP).map(Source::Local)
    }

    fn pushed_back(&mut self, now: Instant, wait: Duration) {
        let until = now + wait;
        self.paused_until = Some(self.paused_until.map_or(until, |old| old.max(until)));
        self.shared_until = Some(now + SHARED_AFTER_PUSHBACK.max(wait));
    }
}

/// An in-memory token bucket with the shape of a shared one.
#[derive(Debug)]
struct LocalBucket {
    spec: BucketSpec,
    tokens: f64,
    at: Instant,
}

impl LocalBucket {
    fn full(spec: BucketSpec) -> Self {
        Self {
            spec,
            tokens: spec.capacity,
            at: Instant::now(),
        }
    }

    /// Reserves one token, going into debt by up to `max_wait` of refill: returns how long
    /// until the reserved token is there, or, with the debt at its bound, how long until the
    /// debt is paid.
    fn reserve(&mut self, now: Instant, max_wait: Duration) -> Result<Duration, Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        let rate = self.spec.refill_per_second;
        self.tokens = (self.tokens + elapsed * rate).min(self.spec.capacity);
        self.at = now;
        let max_debt = max_wait.as_secs_f64() * rate;
        if self.tokens - 1.0 >= -max_debt {
            self.tokens -= 1.0;
            let wait = if self.tokens < 0.0 && rate > 0.0 {
                -self.tokens / rate
            } else {
                0.0
            };
            return Ok(Duration::from_secs_f64(wait));
        }
        let wait = if rate > 0.0 {
            (1.0 - self.tokens) / rate
        } else {
            f64::from(u32::MAX)
        };
        Err(Duration::from_secs_f64(wait.max(0.001)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> KeyState {
        KeyState::new(BucketSpec::per_second(2), BucketSpec::per_minute(60))
    }

    #[test]
    fn a_key_spends_its_burst_then_hands_out_slots_then_refuses_past_the_bound() {
        let mut key = state();
        let now = Instant::now();
        for _ in 0..2 {
            assert!(matches!(key.take(CallKind::Read, now), Ok(Source::Local(w)) if w.is_zero()));
        }
        // Two a second and two seconds of debt: four more slots, half a second apart.
        for n in 1..=4u32 {
            let Ok(Source::Local(wait)) = key.take(CallKind::Read, now) else {
                panic!("slot {n} is handed out");
            };
            assert_eq!(wait, Duration::from_millis(500) * n, "slot {n}");
        }
        let Err(retry) = key.take(CallKind::Read, now) else {
            panic!("past two seconds of debt the call is refused");
        };
        assert!(retry > Duration::from_secs(2), "{retry:?}");
        assert!(
            matches!(key.take(CallKind::Create, now), Ok(Source::Local(w)) if w.is_zero()),
            "creates have a bucket of their own"
        );
    }

    #[test]
    fn a_pushback_pauses_the_key_then_moves_it_onto_the_shared_buckets_for_a_while() {
        let mut key = state();
        let now = Instant::now();
        key.pushed_back(now, Duration::from_secs(2));
        assert!(
            key.take(CallKind::Create, now + Duration::from_secs(1))
                .is_err()
        );
        assert!(matches!(
            key.take(CallKind::Read, now + Duration::from_secs(3)),
            Ok(Source::Shared)
        ));
        let after = now + SHARED_AFTER_PUSHBACK + Duration::from_secs(1);
        assert!(matches!(
            key.take(CallKind::Read, after),
            Ok(Source::Local(_))
        ));
    }
}
