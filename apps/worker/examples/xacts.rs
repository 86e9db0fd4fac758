//! Postgres transactions per happy run (see `docs/benchmarks.md`, section "Transactions per
//! happy run").
//!
//! `cargo run -p antpath-worker --example xacts -- <scratch database url> [runs]`
//!
//! Recreates the scratch database (nothing else may use it), then, `runs` times (default 3),
//! sends one happy run whose template has one MCP server with a bearer token (so the worker
//! makes an environment, an agent, a vault, a credential and a session) through one real worker
//! (concurrency 1, no `LISTEN`) against the in-process simulator, one run at a time, and counts
//! the database's own tally of transactions (`xact_commit + xact_rollback` of
//! `pg_stat_database`) across it. From the delta it takes away the example's own transactions
//! (the submission, the polls for the run's end and one count) and the worker's idle claim
//! polls (its `empty_claims` counter), which depend on time, not on the run, and the session
//! starts (`sessions`; each is a transaction), which depend on how long pools live. The worker
//! has one session of its own that lives through all runs and a first run, not counted, warms
//! it (a fresh session's first statements cost transactions the statement log does not show:
//! preparing a statement outside a transaction is one).
//! Before each read, `pg_stat_force_next_flush()` on the example's and the worker's session
//! makes them report what they did; the read is on a fresh session.

use std::sync::Arc;
use std::time::Duration;

use antpath_config::{LeakScan, Limits};
use antpath_provider::RetryPolicy;
use antpath_storage::ObjectStore;
use antpath_types::{RunId, UserId, WorkspaceId};
use antpath_vault::KeyRing;
use antpath_worker::{Deps, FaultHook, Tuning, WorkerConfig};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

#[path = "support/mod.rs"]
mod support;

/// Sends one happy run with one static-bearer MCP server; one transaction. Each run has a
/// provider key of its own, so no run meets the simulator's per-key limits (a 429 would move
/// the worker's throttle onto the shared buckets, a transaction per call).
async fn submit(pool: &PgPool, keys: &KeyRing, ws: WorkspaceId, user: UserId) -> RunId {
    let template = json!({"name": "x",
        "agent": {"model": "m",
            "mcpServers": [{"name": "docs", "url": "https://mcp.example.com/sse",
                            "auth": "static_bearer"}],
            "tools": [{"type": "agent_toolset_20260401"},
                      {"type": "mcp_toolset", "mcpServerName": "docs"}]},
        "variables": {"d": {"type": "string"}}, "prompt": "{{d}}"});
    let secrets = json!({
        "anthropic": {"apiKey": format!("sk-ant-xacts-{}", uuid::Uuid::new_v4().simple())},
        "mcpServers": {"docs": {"bearerToken": "mcp-token-xacts"}},
    });
    support::insert_run(
        pool,
        keys,
        (ws, user),
        template,
        secrets,
        "antpath-sim: scenario=happy",
    )
    .await
}

