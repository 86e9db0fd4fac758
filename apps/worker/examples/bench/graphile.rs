//! graphile-worker in its default mode as a second claim baseline, when it is installed.
//!
//! `BENCH_GRAPHILE_DIR` names a folder holding `node_modules/graphile-worker` (the
//! `scripts/bench-worker` script installs it there from npm); without it the baseline is
//! skipped. `graphile.js` next to this file queues the jobs with `addJobs` and runs one worker
//! with the library's defaults (concurrency 1, no local queue, no batched completion), timing
//! the first job's start to the last job's success.

use std::process::Command;

/// Jobs per second, or `None` when graphile-worker is not installed.
pub fn jobs_per_second(url: &str) -> Option<f64> {
    let dir = std::env::var("BENCH_GRAPHILE_DIR").ok()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/bench/graphile.js");
    let out = Command::new("node")
        .args([script, &dir, url, "4000"])
        .output()
        .expect("run node");
    if !out.status.success() {
        eprintln!(
            "graphile-worker baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("jobs_per_s=")?.trim().parse().ok())
}
