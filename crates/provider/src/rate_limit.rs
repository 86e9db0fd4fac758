//! Rate-limit signals of the provider: `retry-after` and the `anthropic-ratelimit-*` headers.
//!
//! The limits are per organization, so one worker hitting them should slow every replica that
//! uses the same key. The client keeps the signals of the last response
//! ([`ProviderClient::last_rate_limit`](crate::ProviderClient::last_rate_limit)) and every error
//! carries its own `retry-after`; the worker decides how to share them.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// The prefix of every rate-limit header the API sends.
const RATELIMIT_PREFIX: &str = "anthropic-ratelimit-";

/// The upper bound on a parsed `retry-after`, so a hostile or broken header cannot make a
/// sleep overflow. Callers apply their own, much smaller, cap.
const MAX_PARSED_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// The rate-limit state reported by one response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RateLimitInfo {
    /// When the response was received.
    pub observed_at: Option<SystemTime>,
    /// The parsed `retry-after-ms` or `retry-after` header.
    pub retry_after: Option<Duration>,
    /// `anthropic-ratelimit-requests-limit`.
    pub requests_limit: Option<u64>,
    /// `anthropic-ratelimit-requests-remaining`.
    pub requests_remaining: Option<u64>,
    /// `anthropic-ratelimit-requests-reset` (RFC 3339), as sent.
    pub requests_reset: Option<String>,
    /// Every `anthropic-ratelimit-*` header, name without the prefix → value.
    pub headers: BTreeMap<String, String>,
}

impl RateLimitInfo {
    /// Reads the signals from response headers.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut info = Self {
            observed_at: Some(SystemTime::now()),
            retry_after: parse_retry_after(headers),
            ..Self::default()
        };
        for (name, value) in headers {
            let Some(rest) = name.as_str().strip_prefix(RATELIMIT_PREFIX) else {
                continue;
            };
            let Ok(value) = value.to_str() else { continue };
            info.headers.insert(rest.to_owned(), value.to_owned());
        }
        info.requests_limit = info.number("requests-limit");
        info.requests_remaining = info.number("requests-remaining");
        info.requests_reset = info.headers.get("requests-reset").cloned();
        info
    }

    /// True when the response said something about rate limits.
    pub fn is_present(&self) -> bool {
        self.retry_after.is_some() || !self.headers.is_empty()
    }

    fn number(&self, name: &str) -> Option<u64> {
        self.headers.get(name).and_then(|v| v.trim().parse().ok())
    }
}

/// Parses `retry-after-ms` (milliseconds) or else `retry-after` (seconds, possibly fractional,
/// or an HTTP date), as the official SDK does.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0).min(MAX_PARSED_RETRY_AFTER));
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Some(Duration::from_secs_f64(seconds).min(MAX_PARSED_RETRY_AFTER));
        }
        return None;
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.signed_duration_since(chrono::Utc::now());
    Some(
        wait.to_std()
            .unwrap_or(Duration::ZERO)
            .min(MAX_PARSED_RETRY_AFTER),
    )
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        map
    }

    #[test]
    fn retry_after_is_read_in_seconds_fractions_and_milliseconds() {
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "3")])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "0.5")])),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "9"), ("retry-after-ms", "250")])),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "soon")])),
            None
        );
        assert_eq!(parse_retry_after(&headers(&[("retry-after", "-1")])), None);
    }

    #[test]
    fn retry_after_as_a_past_http_date_means_now() {
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn ratelimit_headers_are_collected_without_their_prefix() {
        let info = RateLimitInfo::from_headers(&headers(&[
            ("anthropic-ratelimit-requests-limit", "300"),
            ("anthropic-ratelimit-requests-remaining", "12"),
            ("anthropic-ratelimit-requests-reset", "2026-11-01T00:00:00Z"),
            ("anthropic-ratelimit-tokens-remaining", "1000"),
            ("request-id", "req_1"),
        ]));
        assert_eq!(info.requests_limit, Some(300));
        assert_eq!(info.requests_remaining, Some(12));
        assert_eq!(info.requests_reset.as_deref(), Some("2026-11-01T00:00:00Z"));
        assert_eq!(info.headers.len(), 4);
        assert!(info.is_present());
        assert!(!RateLimitInfo::from_headers(&HeaderMap::new()).is_present());
    }
}
