//! Claim throughput: `claim_due` + finish over a deep queue, beside `pgbench -N` (and, when
//! installed, graphile-worker) on the same server in the same repetition.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use antpath_db::closing::{AttemptsEnd, Closing};
use antpath_db::lifecycle::{self, Fence};
use antpath_lease::{Claimer, Job, JobContext, JobEnd, Lease};
use antpath_types::{CleanupState, RunId};
use antpath_worker::app::claimer_config;
use antpath_worker::finisher::Finisher;
use antpath_worker::metrics::WorkerMetrics;
use antpath_worker::store::{RunStore, fence_of};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;

use crate::setup::{Bench, config, load, summary};

/// Runs queued per measurement.
const RUNS: usize = 4000;
/// Rows per claim, the worker's default `claim_batch`.
const BATCH: i64 = 16;
/// Runs one claimer works on at once in `Worker` mode, the worker's default
/// `worker.concurrency` (its claims are of the worker's default `claim_batch`, [`BATCH`]).
const CONCURRENCY: usize = 16;

/// Connections per claimer: the worker's default pool (`database.max_connections`).
const POOL: u32 = 10;

/// How a claimer ends the runs it claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    /// As the worker does: the worker's own claim loop (`antpath_lease::Claimer` over the
    /// worker's `RunStore`, [`CONCURRENCY`] slots, claims of up to [`BATCH`] as slots free up)
    /// runs a job per claimed run that writes its outcome in a transaction of its own (the
    /// worker's end step) and then closes through the worker's [`Finisher`], which writes the
    /// closings waiting together in one statement.
    Worker,
    /// One outcome statement and one closing statement (`closing::close_many`) for the whole
    /// claimed batch.
    Batched,
}

/// The run's outcome, as the worker's last step of work records it before cleanup: a run
/// ends with a terminal status, so the claim's count of started runs (which counts the runs
/// of a workspace that are past `queued` and not over) never sees it again. Without it every
/// ended run of the bench stayed `provisioning` and each claim counted all of them.
const DECIDE: &str = "update runs r set status = 'succeeded', outcome = 'succeeded',
                          work_ended_at = now(), updated_at = now()
                      from unnest($1::uuid[], $2::uuid[]) as f(id, token)
                      where r.id = f.id and r.lease_token = f.token";

/// A bench run's closing: its first cleanup round, with nothing on the provider to remove.
fn closing(fence: Fence) -> Closing {
    Closing {
        fence,
        round: 1,
        actions: Vec::new(),
        state: CleanupState::Succeeded,
        attempts_end: AttemptsEnd::Succeeded,
    }
}

async fn decide(db: impl sqlx::PgExecutor<'_>, fences: &[Fence]) -> Result<(), sqlx::Error> {
    let ids: Vec<uuid::Uuid> = fences.iter().map(|f| f.run_id.as_uuid()).collect();
    let tokens: Vec<uuid::Uuid> = fences.iter().map(|f| f.token).collect();
    sqlx::query(DECIDE)
        .bind(&ids)
        .bind(&tokens)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn run(bench: &Bench, reps: usize) {
    let pgbench_url = pgbench_database(bench).await;
    let mut ratios: Vec<(String, Vec<f64>)> = Vec::new();
    let mut record = |name: String, value: f64| match ratios.iter_mut().find(|(n, _)| *n == name) {
        Some((_, v)) => v.push(value),
        None => ratios.push((name, vec![value])),
    };
    for rep in 1..=reps {
        println!("claim rep={rep} load={}", load());
        let pgbench = pgbench_tps(&pgbench_url);
        println!("claim rep={rep} baseline pgbench_N_c4_tps={pgbench:.0}");
        record("pgbench -N -c 4 tps".into(), pgbench);
        if let Some(graphile) = crate::graphile::jobs_per_second(&bench.url) {
            println!("claim rep={rep} baseline graphile_worker_default_jobs_per_s={graphile:.0}");
            record("graphile-worker default jobs/s".into(), graphile);
        }
        for finish in [Finish::Worker, Finish::Batched] {
            for claimers in [1usize, 4] {
                let rate = claim_and_finish(bench, claimers, finish).await;
                let name = format!("claim+finish {finish:?} claimers={claimers}");
                println!(
                    "claim rep={rep} {name} runs_per_s={rate:.0} x_pgbench={:.2}",
                    rate / pgbench
                );
                record(format!("{name} runs/s"), rate);
                record(format!("{name} x pgbench"), rate / pgbench);
            }
        }
    }
    for (name, values) in &ratios {
        println!("claim summary {}", summary(name, values));
    }
}

/// Fills the queue with [`RUNS`] runs, then lets `claimers` claimers (each with its own pool of
/// [`POOL`] connections, as separate worker processes would have) claim and finish them all.
async fn claim_and_finish(bench: &Bench, claimers: usize, finish: Finish) -> f64 {
    bench.clear().await;
    for _ in 0..RUNS / 500 {
        bench.submit_many(500, "x").await;
    }
    sqlx::raw_sql("analyze runs")
        .execute(&bench.pool)
        .await
        .expect("analyze");
    let mut pools = Vec::new();
    for _ in 0..claimers {
        let pool = PgPoolOptions::new()
            .max_connections(POOL)
            .connect(&bench.url)
            .await
            .expect("connect");
        pools.push(pool);
    }
    let started = Instant::now();
    if finish == Finish::Worker {
        worker_loops(pools).await;
        return RUNS as f64 / started.elapsed().as_secs_f64();
    }
    let mut tasks = Vec::new();
    for (i, pool) in pools.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let owner = format!("c{i}");
            let mut done = 0usize;
            loop {
                let got = lifecycle::claim_due(&pool, &owner, BATCH, 30.0)
                    .await
                    .expect("claim");
                if got.is_empty() {
                    return done;
                }
                let fences: Vec<Fence> = got
                    .iter()
                    .map(|c| Fence {
                        run_id: c.run_id,
                        token: c.token,
                    })
                    .collect();
                decide(&pool, &fences).await.expect("decide");
                let closings: Vec<Closing> = fences.iter().copied().map(closing).collect();
                let ended = antpath_db::closing::close_many(&pool, &closings)
                    .await
                    .expect("finish");
                assert_eq!(ended.len(), fences.len(), "a lease was lost");
                done += ended.len();
            }
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("claimer");
    }
    assert_eq!(total, RUNS, "every run claimed and finished once");
    total as f64 / started.elapsed().as_secs_f64()
}

