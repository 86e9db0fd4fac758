//! Run-time fault injection and the optional per-key rate limiter.
//!
//! [`Faults`] holds the current [`FaultConfig`], a seeded generator for the `*_rate` knobs and
//! per-key request windows. [`Faults::decide`] is asked once per `/v1` request.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::config::{FailRule, FaultConfig, FaultKind};
use crate::limits::{Buckets, Class, Take};

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

/// A deterministic rule as installed: a timed rule knows when its window closes.
#[derive(Debug, Clone)]
struct ActiveRule {
    rule: FailRule,
    /// End of the window of a `for_ms` rule; `None` for a counted rule.
    until: Option<Instant>,
}

impl ActiveRule {
    fn new(rule: FailRule, now: Instant) -> Self {
        let until = rule.for_ms.map(|ms| now + Duration::from_millis(ms));
        Self { rule, until }
    }

    /// Whether the rule can still fire at `now`.
    fn live(&self, now: Instant) -> bool {
        self.until.map_or(self.rule.count > 0, |until| now < until)
    }

    /// The rule as shown by `GET /__sim/faults`: a timed rule shows the time left.
    fn shown(&self, now: Instant) -> FailRule {
        let mut rule = self.rule.clone();
        if let Some(until) = self.until {
            let left = until.saturating_duration_since(now).as_millis();
            rule.for_ms = Some(u64::try_from(left).unwrap_or(u64::MAX));
        }
        rule
    }
}

/// Mutable fault state shared by all connections.
#[derive(Debug)]
pub struct Faults {
    /// The configuration as posted, except `fail_next`, which lives in `rules`.
    config: FaultConfig,
    rules: Vec<ActiveRule>,
    rng: SplitMix64,
    windows: HashMap<String, (Instant, u32)>,
    buckets: Buckets,
}

impl Faults {
    /// Fault state for `config`, with the generator seeded from `config.seed`; the windows of
    /// timed rules start now.
    pub fn new(mut config: FaultConfig) -> Self {
        let now = Instant::now();
        let rules = std::mem::take(&mut config.fail_next)
            .into_iter()
            .map(|rule| ActiveRule::new(rule, now))
            .filter(|rule| rule.live(now))
            .collect();
        let rng = SplitMix64(config.seed);
        Self {
            config,
            rules,
            rng,
            windows: HashMap::new(),
            buckets: Buckets::default(),
        }
    }

    /// The current configuration: used-up and expired rules left out, timed rules with the
    /// time they have left.
    pub fn config(&self) -> FaultConfig {
        let now = Instant::now();
        FaultConfig {
            fail_next: self
                .rules
                .iter()
                .filter(|rule| rule.live(now))
                .map(|rule| rule.shown(now))
                .collect(),
            ..self.config.clone()
        }
    }

    /// Replaces the configuration and re-seeds the generator.
    pub fn replace(&mut self, config: FaultConfig) {
        *self = Self::new(config);
    }

    /// The added latency for the next request: the fixed part plus a uniform draw of the
    /// jitter.
    pub fn latency(&mut self) -> Duration {
        let jitter = self.config.latency_jitter_ms;
        let drawn = if jitter == 0 {
            0
        } else {
            (self.rng.next_f64() * (jitter + 1) as f64) as u64
        };
        Duration::from_millis(self.config.latency_ms + drawn.min(jitter))
    }

    /// The `retry-after` seconds of injected 429s.
    pub fn retry_after_secs(&self) -> u64 {
        self.config.retry_after_secs
    }

    /// Rate-limit counters for `key` as `(limit, remaining, reset seconds)`: the per-second
    /// limiter when configured, else the documented bucket of the request's class.
    pub fn rate_headers(&self, key: &str, method: &str, path: &str) -> Option<(u32, u32, u64)> {
        if let Some(limit) = self.config.rate_limit_rps {
            let used = self.windows.get(key).map_or(0, |(_, n)| *n);
            return Some((limit, limit.saturating_sub(used), 1));
        }
        let limits = self.config.documented_limits?;
        let (limit, remaining) = self.buckets.peek(limits, key, Class::of(method, path));
        // The bucket is full again after the missing tokens refill at limit/60 per second.
        let missing = f64::from(limit.saturating_sub(remaining));
        let reset = (missing * 60.0 / f64::from(limit.max(1))).ceil() as u64;
        Some((limit, remaining, reset.max(1)))
    }

    /// Decides the fate of one request. Deterministic rules first, then the rate limiter, then
    /// the random knobs.
    pub fn decide(&mut self, method: &str, path: &str, key: Option<&str>) -> Verdict {
        self.decide_at(Instant::now(), method, path, key)
    }

