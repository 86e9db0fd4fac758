//! Prometheus metrics, written by hand in the text exposition format: request counts and a
//! latency histogram by route, method and status; accepted submissions; rejections by reason.
//!
//! Labels are bounded: the route is the matched route template (never the raw path), and
//! reasons are a fixed set of `&'static str`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, in seconds: 1 ms to 10 s, covering a cached
/// read through a slow submission under load.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Series {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

type RequestKey = (String, String, u16);

/// The bff's metrics registry.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<RequestKey, Series>>,
    rejections: Mutex<BTreeMap<&'static str, u64>>,
    submissions: AtomicU64,
}

impl Metrics {
    /// Records one finished request.
    pub fn observe_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        let series = requests
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default();
        series.count += 1;
        series.sum_seconds += seconds;
        for (bucket, bound) in series.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    /// Records one rejected request by reason.
    pub fn observe_rejection(&self, reason: &'static str) {
        *self
            .rejections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(reason)
            .or_default() += 1;
    }

    /// Records one accepted (newly created) run.
    pub fn observe_submission(&self) {
        self.submissions.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        out.push_str(
            "# HELP antpath_bff_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE antpath_bff_requests_total counter\n");
        for ((route, method, status), series) in &requests {
            let _ = writeln!(
                out,
                "antpath_bff_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {}",
                escape(route),
                series.count
            );
        }
        out.push_str(
            "# HELP antpath_bff_request_duration_seconds HTTP request latency by route, method and status.\n",
        );
        out.push_str("# TYPE antpath_bff_request_duration_seconds histogram\n");
        for ((route, method, status), series) in &requests {
            let labels = format!(
                "route=\"{}\",method=\"{method}\",status=\"{status}\"",
                escape(route)
            );
            for (bound, count) in LATENCY_BUCKETS.iter().zip(series.buckets) {
                let _ = writeln!(
                    out,
                    "antpath_bff_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "antpath_bff_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                series.count
            );
            let _ = writeln!(
                out,
                "antpath_bff_request_duration_seconds_sum{{{labels}}} {}",
                series.sum_seconds
            );
            let _ = writeln!(
                out,
                "antpath_bff_request_duration_seconds_count{{{labels}}} {}",
                series.count
            );
        }
        out.push_str("# HELP antpath_bff_runs_submitted_total Runs created by submissions.\n");
        out.push_str("# TYPE antpath_bff_runs_submitted_total counter\n");
        let _ = writeln!(
            out,
            "antpath_bff_runs_submitted_total {}",
            self.submissions.load(Ordering::Relaxed)
        );
        out.push_str("# HELP antpath_bff_rejections_total Rejected requests by reason.\n");
        out.push_str("# TYPE antpath_bff_rejections_total counter\n");
        for (reason, count) in self
            .rejections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "antpath_bff_rejections_total{{reason=\"{reason}\"}} {count}"
            );
        }
        out
    }
}

/// Escapes a label value (backslash, quote, newline), per the exposition format.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_lands_in_every_bucket_at_or_above_its_latency() {
        let metrics = Metrics::default();
        metrics.observe_request("/v1/runs", "POST", 201, Duration::from_millis(3));
        let text = metrics.render();
        assert!(text.contains(
            "antpath_bff_request_duration_seconds_bucket{route=\"/v1/runs\",method=\"POST\",status=\"201\",le=\"0.0025\"} 0"
        ));
        assert!(text.contains(
            "antpath_bff_request_duration_seconds_bucket{route=\"/v1/runs\",method=\"POST\",status=\"201\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "antpath_bff_requests_total{route=\"/v1/runs\",method=\"POST\",status=\"201\"} 1"
        ));
    }
}
