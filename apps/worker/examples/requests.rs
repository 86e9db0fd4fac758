//! Provider requests per run, and the client's cost per observation (see `docs/benchmarks.md`,
//! section "Observation within the rate limits").
//!
//! `cargo run --release -p antpath-worker --example requests -- <scratch database url>`
//!
//! Recreates the scratch database, runs one happy run of 10 and one of 500 events (agent reuse
//! off), then three runs of one template on one key with agent reuse on (the first creates the
//! cached agent and environment, the others take them), through the
//! real worker against the in-process simulator (the first poll after the session ended, so
//! both take one observation), and prints the simulator's per-route request counts beside two
//! baselines for the same history: the old observation (which re-listed the whole history
//! to decide the turn) and a naive poller (retrieve + the whole history every poll, pages of
//! 100). Then the client CPU of one observation (decoding and filtering the page it reads)
//! for both shapes, and the active runs one provider key sustains under the documented read
//! limit.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use antpath_config::{LeakScan, Limits};
use antpath_provider::RetryPolicy;
use antpath_provider::pagination::Page;
use antpath_provider::types::event::SessionEvent;

use antpath_types::{RunId, UserId, WorkspaceId};
use antpath_vault::KeyRing;
use antpath_worker::{Deps, FaultHook, Tuning, WorkerConfig};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

#[path = "support/mod.rs"]
mod support;

/// Page size of the naive poller's full re-list.
const NAIVE_PAGE: usize = 100;
/// Decodes timed per figure.
const DECODES: u32 = 200;

async fn submit(pool: &PgPool, keys: &KeyRing, ws: WorkspaceId, user: UserId, d: &str) -> RunId {
    let template = json!({"name": "r", "agent": {"model": "m"},
        "variables": {"d": {"type": "string"}}, "prompt": "{{d}}"});
    let secrets = json!({"anthropic": {"apiKey": "sk-ant-requests"}});
    support::insert_run(pool, keys, (ws, user), template, secrets, d).await
}

