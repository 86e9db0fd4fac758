//! How the pages write numbers, sizes, times and durations for people.

use chrono::{DateTime, TimeDelta, Utc};
use maud::{Markup, html};

/// A byte count in SI units with one decimal: `999 B`, `1.2 kB`, `1.2 MB`.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    // 999.95 would print as "1000.0": move up a unit before that happens.
    while value >= 999.95 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// An integer with thousands separators: `12,345`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A cost in micro-dollars as dollars and cents, with thousands separators: `$1,234.56`
/// (rounded to the nearest cent, which is what the provider reports).
pub fn usd_micros(micros: i64) -> String {
    let cents = (micros + 5_000) / 10_000;
    format!("${}.{:02}", thousands(cents / 100), cents % 100)
}

/// A duration to the second: `45 s`, `3 min 05 s`, `2 h 04 min`; `—` when negative.
pub fn duration(span: TimeDelta) -> String {
    let seconds = span.num_seconds();
    if seconds < 0 {
        return "—".into();
    }
    let (h, m, s) = (seconds / 3600, (seconds / 60) % 60, seconds % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{s} s")
    }
}

/// The written form of a time: `2026-12-01 10:32:05 UTC`. `run.js` writes event times the
/// same way.
pub fn time_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A `<time>` element with the machine-readable instant.
pub fn time(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (time_text(at)) } }
}

/// A `<time>` element, or a muted dash for a time that has not happened.
pub fn maybe_time(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => time(at),
        None => html! { span.muted { "—" } },
    }
}

/// The start of a `sha256:…` hash, enough to tell templates apart.
pub fn short_hash(hash: &str) -> &str {
    let hex = hash.strip_prefix("sha256:").unwrap_or(hash);
    hex.get(..12).unwrap_or(hex)
}

/// A lifecycle word (`provider_running`) as people read it (`provider running`).
pub fn words(word: &str) -> String {
    word.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_read_as_dollars_and_cents() {
        assert_eq!(usd_micros(0), "$0.00");
        assert_eq!(usd_micros(530_000), "$0.53");
        assert_eq!(usd_micros(123_456_780_000), "$123,456.78");
    }

    #[test]
    fn sizes_read_like_a_person_would_write_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1000), "1.0 kB");
        assert_eq!(human_size(1_234_567), "1.2 MB");
        assert_eq!(human_size(999_960), "1.0 MB");
        assert_eq!(human_size(10_000_000_000), "10.0 GB");
        assert_eq!(human_size(i64::MAX), "9223.4 PB");
    }

    #[test]
    fn numbers_durations_and_hashes_are_short_and_exact() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(duration(TimeDelta::seconds(45)), "45 s");
        assert_eq!(duration(TimeDelta::seconds(185)), "3 min 05 s");
        assert_eq!(duration(TimeDelta::seconds(7440)), "2 h 04 min");
        assert_eq!(duration(TimeDelta::seconds(-1)), "—");
        assert_eq!(short_hash("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_hash("sha256:01"), "01");
        assert_eq!(words("provider_running"), "provider running");
    }
}
