//! Worker benchmarks (see `docs/benchmarks.md`, section "worker").
//!
//! `cargo run --release -p antpath-worker --example bench -- <database url of a scratch db>`
//!
//! Runs against a scratch database (recreated), the simulator in-process at zero latency and a
//! local object store in a temp dir. Prints one line per figure.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use antpath_config::{LeakScan, Limits};
use antpath_db::lifecycle::{self, Fence};
use antpath_db::runs::{NewRun, SealedSecret};
use antpath_db::workspaces::PlanCaps;
use antpath_provider::RetryPolicy;
use antpath_redact::Secret;
use antpath_storage::{LocalStore, LocalStoreConfig, ObjectStore};
use antpath_template::submission::{RunInputs, SecretBundle};
use antpath_types::{RunId, SecretId, UserId, WorkspaceId};
use antpath_vault::KeyRing;
use antpath_worker::{Deps, FaultHook, Tuning, WorkerConfig};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

struct Bench {
    pool: PgPool,
    ws: WorkspaceId,
    user: UserId,
    keys: KeyRing,
}

impl Bench {
    async fn submit(&self, directive: &str) -> RunId {
        let run = RunId::new();
        let secrets: SecretBundle =
            serde_json::from_value(json!({"anthropic": {"apiKey": "sk-ant-bench"}}))
                .expect("bundle");
        let inputs = RunInputs {
            secrets,
            variables: BTreeMap::from([("d".to_owned(), json!(directive))]),
        };
        let sealed = self
            .keys
            .seal(run, &inputs.to_plaintext_json())
            .expect("seal");
        let new = NewRun {
            id: run,
            workspace_id: self.ws,
            creator: self.user,
            api_token_id: None,
            template_name: "b".into(),
            template_snapshot: json!({"name": "b", "agent": {"model": "m"}, "variables": {"d": {"type": "string"}}, "prompt": "{{d}}"}),
            template_hash: "sha256:0".into(),
            idempotency_key: None,
            request_hash: "h".into(),
            cleanup_policy: antpath_types::ClaudeSessionCleanup::Delete,
            max_duration_seconds: 3600,
            max_spend_usd: None,
            max_attempts: 1,
        };
        let secret = SealedSecret::new(SecretId::new(), sealed);
        let mut tx = self.pool.begin().await.expect("begin");
        antpath_db::runs::insert_idempotent(&mut tx, &new, &secret)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        run
    }

    async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    async fn xacts(&self) -> i64 {
        sqlx::query_scalar(
            "select xact_commit from pg_stat_database where datname = current_database()",
        )
        .fetch_one(&self.pool)
        .await
        .expect("xacts")
    }
}

fn config(sim: &str, owner: &str, concurrency: usize, claim_poll: Duration) -> WorkerConfig {
    WorkerConfig {
        owner: owner.into(),
        concurrency,
        limits: Limits {
            poll_base_ms: 200,
            poll_max_ms: 2000,
            provider_reads_per_second: 1_000_000,
            provider_creates_per_minute: 100_000_000,
            max_active_runs_per_workspace: 1_000_000,
            ..Limits::default()
        },
        provider_base_url: sim.into(),
        provider_timeout: Duration::from_secs(30),
        provider_retry: RetryPolicy::fast(3),
        leak_scan: LeakScan::WhenInDoubt,
        tuning: Tuning {
            claim_poll,
            capture_settle: Duration::from_millis(200),
            capture_relist: Duration::from_millis(50),
            ..Tuning::default()
        },
    }
}

