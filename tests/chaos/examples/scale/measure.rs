//! What the scale proof measures and prints: client-side submission latencies and failures,
//! Postgres transactions, connections, dead tuples and table size, time-to-start per
//! workspace, throughput, and the invariants.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use antpath_chaos::checks::Check;
use antpath_chaos::database::{TestDatabase, server_url};
use antpath_chaos::facts::Facts;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row as _};

/// Client-side counters of the API traffic through nginx.
#[derive(Debug, Default)]
pub struct Load {
    inner: std::sync::Mutex<LoadSnapshot>,
}

/// A copy of the counters.
#[derive(Debug, Clone, Default)]
pub struct LoadSnapshot {
    /// Submission latencies in milliseconds (SDK retries included), successful or not.
    pub submit_ms: Vec<f64>,
    /// Submissions that failed after the SDK's retries.
    pub submit_failed: usize,
    /// Reads made.
    pub reads: usize,
    /// Reads that failed after the SDK's retries.
    pub read_failed: usize,
}

impl LoadSnapshot {
    /// What happened between `earlier` and this snapshot.
    pub fn since(&self, earlier: &LoadSnapshot) -> LoadSnapshot {
        LoadSnapshot {
            submit_ms: self.submit_ms[earlier.submit_ms.len().min(self.submit_ms.len())..].to_vec(),
            submit_failed: self.submit_failed - earlier.submit_failed,
            reads: self.reads - earlier.reads,
            read_failed: self.read_failed - earlier.read_failed,
        }
    }
}

impl Load {
    /// Records one submission.
    pub fn submitted(&self, took: Duration, ok: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.submit_ms.push(took.as_secs_f64() * 1000.0);
        inner.submit_failed += usize::from(!ok);
    }

    /// Records one read.
    pub fn read(&self, ok: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.reads += 1;
        inner.read_failed += usize::from(!ok);
    }

