//! Worker benchmarks (see `docs/benchmarks.md`, section "worker").
//!
//! `cargo run --release -p antpath-worker --example bench -- <scratch database url> [mode]`
//! with mode `claim`, `pickup`, `recovery`, `xact`, `rss` or `all` (the default);
//! `BENCH_REPS` repetitions (default 3) of the modes that compare with a baseline.
//!
//! Runs against a scratch database (its schema recreated), the simulator in-process at zero
//! latency and a local object store in a temp dir. Prints one line per figure, each beside its
//! baseline from the same repetition, then min/median/max over the repetitions.

mod claim;
mod graphile;
mod pickup;
mod recovery;
mod setup;

use std::time::{Duration, Instant};

use antpath_redact::Secret;
use antpath_storage::{LocalStore, LocalStoreConfig, ObjectStore};
use antpath_worker::{Deps, FaultHook, WorkerConfig};

use crate::setup::{Bench, config};

/// The allocator of the deployed binaries (mimalloc), so the figures are of what runs in
/// production, not of glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: bench <scratch database url> [mode]");
    let which = std::env::args().nth(2).unwrap_or_else(|| "all".into());
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    // The pool the worker gets in production (statement timeout, acquire timeout), larger.
    let pool = antpath_db::connect(&antpath_db::PoolSettings {
        url: url.clone(),
        max_connections: 20,
        statement_timeout: Duration::from_secs(15),
        acquire_timeout: Duration::from_secs(5),
    })
    .expect("pool");
    let bench = Bench::fresh(pool.clone(), url.clone()).await;

    if which == "all" || which == "claim" {
        claim::run(&bench, reps).await;
    }

    let sim = antpath_sim::spawn(antpath_sim::SimConfig {
        step_delay: Duration::from_millis(5),
        // The bench measures the worker, not the provider's documented rate limits.
        faults: antpath_sim::FaultConfig {
            documented_limits: None,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let store = ObjectStore::Local(
        LocalStore::new(LocalStoreConfig {
            root: dir.path().into(),
            public_base_url: "http://localhost".into(),
            signing_key: Secret::new("s".repeat(32)),
        })
        .expect("store"),
    );
    let deps = |config: WorkerConfig| {
        Deps::new(
            pool.clone(),
            bench.keys.clone(),
            store.clone(),
            config,
            FaultHook::none(),
        )
        .expect("deps")
    };

    if which == "all" || which == "pickup" || which == "notify" {
        pickup::run(&bench, &sim.base_url(), &deps, reps).await;
    }

    if which == "all" || which == "recovery" {
        recovery::run(&bench, &sim.base_url(), &deps, reps).await;
    }

    if which == "all" || which == "xact" {
        bench.clear().await;
        let worker = antpath_worker::start(
            deps(config(&sim.base_url(), "x", 8, Duration::from_millis(200))),
            None,
        )
        .expect("worker");
        const RUNS: i64 = 50;
        let before = bench.xacts().await;
        for _ in 0..RUNS {
            bench
                .submit("antpath-sim: scenario=happy files=2 size=1000")
                .await;
        }
        let mut polls = 0;
        while bench
            .count(
                "select count(*) from runs where status in ('succeeded','failed','cleanup_failed')",
            )
            .await
            < RUNS
        {
            polls += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let after = bench.xacts().await;
        // Subtract the benchmark's own transactions: the inserts, the polls and the two reads.
        let own = RUNS + polls + 2;
        println!(
            "xact per_run={:.1} (runs={RUNS}, total_delta={}, own={own})",
            (after - before - own) as f64 / RUNS as f64,
            after - before
        );
        worker.shutdown().await;
    }

    if which == "all" || which == "rss" {
        bench.clear().await;
        let n: i64 = std::env::var("BENCH_RSS_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        let rss_before = rss_kib();
        let worker = antpath_worker::start(
            deps(config(&sim.base_url(), "r", 64, Duration::from_millis(500))),
            None,
        )
        .expect("worker");
        for _ in 0..n {
            bench.submit("antpath-sim: scenario=forever").await;
        }
        let started = Instant::now();
        while bench
            .count("select count(*) from runs where status = 'provider_running'")
            .await
            < n
        {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if started.elapsed() > Duration::from_secs(900) {
                break;
            }
        }
        let running = bench
            .count("select count(*) from runs where status = 'provider_running'")
            .await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        println!(
            "rss runs_polled={running} rss_kib={} rss_kib_before_worker={rss_before} ramp_seconds={:.0} (worker and simulator in one process)",
            rss_kib(),
            started.elapsed().as_secs_f64()
        );
        worker.shutdown().await;
    }
    sim.shutdown().await;
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
