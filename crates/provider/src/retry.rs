//! When and how long to wait before retrying an idempotent call.
//!
//! Idempotent calls (GET, DELETE, archive) are retried on transient failures with capped
//! exponential backoff and full jitter: attempt `n` sleeps a uniform random time in
//! `[0, min(cap, base · 2ⁿ)]`, so replicas that failed together do not retry together. A
//! `retry-after` from the provider replaces the jittered delay when it is longer, and a
//! `retry-after` beyond [`RetryPolicy::max_retry_after`] ends the retries so that the caller (the
//! worker's shared throttle) can reschedule instead of holding a task asleep.
//!
//! Creates and event sends are never retried: their side effect may have happened, and the
//! caller reconciles by metadata instead.

use std::time::Duration;

use rand::Rng;

use crate::error::ProviderError;

/// Whether a call may be repeated without changing its effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, DELETE, archive: safe to repeat.
    Idempotent,
    /// Creates and event sends: never repeated by the client.
    NotIdempotent,
}

/// The retry settings of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included; 1 disables retries.
    pub max_attempts: u32,
    /// The backoff ceiling of the first retry.
    pub base: Duration,
    /// The largest backoff ceiling.
    pub cap: Duration,
    /// The longest `retry-after` the client waits out itself; a longer one is returned to the
    /// caller as the error.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts, 0.5 s doubling to 8 s (the SDK's curve), waiting out at most 60 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Millisecond delays, for tests.
    pub fn fast(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(5),
        }
    }

    /// The backoff ceiling before retry number `retry` (0 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(30));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A full-jitter delay for retry number `retry`.
    pub fn jittered(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        if ceiling.is_zero() {
            return Duration::ZERO;
        }
        let nanos =
            rand::thread_rng().gen_range(0..=ceiling.as_nanos().min(u64::MAX as u128) as u64);
        Duration::from_nanos(nanos)
    }

    /// Decides whether to retry after `error` on attempt `attempt` (1-based) and how long to
    /// sleep first; `None` means give up and return the error.
    pub fn next_delay(
        &self,
        idempotency: Idempotency,
        attempt: u32,
        error: &ProviderError,
        should_retry_header: Option<bool>,
    ) -> Option<Duration> {
        if idempotency == Idempotency::NotIdempotent || attempt >= self.max_attempts {
            return None;
        }
        let retryable = should_retry_header.unwrap_or_else(|| error.class().is_retryable());
        if !retryable {
            return None;
        }
        let jitter = self.jittered(attempt - 1);
        match error.retry_after() {
            Some(wait) if wait > self.max_retry_after => None,
            Some(wait) => Some(wait.max(jitter)),
            None => Some(jitter),
        }
    }
}

#[cfg(test)]
mod tests {
    use antpath_types::ErrorClass;

    use super::*;

    fn api(status: u16, retry_after: Option<Duration>) -> ProviderError {
        ProviderError::from_response(status, None, retry_after, b"{}")
    }

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.ceiling(0), Duration::from_millis(500));
        assert_eq!(policy.ceiling(1), Duration::from_secs(1));
        assert_eq!(policy.ceiling(4), Duration::from_secs(8));
        assert_eq!(policy.ceiling(40), Duration::from_secs(8));
    }

    #[test]
    fn jitter_stays_within_the_ceiling_and_varies() {
        let policy = RetryPolicy::default();
        let delays: Vec<_> = (0..200).map(|_| policy.jittered(2)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(2)));
        assert!(
            delays.iter().any(|d| *d != delays[0]),
            "full jitter must vary"
        );
    }

    #[test]
    fn idempotent_transient_failures_are_retried_until_the_attempts_run_out() {
        let policy = RetryPolicy::fast(3);
        let err = api(503, None);
        assert_eq!(err.class(), ErrorClass::TransientProvider);
        assert!(
            policy
                .next_delay(Idempotency::Idempotent, 1, &err, None)
                .is_some()
        );
        assert!(
            policy
                .next_delay(Idempotency::Idempotent, 2, &err, None)
                .is_some()
        );
        assert!(
            policy
                .next_delay(Idempotency::Idempotent, 3, &err, None)
                .is_none()
        );
    }

    #[test]
    fn creates_and_permanent_failures_are_never_retried() {
        let policy = RetryPolicy::fast(5);
        assert!(
            policy
                .next_delay(Idempotency::NotIdempotent, 1, &api(503, None), None)
                .is_none()
        );
        assert!(
            policy
                .next_delay(Idempotency::Idempotent, 1, &api(404, None), None)
                .is_none()
        );
        assert!(
            policy
                .next_delay(Idempotency::Idempotent, 1, &api(400, None), None)
                .is_none()
        );
    }

    #[test]
    fn retry_after_is_honoured_and_an_excessive_one_is_returned_to_the_caller() {
        let policy = RetryPolicy::fast(5);
        let short = api(429, Some(Duration::from_secs(1)));
        assert_eq!(
            policy.next_delay(Idempotency::Idempotent, 1, &short, None),
            Some(Duration::from_secs(1))
        );
        let long = api(429, Some(Duration::from_secs(600)));
        assert!(
            policy
                .next_delay(Idempotency::Idempotent, 1, &long, None)
                .is_none()
        );
    }

    #[test]
    fn the_should_retry_header_overrides_the_class() {
        let policy = RetryPolicy::fast(5);
        assert!(
            policy
                .next_delay(Idempotency::Idempotent, 1, &api(503, None), Some(false))
                .is_none()
        );
        assert!(
            policy
                .next_delay(Idempotency::Idempotent, 1, &api(409, None), Some(true))
                .is_some()
        );
    }
}