    /// The counters now.
    pub fn snapshot(&self) -> LoadSnapshot {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Samples the server's view of the database while the stack works.
#[derive(Debug)]
pub struct Sampler {
    server: PgPool,
    xact_before: i64,
    own: Arc<AtomicU64>,
    peaks: Arc<std::sync::Mutex<Peaks>>,
    task: tokio::task::JoinHandle<()>,
}

/// The largest values seen.
#[derive(Debug, Clone, Default)]
pub struct Peaks {
    /// Connections of the services to the database, all at once.
    pub connections: i64,
    /// The same, per kind of service (`bff`, `worker`, `sweeper`), summed over replicas.
    pub by_service: BTreeMap<String, i64>,
    /// `n_dead_tup` of `runs`.
    pub dead_tuples: i64,
}

/// The database figures at the end.
#[derive(Debug, Clone, Default)]
pub struct PgFigures {
    /// Commits in the run's database while the stack worked, the harness's own subtracted.
    pub xacts: i64,
    /// The peaks.
    pub peaks: Peaks,
    /// `runs`: live tuples, dead tuples, autovacuum passes, total size, heap size.
    pub runs_table: (i64, i64, i64, i64, i64),
}

impl Sampler {
    /// Reads the starting commit count and samples connections every second (from the
    /// server's `postgres` database, so the sampling does not count as the run's commits).
    pub async fn start(db: &TestDatabase) -> anyhow::Result<Self> {
        let server = PgPoolOptions::new()
            .max_connections(1)
            .connect(&format!("{}/postgres", server_url()))
            .await?;
        let xact_before = xact_commit(&server, db.name()).await?;
        let own = Arc::new(AtomicU64::new(0));
        let peaks = Arc::new(std::sync::Mutex::new(Peaks::default()));
        let task = tokio::spawn(sample(
            server.clone(),
            db.pool.clone(),
            db.name().to_owned(),
            Arc::clone(&own),
            Arc::clone(&peaks),
        ));
        Ok(Self {
            server,
            xact_before,
            own,
            peaks,
            task,
        })
    }

    /// Counts one query the harness made on the run's database (subtracted from the commits).
    pub fn count_own_query(&self) {
        self.own.fetch_add(1, Ordering::Relaxed);
    }

    /// Stops sampling; reads the commits (after the backends flushed their statistics) and
    /// the state of `runs`.
    pub async fn finish(self, db: &TestDatabase) -> anyhow::Result<PgFigures> {
        self.task.abort();
        // An idle backend flushes its statistics within 10 s; the services are stopped.
        tokio::time::sleep(Duration::from_secs(11)).await;
        let after = xact_commit(&self.server, db.name()).await?;
        let own = i64::try_from(self.own.load(Ordering::Relaxed)).unwrap_or(0);
        let row = sqlx::query(
            "select n_live_tup, n_dead_tup, autovacuum_count,
                    pg_total_relation_size('runs') as total, pg_relation_size('runs') as heap
             from pg_stat_user_tables where relname = 'runs'",
        )
        .fetch_one(&db.pool)
        .await?;
        let peaks = self.peaks.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(PgFigures {
            xacts: after - self.xact_before - own,
            peaks,
            runs_table: (
                row.try_get("n_live_tup")?,
                row.try_get("n_dead_tup")?,
                row.try_get("autovacuum_count")?,
                row.try_get("total")?,
                row.try_get("heap")?,
            ),
        })
    }
}

async fn xact_commit(server: &PgPool, name: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("select xact_commit from pg_stat_database where datname = $1")
            .bind(name)
            .fetch_one(server)
            .await?,
    )
}

async fn sample(
    server: PgPool,
    run_db: PgPool,
    name: String,
    own: Arc<AtomicU64>,
    peaks: Arc<std::sync::Mutex<Peaks>>,
) {
    let mut tick = 0u64;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        tick += 1;
        let rows = sqlx::query(
            "select application_name, count(*) as n from pg_stat_activity
             where datname = $1 and application_name like 'scale-%' group by 1",
        )
        .bind(&name)
        .fetch_all(&server)
        .await
        .unwrap_or_default();
        let mut by: BTreeMap<String, i64> = BTreeMap::new();
        for row in &rows {
            let app: String = row.try_get("application_name").unwrap_or_default();
            let kind = app
                .trim_start_matches("scale-")
                .split('-')
                .next()
                .unwrap_or_default()
                .to_owned();
            *by.entry(kind).or_default() += row.try_get::<i64, _>("n").unwrap_or(0);
        }
        let dead = if tick.is_multiple_of(5) {
            own.fetch_add(1, Ordering::Relaxed);
            sqlx::query_scalar::<_, i64>(
                "select n_dead_tup from pg_stat_user_tables where relname = 'runs'",
            )
            .fetch_one(&run_db)
            .await
            .ok()
        } else {
            None
        };
        let mut p = peaks.lock().unwrap_or_else(|e| e.into_inner());
        p.connections = p.connections.max(by.values().sum());
        for (kind, n) in by {
            let peak = p.by_service.entry(kind).or_default();
            *peak = (*peak).max(n);
        }
        if let Some(dead) = dead {
            p.dead_tuples = p.dead_tuples.max(dead);
        }
    }
}

/// Per run: its workspace, seconds from submission to its first attempt, and its submission
/// and end times (epoch seconds).
#[derive(Debug, Clone, Default)]
pub struct Timing {
    /// `(workspace, to_start, created, ended)`.
    pub runs: Vec<(String, Option<f64>, f64, Option<f64>)>,
}