/// The database's transactions and sessions so far (`xact_commit + xact_rollback`,
/// `sessions`: every session start is a transaction too), read inside the caller's
/// transaction, which counts only when it ends; `pg_stat_clear_snapshot` drops the cached
/// statistics.
async fn tally(conn: &mut PgConnection) -> (i64, i64) {
    sqlx::query("select pg_stat_clear_snapshot()")
        .execute(&mut *conn)
        .await
        .expect("clear");
    sqlx::query_as(
        "select (xact_commit + xact_rollback)::bigint, sessions::bigint from pg_stat_database
         where datname = current_database()",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("tally")
}

/// The tally once every session that worked has reported: `pg_stat_force_next_flush` makes
/// each of `flush` (one-connection pools; one transaction each, counted before the read) report
/// before it answers; the read is on a fresh session, which has nothing unreported and counts
/// (its start and one transaction) after it.
async fn count(flush: &[&PgPool]) -> (i64, i64) {
    for session in flush {
        sqlx::query("select pg_stat_force_next_flush()")
            .execute(*session)
            .await
            .expect("flush");
    }
    let mut conn = PgConnection::connect_with(&flush[0].connect_options())
        .await
        .expect("tally session");
    let mut tx = conn.begin().await.expect("begin");
    let tally = tally(&mut tx).await;
    tx.commit().await.expect("commit");
    conn.close().await.expect("close");
    // The session reports its start and its transaction as it ends, just after the close:
    // give it that time, so it is not counted in a window it was not part of.
    tokio::time::sleep(Duration::from_secs(1)).await;
    tally
}

/// Polls until the run is done; returns its status and the number of polls (one transaction
/// each).
async fn wait_done(pool: &PgPool, run: RunId) -> (String, i64) {
    let mut polls = 0;
    loop {
        polls += 1;
        let row: (String, String) = sqlx::query_as("select status, phase from runs where id = $1")
            .bind(run.as_uuid())
            .fetch_one(pool)
            .await
            .expect("status");
        if row.1 == "done" {
            return (row.0, polls);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a worker is started with for each run.
struct Worker<'a> {
    pool: &'a PgPool,
    keys: &'a KeyRing,
    store: &'a ObjectStore,
    sim: String,
}

impl Worker<'_> {
    /// Starts a worker on the shared session, sends one run, waits for its end and stops the
    /// worker; returns the run's status, the polls for its end and the worker's idle claims.
    async fn run(&self, pool: &PgPool, ws: WorkspaceId, user: UserId) -> (String, i64, i64) {
        let deps = Deps::new(
            self.pool.clone(),
            self.keys.clone(),
            self.store.clone(),
            config(self.sim.clone()),
            FaultHook::none(),
        )
        .expect("deps");
        let metrics = Arc::clone(&deps.metrics);
        let worker = antpath_worker::start(deps, None).expect("worker");
        let run = submit(pool, self.keys, ws, user).await;
        let (status, polls) = wait_done(pool, run).await;
        worker.shutdown().await;
        let idle = i64::try_from(metrics.empty_claims()).expect("idle claims");
        (status, polls, idle)
    }
}

fn config(sim: String) -> WorkerConfig {
    WorkerConfig {
        owner: "xacts".into(),
        concurrency: 1,
        limits: Limits {
            // The first poll comes after the session ended: one observation per run.
            poll_base_ms: 1_500,
            poll_max_ms: 1_500,
            poll_jitter: 0.0,
            // No waits of the worker's own throttle: each would add a retry, a claim and a
            // load (a run's cleanup alone makes more reads than the default burst of 10).
            provider_reads_per_second: 10_000,
            provider_creates_per_minute: 100_000,
            ..Limits::default()
        },
        provider_base_url: sim,
        provider_timeout: Duration::from_secs(30),
        provider_retry: RetryPolicy::fast(3),
        leak_scan: LeakScan::WhenInDoubt,
        tuning: Tuning {
            listen: false,
            claim_poll: Duration::from_millis(200),
            capture_settle: Duration::from_millis(200),
            capture_relist: Duration::from_millis(50),
            ..Tuning::default()
        },
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .expect("usage: xacts <scratch database url> [runs]");
    let runs: usize = args.next().map_or(3, |n| n.parse().expect("runs"));
    // One session for the example's own queries, so all of them are prepared by the first run.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("connect");
    let scratch = support::Scratch::new(&pool, "xacts").await;
    let support::Scratch {
        workspace: ws,
        user,
        keys,
        sim,
        store,
        dir: _dir,
    } = scratch;
    // The worker's one session lives through every run, as it would in production: the first
    // run prepares its statements (preparing one outside a transaction is a transaction of its
    // own) and is not counted.
    let worker_pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("worker pool");
    let worker = Worker {
        pool: &worker_pool,
        keys: &keys,
        store: &store,
        sim: sim.base_url(),
    };
    worker.run(&pool, ws, user).await;
    let sessions = [&pool, &worker_pool];
    // The count's own cost: two counts with nothing between them (two flushes, the first
    // read's session and transaction).
    let (first, second) = (count(&sessions).await, count(&sessions).await);
    println!(
        "xacts calibration: {} transactions, {} session starts between two counts",
        second.0 - first.0,
        second.1 - first.1
    );
    let mut figures = Vec::new();
    for _ in 0..runs {
        let before = count(&sessions).await;
        let (status, polls, idle) = worker.run(&pool, ws, user).await;
        let after = count(&sessions).await;
        // Ours: the first read, two flushes, the submission and the polls.
        let own = 1 + 2 + 1 + polls;
        let (xacts, sessions) = (after.0 - before.0, after.1 - before.1);
        let per_run = xacts - sessions - own - idle;
        println!(
            "xacts per_happy_run={per_run} status={status} mcp_servers=1 \
             (all={xacts}, session_starts={sessions}, own={own}, idle_claims={idle})"
        );
        figures.push(per_run);
    }
    sim.shutdown().await;
    figures.sort_unstable();
    if let (Some(low), Some(high)) = (figures.first(), figures.last()) {
        println!("xacts runs={runs} min={low} max={high}");
    }
}