async fn done(pool: &PgPool, run: RunId) -> String {
    loop {
        let row: (String, String) = sqlx::query_as("select status, phase from runs where id = $1")
            .bind(run.as_uuid())
            .fetch_one(pool)
            .await
            .expect("status");
        if row.1 == "done" {
            return row.0;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn counts(http: &reqwest::Client, base: &str) -> BTreeMap<String, u64> {
    let url = format!("{base}/__sim/counts");
    let body: Value = http
        .get(&url)
        .send()
        .await
        .expect("c")
        .json()
        .await
        .expect("j");
    http.delete(&url).send().await.expect("reset");
    serde_json::from_value(body["counts"].clone()).expect("counts")
}

/// A page of `n` processed events in the provider's shape.
fn page_bytes(n: usize) -> Vec<u8> {
    let data: Vec<Value> = (0..n)
        .map(|i| {
            json!({"id": format!("sevt_011C{i:020}"), "type": "agent.thinking",
                "processed_at": format!("2026-12-01T00:{:02}:{:02}.{:06}Z", i / 3600 % 60, i / 60 % 60, i % 1_000_000)})
        })
        .collect();
    serde_json::to_vec(&json!({"data": data, "next_page": null})).expect("page")
}

/// Microseconds of client CPU to decode one page of `n` events and drop what the cursor has
/// seen (the single-threaded decode and filter an observation does with the page it reads).
fn decode_micros(n: usize) -> f64 {
    let bytes = page_bytes(n);
    let started = Instant::now();
    for _ in 0..DECODES {
        let page: Page<SessionEvent> = serde_json::from_slice(&bytes).expect("decode");
        let fresh = page
            .data
            .iter()
            .filter(|e| e.processed_at.is_some())
            .count();
        std::hint::black_box(fresh);
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(DECODES)
}

#[tokio::main]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: requests <scratch database url>");
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(&url)
        .await
        .expect("connect");
    let scratch = support::Scratch::new(&pool, "requests").await;
    let support::Scratch {
        workspace: ws,
        user,
        keys,
        sim,
        store,
        dir: _dir,
    } = scratch;
    let config = WorkerConfig {
        owner: "requests".into(),
        concurrency: 2,
        limits: Limits {
            // The first poll comes after the session ended: one observation per run.
            poll_base_ms: 2_000,
            poll_max_ms: 2_000,
            ..Limits::default()
        },
        provider_base_url: sim.base_url(),
        provider_timeout: Duration::from_secs(30),
        provider_retry: RetryPolicy::fast(3),
        leak_scan: LeakScan::WhenInDoubt,
        tuning: Tuning {
            capture_settle: Duration::from_millis(200),
            capture_relist: Duration::from_millis(50),
            ..Tuning::default()
        },
    };
    let worker = antpath_worker::start(
        Deps::new(
            pool.clone(),
            keys.clone(),
            store.clone(),
            config.clone(),
            FaultHook::none(),
        )
        .expect("deps"),
        None,
    )
    .expect("worker");
    let http = reqwest::Client::new();
    let base = sim.base_url();
    counts(&http, &base).await;
    for events in [10usize, 500] {
        let directive = format!("antpath-sim: scenario=happy events={events}");
        let run = submit(&pool, &keys, ws, user, &directive).await;
        let status = done(&pool, run).await;
        let by_route = counts(&http, &base).await;
        let total: u64 = by_route.values().sum();
        let observation = by_route.get("GET /v1/sessions/{id}").copied().unwrap_or(0)
            + by_route
                .get("GET /v1/sessions/{id}/events")
                .copied()
                .unwrap_or(0);
        // The history the session holds: the thinking events, the happy turn's ~10 others.
        let history = events + 10;
        // The old observation listed the history twice at the end (the delta, then all of it
        // again to decide): the same request count at this page size, but every event moved.
        let old_events_read = history * 2;
        let naive_per_poll = 1 + history.div_ceil(NAIVE_PAGE);
        println!(
            "requests events={events} status={status} total={total} observation_and_dispatch={observation} \
             events_read_bounded={history} events_read_old={old_events_read} \
             naive_requests_per_poll(page={NAIVE_PAGE})={naive_per_poll}"
        );
        println!("  by_route {by_route:?}");
    }
    worker.shutdown().await;

    // Agent and environment reuse: the same template again and again on one key. The first
    // run creates the cache entries; the later ones take them.
    let reusing = WorkerConfig {
        owner: "requests-reuse".into(),
        limits: Limits {
            agent_cache_idle_seconds: 3600,
            ..config.limits.clone()
        },
        ..config.clone()
    };
    let worker = antpath_worker::start(
        Deps::new(
            pool.clone(),
            keys.clone(),
            store.clone(),
            reusing,
            FaultHook::none(),
        )
        .expect("deps"),
        None,
    )
    .expect("worker");
    counts(&http, &base).await;
    for attempt in 1..=3 {
        let run = submit(
            &pool,
            &keys,
            ws,
            user,
            "antpath-sim: scenario=happy events=10",
        )
        .await;
        let status = done(&pool, run).await;
        let by_route = counts(&http, &base).await;
        let total: u64 = by_route.values().sum();
        let label = if attempt == 1 { "cold" } else { "warm" };
        println!("requests reuse=on run={attempt} ({label}) status={status} total={total}");
        println!("  by_route {by_route:?}");
    }
    worker.shutdown().await;
    sim.shutdown().await;

    for n in [0usize, 10, 50, 510] {
        println!(
            "decode events={n} client_us_per_observation={:.1}",
            decode_micros(n)
        );
    }
    let documented_rps = f64::from(antpath_sim::READS_PER_MINUTE) / 60.0;
    let defaults = Limits::default();
    let worker_rps = f64::from(defaults.provider_reads_per_second);
    for (label, interval_ms) in [
        ("base", defaults.poll_base_ms),
        ("max", defaults.poll_max_ms),
    ] {
        let per_run = 2.0 / (interval_ms as f64 / 1000.0);
        println!(
            "runs_per_key poll_{label}_ms={interval_ms} reads_per_run_per_s={per_run:.3} \
             documented_limit_rps={documented_rps:.0} runs={:.0} worker_throttle_rps={worker_rps:.0} runs={:.0}",
            documented_rps / per_run,
            worker_rps / per_run
        );
    }
}
