//! Pickup latency: from a submission's commit to the first committed write about the run,
//! for the worker and for a bare `LISTEN` + claim + one write loop (the baseline), measured the
//! same way in the same repetition.
//!
//! Both ends are observed without polling: the clock starts when the submission (the bff's own
//! admitting statement, autocommitted, followed by the bff's wake-up of the workers after the
//! commit) returns, and stops when the `antpath_run_changes` notification for the run arrives
//! (the run feed's trigger fires on the first update that changes what the API shows; the
//! worker's first write moves the run to `provisioning`, and so does the bare loop's; the bench
//! watches each run before submitting it, since the feed notifies only about watched runs).
//! A probe task measures how late the tokio runtime wakes a 1 ms timer meanwhile, and the bare
//! loop reports when it heard, claimed and wrote, so a slow pickup can be placed: Postgres
//! (a commit or a notification late), the runtime (the probe late) or the claim path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use antpath_worker::{Deps, WorkerConfig};
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::setup::{Bench, config, load, quantile, sort, summary};

/// Submissions per measurement.
const SAMPLES: usize = 100;
/// A pickup slower than this counts as lost (and is reported).
const GIVE_UP: Duration = Duration::from_secs(5);

/// When the bare loop heard of, claimed and wrote one run.
#[derive(Debug, Clone, Copy)]
struct BareTimes {
    id: Uuid,
    heard: Instant,
    claimed: Instant,
    written: Instant,
}

pub async fn run(bench: &Bench, sim_url: &str, deps: &dyn Fn(WorkerConfig) -> Deps, reps: usize) {
    let probe = Probe::start();
    let mut figures: Vec<(&str, Vec<f64>)> = vec![
        ("bare p50_ms", vec![]),
        ("bare p99_ms", vec![]),
        ("worker p50_ms", vec![]),
        ("worker p99_ms", vec![]),
    ];
    for rep in 1..=reps {
        println!("pickup rep={rep} load={}", load());
        bench.clear().await;
        probe.reset();
        let (mut bare, slowest) = measure_bare(bench).await;
        let bare_lag = probe.reset();
        sort(&mut bare);
        println!(
            "pickup rep={rep} bare p50_ms={:.2} p99_ms={:.2} max_ms={:.2} runtime_lag_max_ms={bare_lag:.2}",
            quantile(&bare, 0.5),
            quantile(&bare, 0.99),
            quantile(&bare, 1.0)
        );
        println!("pickup rep={rep} bare slowest: {slowest}");
        bench.clear().await;
        let worker = antpath_worker::start(
            deps(config(sim_url, "pickup", 4, Duration::from_secs(30))),
            None,
        )
        .expect("worker");
        // The listener connects in the background; give it a moment.
        tokio::time::sleep(Duration::from_millis(500)).await;
        probe.reset();
        let mut measured = measure_worker(bench).await;
        let worker_lag = probe.reset();
        worker.shutdown().await;
        sort(&mut measured);
        println!(
            "pickup rep={rep} worker p50_ms={:.2} p99_ms={:.2} max_ms={:.2} runtime_lag_max_ms={worker_lag:.2}",
            quantile(&measured, 0.5),
            quantile(&measured, 0.99),
            quantile(&measured, 1.0)
        );
        figures[0].1.push(quantile(&bare, 0.5));
        figures[1].1.push(quantile(&bare, 0.99));
        figures[2].1.push(quantile(&measured, 0.5));
        figures[3].1.push(quantile(&measured, 0.99));
    }
    for (name, values) in &figures {
        println!("pickup summary {}", summary(name, values));
    }
}

/// A listener on the run feed: waits for the first notification about one run.
async fn feed(bench: &Bench) -> PgListener {
    let mut feed = PgListener::connect_with(&bench.pool).await.expect("feed");
    feed.listen("antpath_run_changes").await.expect("listen");
    feed
}

async fn first_change(feed: &mut PgListener, run: Uuid) -> Option<Instant> {
    let wanted = run.to_string();
    let deadline = tokio::time::Instant::now() + GIVE_UP;
    loop {
        let heard = tokio::time::timeout_at(deadline, feed.recv()).await.ok()?;
        if heard.expect("feed").payload() == wanted {
            return Some(Instant::now());
        }
    }
}