/// Reads [`Timing`] from the database.
pub async fn timing(pool: &PgPool) -> anyhow::Result<Timing> {
    let rows = sqlx::query(
        "select r.workspace_id::text as ws,
                extract(epoch from (select min(a.started_at) from run_attempts a
                                    where a.run_id = r.id) - r.created_at)::float8 as to_start,
                extract(epoch from r.created_at)::float8 as created,
                extract(epoch from r.ended_at)::float8 as ended
         from runs r",
    )
    .fetch_all(pool)
    .await?;
    let runs = rows
        .iter()
        .map(|row| {
            Ok((
                row.try_get("ws")?,
                row.try_get("to_start")?,
                row.try_get("created")?,
                row.try_get("ended")?,
            ))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Timing { runs })
}

/// No session was prompted twice: successful `POST /v1/sessions/{id}/events` per session in
/// the simulator's call log (which keeps the latest 20,000 calls; a longer run checks the
/// part it kept, and says so in the report).
pub fn double_prompts(facts: &Facts) -> Check {
    let mut sends: HashMap<&str, usize> = HashMap::new();
    for call in &facts.sim_calls {
        let path = call["path"].as_str().unwrap_or_default();
        let ok = call["status"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s));
        if call["method"] == "POST"
            && ok
            && let Some(session) = path
                .strip_prefix("/v1/sessions/")
                .and_then(|rest| rest.strip_suffix("/events"))
        {
            *sends.entry(session).or_default() += 1;
        }
    }
    Check::from_offenders(
        "no session was sent its prompt twice (simulator call log)",
        sends
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(s, n)| format!("{s}: {n} prompts"))
            .collect(),
    )
}

/// Everything the report prints.
#[derive(Debug)]
pub struct Report {
    pub runs: usize,
    pub workspaces: usize,
    pub workers: usize,
    pub worker_concurrency: usize,
    pub latency_ms: u64,
    pub latency_jitter_ms: u64,
    pub big_keys: usize,
    pub submit_rate: f64,
    pub submit_secs: f64,
    pub settle_secs: f64,
    pub wall_secs: f64,
    pub load: LoadSnapshot,
    pub deploy: Vec<(String, Duration, LoadSnapshot)>,
    pub timing: Timing,
    pub pg: PgFigures,
    pub invariants: Vec<Check>,
    pub provider_calls: usize,
    pub throttled: usize,
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let at = ((v.len() - 1) as f64 * p).round() as usize;
    v[at.min(v.len() - 1)]
}