    fn decide_at(&mut self, now: Instant, method: &str, path: &str, key: Option<&str>) -> Verdict {
        self.rules.retain(|rule| rule.live(now));
        if let Some(active) = self
            .rules
            .iter_mut()
            .find(|active| active.rule.matches(method, path))
        {
            if active.until.is_none() {
                active.rule.count -= 1;
            }
            let fault = active.rule.fault;
            self.rules.retain(|rule| rule.live(now));
            return Verdict::Fault(fault);
        }
        if let (Some(limit), Some(key)) = (self.config.rate_limit_rps, key) {
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
        if let (Some(limits), Some(key)) = (self.config.documented_limits, key)
            && let Take::Refused {
                limit,
                retry_after_secs,
            } = self.buckets.take(limits, key, Class::of(method, path), now)
        {
            return Verdict::Throttled {
                limit,
                reset_secs: retry_after_secs,
            };
        }
        let roll = self.rng.next_f64();
        let c = &self.config;
        let knobs = [
            (c.rate_429, FaultKind::RateLimited),
            (c.rate_500, FaultKind::ServerError),
            (c.rate_529, FaultKind::Overloaded),
            (c.drop_rate, FaultKind::Drop),
            (c.lost_response_rate, FaultKind::LostResponse),
        ];
        let mut edge = 0.0;
        for (rate, fault) in knobs {
            edge += rate;
            if roll < edge {
                return Verdict::Fault(fault);
            }
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

    fn rule(method: &str, prefix: &str, fault: FaultKind) -> FailRule {
        FailRule {
            count: 0,
            for_ms: None,
            method: Some(method.into()),
            path_prefix: prefix.into(),
            path_suffix: String::new(),
            fault,
        }
    }

    #[test]
    fn fail_next_rules_are_consumed_in_order() {
        let mut faults = Faults::new(FaultConfig {
            fail_next: vec![FailRule {
                count: 2,
                ..rule("post", "/v1/sessions", FaultKind::ServerError)
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

    #[test]
    fn a_timed_rule_fails_every_match_until_its_window_closes() {
        let mut faults = Faults::new(FaultConfig {
            fail_next: vec![FailRule {
                for_ms: Some(1_000),
                ..rule("DELETE", "/v1/", FaultKind::ServerError)
            }],
            ..FaultConfig::default()
        });
        let start = Instant::now();
        for _ in 0..5 {
            assert_eq!(
                faults.decide_at(start, "DELETE", "/v1/sessions/s", None),
                Verdict::Fault(FaultKind::ServerError)
            );
        }
        assert_eq!(
            faults.decide_at(start, "GET", "/v1/sessions/s", None),
            Verdict::Pass
        );
        let shown = faults.config().fail_next;
        assert!(shown.len() == 1 && shown[0].for_ms.is_some_and(|ms| ms <= 1_000));
        let later = start + Duration::from_millis(1_001);
        assert_eq!(
            faults.decide_at(later, "DELETE", "/v1/sessions/s", None),
            Verdict::Pass
        );
        assert!(faults.config().fail_next.is_empty());
    }

    #[test]
    fn a_suffix_narrows_a_rule_to_the_matching_ends() {
        let mut faults = Faults::new(FaultConfig {
            fail_next: vec![FailRule {
                for_ms: Some(60_000),
                path_suffix: "/archive".into(),
                ..rule("POST", "/v1/agents", FaultKind::Overloaded)
            }],
            ..FaultConfig::default()
        });
        assert_eq!(faults.decide("POST", "/v1/agents", None), Verdict::Pass);
        assert_eq!(
            faults.decide("POST", "/v1/agents/agent_1/archive", None),
            Verdict::Fault(FaultKind::Overloaded)
        );
    }

    #[test]
    fn a_rule_with_neither_count_nor_window_never_fires() {
        let mut faults = Faults::new(FaultConfig {
            fail_next: vec![rule("GET", "", FaultKind::Drop)],
            ..FaultConfig::default()
        });
        assert_eq!(faults.decide("GET", "/v1/agents", None), Verdict::Pass);
        assert!(faults.config().fail_next.is_empty());
    }

    #[test]
    fn the_lost_response_rate_is_one_of_the_random_knobs() {
        let mut faults = Faults::new(FaultConfig {
            lost_response_rate: 1.0,
            ..FaultConfig::default()
        });
        assert_eq!(
            faults.decide("POST", "/v1/environments", None),
            Verdict::Fault(FaultKind::LostResponse)
        );
    }
}