#[tokio::main]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: bench <scratch database url>");
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .connect(&url)
        .await
        .expect("connect");
    sqlx::query("drop schema public cascade")
        .execute(&pool)
        .await
        .expect("drop");
    sqlx::query("create schema public")
        .execute(&pool)
        .await
        .expect("create");
    sqlx::query("drop table if exists _sqlx_migrations")
        .execute(&pool)
        .await
        .ok();
    antpath_db::MIGRATOR.run(&pool).await.expect("migrate");
    let ws = WorkspaceId::new();
    let user = UserId::new();
    antpath_db::workspaces::insert(
        &pool,
        ws,
        "bench",
        PlanCaps {
            max_active_runs: 1_000_000,
            max_active_runs_per_token: 1_000_000,
            max_run_duration_seconds: 3600,
            storage_cap_bytes: 1 << 40,
        },
    )
    .await
    .expect("ws");
    antpath_db::users::insert(&pool, user, "bench@example.com", None)
        .await
        .expect("user");
    let keys = KeyRing::new(
        "k",
        &BTreeMap::from([(
            "k".to_owned(),
            Secret::new("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned()),
        )]),
    )
    .expect("keys");
    let bench = Arc::new(Bench {
        pool: pool.clone(),
        ws,
        user,
        keys: keys.clone(),
    });
    let which = std::env::args().nth(2).unwrap_or_else(|| "all".into());

    if which == "all" || which == "claim" {
        for claimers in [1usize, 2, 4] {
            sqlx::query("delete from runs")
                .execute(&pool)
                .await
                .expect("clear");
            const RUNS: usize = 4000;
            for _ in 0..RUNS {
                bench.submit("x").await;
            }
            let started = Instant::now();
            let mut tasks = Vec::new();
            for i in 0..claimers {
                let url = url.clone();
                tasks.push(tokio::spawn(async move {
                    // One pool per claimer, as separate processes would have.
                    let pool = PgPoolOptions::new()
                        .max_connections(2)
                        .connect(&url)
                        .await
                        .expect("connect");
                    let mut done = 0;
                    loop {
                        let got = lifecycle::claim_due(&pool, &format!("c{i}"), 16, 30.0)
                            .await
                            .expect("claim");
                        if got.is_empty() {
                            return done;
                        }
                        for c in got {
                            lifecycle::finish(
                                &pool,
                                Fence {
                                    run_id: c.run_id,
                                    token: c.token,
                                },
                                antpath_types::CleanupState::Succeeded,
                            )
                            .await
                            .expect("finish");
                            done += 1;
                        }
                    }
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += t.await.expect("task");
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "claim claimers={claimers} runs={total} seconds={secs:.2} runs_per_s={:.0}",
                total as f64 / secs
            );
        }
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
    let deps = |config| {
        Deps::new(
            pool.clone(),
            keys.clone(),
            store.clone(),
            config,
            FaultHook::none(),
        )
        .expect("deps")
    };

    if which == "all" || which == "notify" {
        sqlx::query("delete from runs")
            .execute(&pool)
            .await
            .expect("clear");
        // A long poll interval: only NOTIFY can wake the claimer quickly.
        let worker = antpath_worker::start(
            deps(config(&sim.base_url(), "n", 4, Duration::from_secs(30))),
            None,
        )
        .expect("worker");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut latencies = Vec::new();
        for _ in 0..100 {
            let started = Instant::now();
            let run = bench.submit("antpath-sim: scenario=forever").await;
            loop {
                let attempts: i32 =
                    sqlx::query_scalar("select attempt_count from runs where id = $1")
                        .bind(run.as_uuid())
                        .fetch_one(&pool)
                        .await
                        .expect("a");
                if attempts > 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            latencies.push(started.elapsed());
            sqlx::query("update runs set cancel_requested_at = now() where id = $1")
                .bind(run.as_uuid())
                .execute(&pool)
                .await
                .expect("cancel");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        latencies.sort();
        println!(
            "notify p50_ms={:.2} p99_ms={:.2}",
            latencies[49].as_secs_f64() * 1e3,
            latencies[98].as_secs_f64() * 1e3
        );
        worker.shutdown().await;
    }

    if which == "all" || which == "xact" {
        sqlx::query("delete from runs")
            .execute(&pool)
            .await
            .expect("clear");
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
        sqlx::query("delete from runs")
            .execute(&pool)
            .await
            .expect("clear");
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
