//! Run-time fault injection and the optional per-key rate limiter.
//!
//! [`Faults`] holds the current [`FaultConfig`], a seeded generator for the `*_rate` knobs and
//! per-key request windows. [`Faults::decide`] is asked once per `/v1` request.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::config::{FaultConfig, FaultKind};

/// What the fault layer decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Handle the request normally.
    Pass,
    /// Inject this fault.
    Fault(FaultKind),
    /// The caller's key is over its rate limit; the window resets after this many seconds.
    Throttled {
        /// The configured requests per second.
        limit: u32,
        /// Seconds until the window resets (at least 1).
        reset_secs: u64,
    },
}

/// Length of one rate-limit window.
const WINDOW: Duration = Duration::from_secs(1);

/// Mutable fault state shared by all connections.
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    rng: SplitMix64,
    windows: HashMap<String, (Instant, u32)>,
}

impl Faults {
    /// Fault state for `config`, with the generator seeded from `config.seed`.
    pub fn new(config: FaultConfig) -> Self {
        let rng = SplitMix64(config.seed);
        Self {
            config,
            rng,
            windows: HashMap::new(),
        }
    }

    /// The current configuration.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Replaces the configuration and re-seeds the generator.
    pub fn replace(&mut self, config: FaultConfig) {
        *self = Self::new(config);
    }

    /// The added latency for every request.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.config.latency_ms)
    }

    /// Rate-limit counters for `key` as `(limit, remaining)`, if a limit is configured.
    pub fn rate_headers(&self, key: &str) -> Option<(u32, u32)> {
        let limit = self.config.rate_limit_rps?;
        let used = self.windows.get(key).map_or(0, |(_, n)| *n);
        Some((limit, limit.saturating_sub(used)))
    }

    /// Decides the fate of one request. Deterministic rules first, then the rate limiter, then
    /// the random knobs.
    pub fn decide(&mut self, method: &str, path: &str, key: Option<&str>) -> Verdict {
        if let Some(rule) = self.config.fail_next.iter_mut().find(|r| {
            r.count > 0
                && r.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && path.starts_with(r.path_prefix.as_str())
        }) {
            rule.count -= 1;
            let fault = rule.fault;
            self.config.fail_next.retain(|r| r.count > 0);
            return Verdict::Fault(fault);
        }
        if let (Some(limit), Some(key)) = (self.config.rate_limit_rps, key) {
            let now = Instant::now();
            let entry = self.windows.entry(key.to_owned()).or_insert((now, 0));
            if now.duration_since(entry.0) >= WINDOW {
                *entry = (now, 0);
            }
            if entry.1 >= limit {
                let left = WINDOW.saturating_sub(now.duration_since(entry.0));
                return Verdict::Throttled {
                    limit,
                    reset_secs: left.as_secs().max(1),
                };
            }
            entry.1 += 1;
        }
        let roll = self.rng.next_f64();
        let c = &self.config;
        let mut edge = c.rate_429;
        if roll < edge {
            return Verdict::Fault(FaultKind::RateLimited);
        }
        edge += c.rate_500;
        if roll < edge {
            return Verdict::Fault(FaultKind::ServerError);
        }
        edge += c.rate_529;
        if roll < edge {
            return Verdict::Fault(FaultKind::Overloaded);
        }
        edge += c.drop_rate;
        if roll < edge {
            return Verdict::Fault(FaultKind::Drop);
        }
        Verdict::Pass
    }
}

/// A tiny seeded generator (SplitMix64): repeatable fault sequences without a dependency.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `[0, 1)` from the top 53 bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FailRule;

    #[test]
    fn fail_next_rules_are_consumed_in_order() {
        let mut faults = Faults::new(FaultConfig {
            fail_next: vec![FailRule {
                count: 2,
                method: Some("post".into()),
                path_prefix: "/v1/sessions".into(),
                fault: FaultKind::ServerError,
            }],
            ..FaultConfig::default()
        });
        assert_eq!(faults.decide("GET", "/v1/sessions", None), Verdict::Pass);
        assert_eq!(
            faults.decide("POST", "/v1/sessions", None),
            Verdict::Fault(FaultKind::ServerError)
        );
        assert_eq!(
            faults.decide("POST", "/v1/sessions/x", None),
            Verdict::Fault(FaultKind::ServerError)
        );
        assert_eq!(faults.decide("POST", "/v1/sessions", None), Verdict::Pass);
        assert!(faults.config().fail_next.is_empty());
    }

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let config = FaultConfig {
            seed: 7,
            rate_500: 0.5,
            ..FaultConfig::default()
        };
        let run = |c: FaultConfig| {
            let mut f = Faults::new(c);
            (0..32)
                .map(|_| f.decide("GET", "/v1/x", None))
                .collect::<Vec<_>>()
        };
        let first = run(config.clone());
        assert_eq!(first, run(config));
        assert!(first.contains(&Verdict::Pass));
        assert!(first.contains(&Verdict::Fault(FaultKind::ServerError)));
    }
}