async fn measure_bare(bench: &Bench) -> (Vec<f64>, String) {
    let (tx, mut times) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let task = tokio::spawn(bare_loop(bench.url.clone(), tx, stop.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut feed = feed(bench).await;
    let mut latencies = Vec::with_capacity(SAMPLES);
    let mut slowest = (0.0, String::new());
    for _ in 0..SAMPLES {
        let before = Instant::now();
        let run = bench.submit_watched("x").await.as_uuid();
        let committed = Instant::now();
        let seen = first_change(&mut feed, run).await;
        let ms = seen.map_or(GIVE_UP.as_secs_f64() * 1e3, |seen| {
            (seen - committed).as_secs_f64() * 1e3
        });
        latencies.push(ms);
        let bare = loop {
            match tokio::time::timeout(GIVE_UP, times.recv()).await {
                Ok(Some(t)) if t.id == run => break Some(t),
                Ok(Some(_)) => {}
                _ => break None,
            }
        };
        if ms > slowest.0 {
            let parts = bare.map_or_else(
                || "the bare loop never wrote".to_owned(),
                |t: BareTimes| {
                    let span = |a: Instant, b: Instant| {
                        b.saturating_duration_since(a).as_secs_f64() * 1e3
                    };
                    format!(
                        "total_ms={ms:.2} submit_commit_ms={:.2} notify_ms={:.2} claim_ms={:.2} write_ms={:.2} feed_ms={:.2}",
                        span(before, committed),
                        span(committed, t.heard),
                        span(t.heard, t.claimed),
                        span(t.claimed, t.written),
                        seen.map_or(f64::NAN, |seen| span(t.written, seen)),
                    )
                },
            );
            slowest = (ms, parts);
        }
        sqlx::query(
            "update runs set phase = 'done', status = 'cancelled', lease_owner = null,
                 lease_token = null, lease_expires_at = null where id = $1",
        )
        .bind(run)
        .execute(&bench.pool)
        .await
        .expect("end bare run");
    }
    stop.cancel();
    task.await.expect("bare loop");
    (latencies, slowest.1)
}

/// The baseline: `LISTEN antpath_runs`; on each notification claim the oldest due run with one
/// `UPDATE … FOR UPDATE SKIP LOCKED` and write to it once, fenced by the new token.
async fn bare_loop(url: String, tx: mpsc::UnboundedSender<BareTimes>, stop: CancellationToken) {
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .expect("connect");
    let mut listener = PgListener::connect(&url).await.expect("listener");
    listener.listen("antpath_runs").await.expect("listen");
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            heard = listener.recv() => { heard.expect("notification"); }
        }
        let heard = Instant::now();
        let claimed: Option<(Uuid, Uuid)> = sqlx::query_as(
            "update runs set lease_owner = 'bare', lease_token = gen_random_uuid(),
                 lease_expires_at = now() + interval '30 seconds'
             where id = (select id from runs
                         where phase <> 'done' and next_check_at <= now()
                           and (lease_expires_at is null or lease_expires_at <= now())
                         order by priority desc, next_check_at limit 1
                         for update skip locked)
             returning id, lease_token",
        )
        .fetch_optional(&pool)
        .await
        .expect("bare claim");
        let Some((id, token)) = claimed else { continue };
        let claimed = Instant::now();
        sqlx::query(
            "update runs set attempt_count = attempt_count + 1, status = 'provisioning',
                 updated_at = now()
             where id = $1 and lease_token = $2",
        )
        .bind(id)
        .bind(token)
        .execute(&pool)
        .await
        .expect("bare write");
        let written = Instant::now();
        let _ = tx.send(BareTimes {
            id,
            heard,
            claimed,
            written,
        });
    }
}

async fn measure_worker(bench: &Bench) -> Vec<f64> {
    let mut feed = feed(bench).await;
    let mut latencies = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let run = bench
            .submit_watched("antpath-sim: scenario=forever")
            .await
            .as_uuid();
        let committed = Instant::now();
        let seen = first_change(&mut feed, run).await;
        latencies.push(seen.map_or(GIVE_UP.as_secs_f64() * 1e3, |seen| {
            (seen - committed).as_secs_f64() * 1e3
        }));
        // End the run before the next sample, so one sample's cleanup never overlaps the next.
        sqlx::query("update runs set cancel_requested_at = now() where id = $1")
            .bind(run)
            .execute(&bench.pool)
            .await
            .expect("cancel");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let phase: String = sqlx::query_scalar("select phase from runs where id = $1")
                .bind(run)
                .fetch_one(&bench.pool)
                .await
                .expect("phase");
            if phase == "done" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    latencies
}

/// How late the runtime wakes a 1 ms sleep: the worst lateness since the last reset.
struct Probe {
    worst_us: Arc<AtomicU64>,
}

impl Probe {
    fn start() -> Self {
        let worst_us = Arc::new(AtomicU64::new(0));
        let worst = Arc::clone(&worst_us);
        tokio::spawn(async move {
            loop {
                let asked = Instant::now();
                tokio::time::sleep(Duration::from_millis(1)).await;
                let late = asked.elapsed().saturating_sub(Duration::from_millis(1));
                worst.fetch_max(
                    u64::try_from(late.as_micros()).unwrap_or(u64::MAX),
                    Ordering::Relaxed,
                );
            }
        });
        Self { worst_us }
    }

    /// The worst lateness so far in milliseconds; starts again from zero.
    fn reset(&self) -> f64 {
        self.worst_us.swap(0, Ordering::Relaxed) as f64 / 1e3
    }
}