/// One worker claim loop per pool until every run is finished.
async fn worker_loops(pools: Vec<PgPool>) {
    let done = Arc::new(AtomicUsize::new(0));
    let all_done = CancellationToken::new();
    let mut loops = Vec::new();
    for (i, pool) in pools.into_iter().enumerate() {
        let job = EndJob {
            pool: pool.clone(),
            finisher: Finisher::new(pool.clone()),
            done: Arc::clone(&done),
            all_done: all_done.clone(),
        };
        // The worker's own claim settings; no wake-ups, as the queue is full from the start.
        let mut worker = config("", &format!("c{i}"), CONCURRENCY, Duration::from_secs(2));
        worker.tuning.listen = false;
        let config = claimer_config(&worker);
        let store = RunStore::new(pool.clone(), Arc::new(WorkerMetrics::default()));
        loops.push(Claimer::new(Arc::new(store), Arc::new(job), config).spawn(pool));
    }
    all_done.cancelled().await;
    for claim_loop in loops {
        claim_loop.shutdown().await;
    }
    assert_eq!(
        done.load(Ordering::Acquire),
        RUNS,
        "every run finished once"
    );
}

/// The bench's job: the run's outcome, then its closing through the finisher.
struct EndJob {
    pool: PgPool,
    finisher: Finisher,
    done: Arc<AtomicUsize>,
    all_done: CancellationToken,
}

impl Job<RunId> for EndJob {
    async fn run(&self, lease: Lease<RunId>, _ctx: JobContext) -> JobEnd {
        let fence = fence_of(&lease);
        decide(&self.pool, &[fence]).await.expect("decide");
        self.finisher.finish(closing(fence)).await.expect("finish");
        if self.done.fetch_add(1, Ordering::AcqRel) + 1 == RUNS {
            self.all_done.cancel();
        }
        JobEnd::Done
    }
}

/// A pgbench database next to the bench's, initialised once (scale 1).
async fn pgbench_database(bench: &Bench) -> String {
    // An existing database from an earlier bench is reused (`pgbench -i` recreates its tables).
    let _ = sqlx::raw_sql("create database antpath_bench_pgbench")
        .execute(&bench.pool)
        .await;
    let url = match bench.url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/antpath_bench_pgbench"),
        None => panic!("the bench database url names no database"),
    };
    let status = Command::new("pgbench")
        .args(["-i", "-q", &url])
        .status()
        .expect("run pgbench -i (is pgbench installed?)");
    assert!(status.success(), "pgbench -i failed");
    url
}

/// `pgbench -N -c 4 -j 2 -T 10`: TPS without the initial connection time.
fn pgbench_tps(url: &str) -> f64 {
    let out = Command::new("pgbench")
        .args(["-n", "-N", "-c", "4", "-j", "2", "-T", "10", url])
        .output()
        .expect("run pgbench");
    assert!(out.status.success(), "pgbench failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("tps = ")?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .expect("pgbench printed a tps line")
}
