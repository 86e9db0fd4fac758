//! When and how long to wait before trying a request again.
//!
//! Only requests that are safe to repeat are retried: reads, cancel and delete (both idempotent
//! on the server), link creation, and a submission **that carries an idempotency key** — the
//! server answers a repeat of the same keyed request with the run it already created, so a
//! retry after a lost response cannot start a second run. A submission without a key is sent
//! once: if its response is lost the caller cannot know whether the run exists.
//!
//! Retried: connection failures and time-outs, `429` and `5xx` other than `501`. A
//! `Retry-After` header (seconds, or an HTTP date) replaces the computed backoff, capped by
//! [`RetryPolicy::max_retry_after`] so a confused server cannot park the client for hours.

use std::time::{Duration, SystemTime};

/// How a client retries safe requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; `0` disables retrying.
    pub max_retries: u32,
    /// The wait before the first retry; each further retry doubles it.
    pub initial_backoff: Duration,
    /// The longest computed wait between attempts.
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured as given.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The wait before retry number `retry` (1-based): exponential, capped, with up to a
    /// quarter of jitter so that many clients do not retry in lockstep. A server's
    /// `Retry-After` wins when given.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_retry_after);
        }
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        let base = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        base + jitter(base / 4)
    }
}

/// True for statuses worth another attempt of a safe request.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 429 || (status >= 500 && status != 501)
}

/// Reads `Retry-After`: delta-seconds, or an HTTP date (RFC 2822 form, which HTTP dates are).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::from(date.with_timezone(&chrono::Utc));
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A pseudo-random duration in `[0, max]`. Clock nanoseconds are random enough to spread
/// retries; this is not cryptographic and does not need to be.
fn jitter(max: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let span = max.as_nanos().max(1);
    Duration::from_nanos((u128::from(nanos) % span) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_retry_after_wins() {
        let policy = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
            max_retry_after: Duration::from_secs(2),
        };
        let first = policy.delay(1, None);
        assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(125));
        let second = policy.delay(2, None);
        assert!(second >= Duration::from_millis(200) && second <= Duration::from_millis(250));
        let capped = policy.delay(9, None);
        assert!(capped >= Duration::from_millis(300) && capped <= Duration::from_millis(375));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(90))),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn only_rate_limits_and_server_errors_are_retryable() {
        for status in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 422, 501] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }
}