/// The report as Markdown tables.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let mut row = |label: &str, value: String| {
        let _ = writeln!(out, "| {label} | {value} |");
    };
    let ok = r.load.submit_ms.len() - r.load.submit_failed;
    row(
        "setting",
        format!(
            "{} runs, {} workspaces (one submits half, over {} provider keys), 2 bff behind nginx, {} workers × {}, sim latency {}–{} ms, offered {} submissions/s",
            r.runs,
            r.workspaces,
            r.big_keys,
            r.workers,
            r.worker_concurrency,
            r.latency_ms,
            r.latency_ms + r.latency_jitter_ms,
            r.submit_rate
        ),
    );
    row(
        "submissions through nginx",
        format!(
            "{ok} in {:.1} s = {:.1}/s; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            r.submit_secs,
            ok as f64 / r.submit_secs.max(0.001),
            percentile(&r.load.submit_ms, 0.5),
            percentile(&r.load.submit_ms, 0.99),
            percentile(&r.load.submit_ms, 1.0)
        ),
    );
    row(
        "failed requests (after the SDK's retries)",
        format!(
            "{} of {} submissions, {} of {} reads",
            r.load.submit_failed,
            r.load.submit_ms.len(),
            r.load.read_failed,
            r.load.reads
        ),
    );
    for (what, took, during) in &r.deploy {
        row(
            &format!("rolling restart: {what}"),
            format!(
                "{:.1} s; meanwhile {} submissions ({} failed, p99 {:.0} ms), {} reads ({} failed)",
                took.as_secs_f64(),
                during.submit_ms.len(),
                during.submit_failed,
                percentile(&during.submit_ms, 0.99),
                during.reads,
                during.read_failed
            ),
        );
    }
    let ended: Vec<f64> = r.timing.runs.iter().filter_map(|t| t.3).collect();
    let first = r
        .timing
        .runs
        .iter()
        .map(|t| t.2)
        .fold(f64::INFINITY, f64::min);
    let last = ended.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (p10, p90) = (percentile(&ended, 0.1), percentile(&ended, 0.9));
    row(
        "runs completed per minute",
        format!(
            "{} ended; {:.0}/min from first submission to last end ({:.1} min), {:.0}/min between the 10th and 90th percentile of ends",
            ended.len(),
            ended.len() as f64 / ((last - first) / 60.0).max(1e-9),
            (last - first) / 60.0,
            0.8 * ended.len() as f64 / ((p90 - p10) / 60.0).max(1e-9)
        ),
    );
    let mut per_ws: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (ws, to_start, _, _) in &r.timing.runs {
        per_ws
            .entry(ws.as_str())
            .or_default()
            .extend(to_start.iter().copied());
    }
    let big = per_ws
        .iter()
        .max_by_key(|(_, v)| v.len())
        .map(|(ws, _)| *ws)
        .unwrap_or_default();
    let big_times = per_ws.get(big).cloned().unwrap_or_default();
    let small_times: Vec<f64> = per_ws
        .iter()
        .filter(|(ws, _)| **ws != big)
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    let small_medians: Vec<f64> = per_ws
        .iter()
        .filter(|(ws, _)| **ws != big)
        .map(|(_, v)| percentile(v, 0.5))
        .collect();
    row(
        "time to start (submission → first attempt), big workspace",
        format!(
            "{} runs: median {:.2} s, p90 {:.2} s",
            big_times.len(),
            percentile(&big_times, 0.5),
            percentile(&big_times, 0.9)
        ),
    );
    row(
        "time to start, the other workspaces",
        format!(
            "{} runs: median {:.2} s, p90 {:.2} s; worst workspace median {:.2} s",
            small_times.len(),
            percentile(&small_times, 0.5),
            percentile(&small_times, 0.9),
            percentile(&small_medians, 1.0)
        ),
    );
    row(
        "Postgres transactions per run",
        format!(
            "{:.1} ({} commits / {} runs)",
            r.pg.xacts as f64 / r.runs.max(1) as f64,
            r.pg.xacts,
            r.runs
        ),
    );
    let services: Vec<String> =
        r.pg.peaks
            .by_service
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
    row(
        "database connections (max sampled, 1 s)",
        format!(
            "{} in all; per kind: {}",
            r.pg.peaks.connections,
            services.join(", ")
        ),
    );
    let (live, dead, autovacuums, total, heap) = r.pg.runs_table;
    row(
        "`runs` afterwards",
        format!(
            "{live} live, {dead} dead tuples (max sampled {}), {autovacuums} autovacuum passes; {:.1} MiB in all, heap {:.1} MiB",
            r.pg.peaks.dead_tuples,
            total as f64 / 1_048_576.0,
            heap as f64 / 1_048_576.0
        ),
    );
    row(
        "provider calls (simulator)",
        format!(
            "{} logged, {} of them answered 429",
            r.provider_calls, r.throttled
        ),
    );
    row(
        "wall time",
        format!(
            "{:.1} min (submissions {:.1} s, all settled at {:.1} s)",
            r.wall_secs / 60.0,
            r.submit_secs,
            r.settle_secs
        ),
    );
    let mut text = format!("| figure | value |\n| --- | --- |\n{out}");
    let _ = writeln!(text, "\n| invariant | offenders |\n| --- | ---: |");
    for check in &r.invariants {
        let mark = if check.holds() { "" } else { " ✗" };
        let _ = writeln!(text, "| {} | {}{mark} |", check.name, check.bad);
    }
    for check in r.invariants.iter().filter(|c| !c.holds()) {
        let _ = writeln!(text, "\n{} — e.g.:", check.name);
        for example in &check.examples {
            let _ = writeln!(text, "  - {example}");
        }
    }
    text
}
