//! Load benchmark of the bff against real Postgres (no criterion; `harness = false`).
//!
//! Run with `cargo bench -p antpath-bff --bench load` (a release build); `scripts/bench` runs it
//! with the other benchmarks. It creates a scratch database `antpath_bench_<pid>` on the server
//! of `DATABASE_URL`, migrates it, serves the bff in-process on a pre-bound port and drives it
//! over HTTP. Each of `BENCH_REPS` repetitions (default 3) measures, in this order:
//! - the baseline: `pgbench` single-row inserts at 64 clients into a scratch table of the same
//!   server (a custom script, `-T 10`), the ceiling of what any submission path could commit;
//! - `POST /v1/runs` at 64 clients all in **one workspace** (one token), the worst case for
//!   the per-workspace lock and rate-limit bucket;
//! - `POST /v1/runs` at 64 clients spread over **16 workspaces** (four clients each);
//! - an authenticated `GET /v1/runs/{id}` at 64 clients;
//!
//! each a [`PHASE`] of clients looping back to back, reporting requests per second and
//! p50/p99 latency, then min/median/max over the repetitions. Postgres transactions per
//! submission are read from `pg_stat_database.xact_commit` around a sequential batch after all
//! server connections are closed (a backend flushes its statistics when it exits). A finisher
//! task ends queued runs (`succeeded`, phase `done`) every 100 ms, standing in for workers, so active-run quotas
//! stay meaningful. Lines start with `bff`; `scripts/bench-report` reads the `summary` ones.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use antpath_bff::admin::{self, NewApiToken, NewUser};
use antpath_config::Settings;
use antpath_redact::Secret;
use serde_json::{Value, json};
use sqlx::{Connection as _, PgConnection, PgPool};

/// The allocator of the deployed binaries (mimalloc), so the figures are of what runs in
/// production, not of glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long each measured phase runs.
const PHASE: Duration = Duration::from_secs(5);
/// Concurrent clients of every measured phase.
const CLIENTS: usize = 64;
/// Workspaces of the spread phase.
const WORKSPACES: usize = 16;
/// Submissions in the sequential batch that measures transactions per submission.
const XACT_BATCH: u64 = 200;
/// The token pepper of the scratch deployment.
const PEPPER: &str = "bench-pepper-0123456789abcdef0123456789abcdef";

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let admin_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/antpath_dev".into());
    let db_name = format!("antpath_bench_{}", std::process::id());
    let base_url = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(b, _)| b)
        .to_owned();
    let bench_url = format!("{base_url}/{db_name}");
    let mut admin_conn = PgConnection::connect(&admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "create database \"{db_name}\""
    )))
    .execute(&mut admin_conn)
    .await?;
    let result = run(&bench_url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database \"{db_name}\" with (force)"
    )))
    .execute(&mut admin_conn)
    .await?;
    result
}

fn settings(url: &str, dir: &std::path::Path) -> anyhow::Result<Settings> {
    let env = [
        ("ANTPATH_DATABASE__URL", url.to_owned()),
        ("ANTPATH_DATABASE__MAX_CONNECTIONS", "20".into()),
        ("ANTPATH_BFF__TOKEN_PEPPER", PEPPER.into()),
        ("ANTPATH_ENCRYPTION__ACTIVE_KEY_ID", "k1".into()),
        (
            "ANTPATH_ENCRYPTION__KEYS__K1",
            "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=".into(),
        ),
        ("ANTPATH_STORAGE__LOCAL_DIR", dir.display().to_string()),
        (
            "ANTPATH_STORAGE__SIGNING_KEY",
            "bench-signing-key-0123456789abcdef012345".into(),
        ),
        ("ANTPATH_LIMITS__SUBMIT_PER_MINUTE", "100000000".into()),
        (
            "ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_WORKSPACE",
            "1000".into(),
        ),
        ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_TOKEN", "1000".into()),
    ];
    let settings = Settings::load_from(None, env.into_iter().map(|(k, v)| (k.to_owned(), v)))?;
    settings.validate(antpath_config::Role::Bff)?;
    Ok(settings)
}

fn pool(settings: &Settings) -> anyhow::Result<PgPool> {
    Ok(antpath_db::connect(&antpath_db::PoolSettings {
        url: settings
            .database
            .url
            .as_ref()
            .map(|u| u.expose_secret().clone())
            .unwrap_or_default(),
        max_connections: settings.database.max_connections,
        statement_timeout: Duration::from_secs(15),
        acquire_timeout: Duration::from_secs(5),
    })?)
}

fn submission() -> Value {
    let template: Value = serde_json::from_str(include_str!(
        "../../../tests/vectors/templates/quickstart.json"
    ))
    .expect("vector");
    json!({
        "template": template,
        "variables": {"topic": "tide pools"},
        "secrets": {"anthropic": {"apiKey": "sk-ant-api03-bench"}, "mcpServers": {"docs": {"bearerToken": "b"}}},
        "limits": {"maxDurationSeconds": 300}
    })
}

/// A workspace of the bench with its token.
struct Tenant {
    token: String,
}

async fn tenant(setup: &PgPool, settings: &Settings, n: usize) -> anyhow::Result<Tenant> {
    let name = format!("bench-{n}");
    let workspace = admin::create_workspace(setup, &settings.limits, &name).await?;
    let email = format!("bench-{n}@example.com");
    let user = admin::create_user(
        setup,
        NewUser {
            email: &email,
            membership: Some((workspace, antpath_types::Role::Owner)),
            password: None,
        },
    )
    .await?;
    let (_, token) = admin::create_token(
        setup,
        &antpath_bff::pepper::Peppers::single(Secret::new(PEPPER.into())),
        NewApiToken {
            workspace,
            user,
            name: "bench",
            scopes: vec!["runs:read".to_owned(), "runs:write".to_owned()],
        },
    )
    .await?;
    Ok(Tenant {
        token: token.into_exposed(),
    })
}

/// Builds one request of a phase against the base URL (the token is added by the phase).
type MakeRequest = Arc<dyn Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder + Send + Sync>;

/// What one phase measured.
struct Phase {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

/// `CLIENTS` clients looping for [`PHASE`]; client `i` uses `tokens[i % tokens.len()]`.
async fn phase(
    client: &reqwest::Client,
    base: &str,
    tokens: &[String],
    request: MakeRequest,
) -> anyhow::Result<Phase> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let (client, base, token, request) = (
            client.clone(),
            base.to_owned(),
            tokens[i % tokens.len()].clone(),
            Arc::clone(&request),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while started.elapsed() < PHASE {
                let sent = Instant::now();
                match request(&client, &base).bearer_auth(&token).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(sent.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, e) = task.await?;
        all.extend(latencies);
        errors += e;
    }
    let wall = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(Phase {
        per_second: all.len() as f64 / wall,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        errors,
    })
}

/// `pgbench` at [`CLIENTS`] clients committing one single-row insert per transaction into a
/// scratch table of the bench database: TPS without the initial connection time.
fn pgbench_inserts(url: &str, dir: &std::path::Path) -> anyhow::Result<f64> {
    let script = dir.join("insert.sql");
    std::fs::write(
        &script,
        format!(
            "\\set ws random(1, {WORKSPACES})\n\
             insert into bench_inserts (workspace, payload) values (:ws, repeat('x', 200));\n"
        ),
    )?;
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            &CLIENTS.to_string(),
            "-j",
            "2",
            "-T",
            "10",
            "-f",
        ])
        .arg(&script)
        .arg(url)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "pgbench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("tps = ")?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .ok_or_else(|| anyhow::anyhow!("pgbench printed no tps line"))
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// Records `value` under `name` for the summary.
fn record(figures: &mut Vec<(String, Vec<f64>)>, name: &str, value: f64) {
    match figures.iter_mut().find(|(n, _)| n == name) {
        Some((_, values)) => values.push(value),
        None => figures.push((name.to_owned(), vec![value])),
    }
}

async fn run(url: &str) -> anyhow::Result<()> {
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir()?;
    let settings = settings(url, dir.path())?;
    let setup = pool(&settings)?;
    antpath_db::migrate(&setup).await?;
    sqlx::raw_sql(
        "create table bench_inserts (id bigserial primary key, workspace int not null,
                                     payload text not null, at timestamptz default now())",
    )
    .execute(&setup)
    .await?;
    let mut tokens = Vec::new();
    for n in 0..WORKSPACES {
        tokens.push(tenant(&setup, &settings, n).await?.token);
    }
    let body = Arc::new(submission().to_string());
    let finisher = tokio::spawn({
        let setup = setup.clone();
        async move {
            loop {
                // Through the claim's partial index (`phase <> 'done'`), as a worker's end
                // leaves a run: a scan of the whole table every 100 ms would cost Postgres
                // more than the submissions it stands beside.
                let _ = sqlx::query(
                    "update runs set status = 'succeeded', phase = 'done', ended_at = now()
                     where phase <> 'done' and status = 'queued'",
                )
                .execute(&setup)
                .await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = antpath_bff::start(&settings, pool(&settings)?, listener).await?;
    let base = server.base_url();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(2 * CLIENTS)
        .build()?;
    let probe: Value = client
        .post(format!("{base}/v1/runs"))
        .bearer_auth(&tokens[0])
        .header("content-type", "application/json")
        .body((*body).clone())
        .send()
        .await?
        .json()
        .await?;
    let run_id = probe["id"].as_str().unwrap_or_default().to_owned();
    let submit: MakeRequest = {
        let body = Arc::clone(&body);
        Arc::new(move |client, base| {
            client
                .post(format!("{base}/v1/runs"))
                .header("content-type", "application/json")
                .body((*body).clone())
        })
    };
    let get: MakeRequest =
        Arc::new(move |client, base| client.get(format!("{base}/v1/runs/{run_id}")));

    let mut figures = Vec::new();
    for rep in 1..=reps {
        println!("bff rep={rep} load={}", load());
        let pgbench = pgbench_inserts(url, dir.path())?;
        println!("bff rep={rep} baseline pgbench_insert_c{CLIENTS}_tps={pgbench:.0}");
        record(&mut figures, "pgbench single-row insert c64 tps", pgbench);
        let one = &tokens[..1];
        for (name, tokens, request) in [
            ("submit one workspace", one, &submit),
            ("submit 16 workspaces", &tokens[..], &submit),
            ("get", one, &get),
        ] {
            let measured = phase(&client, &base, tokens, Arc::clone(request)).await?;
            println!(
                "bff rep={rep} {name} c{CLIENTS} per_s={:.0} p50_ms={:.2} p99_ms={:.2} errors={} x_pgbench={:.2}",
                measured.per_second,
                measured.p50_ms,
                measured.p99_ms,
                measured.errors,
                measured.per_second / pgbench
            );
            record(&mut figures, &format!("{name} per s"), measured.per_second);
            record(&mut figures, &format!("{name} p50 ms"), measured.p50_ms);
            record(&mut figures, &format!("{name} p99 ms"), measured.p99_ms);
            record(
                &mut figures,
                &format!("{name} x pgbench"),
                measured.per_second / pgbench,
            );
        }
    }
    for (name, values) in &figures {
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "bff summary {name} min/median/max={:.2}/{:.2}/{:.2}",
            sorted[0],
            sorted[sorted.len() / 2],
            sorted[sorted.len() - 1]
        );
    }
    server.shutdown().await?;

    // Transactions per submission: a fresh server, a sequential batch, then every server
    // connection closed so its statistics are flushed.
    let bench_pool = pool(&settings)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = antpath_bff::start(&settings, bench_pool.clone(), listener).await?;
    let base = server.base_url();
    finisher.abort();
    setup.close().await;
    let before = settled_commits(url).await?;
    for _ in 0..XACT_BATCH {
        client
            .post(format!("{base}/v1/runs"))
            .bearer_auth(&tokens[0])
            .header("content-type", "application/json")
            .body((*body).clone())
            .send()
            .await?
            .error_for_status()?;
    }
    server.shutdown().await?;
    bench_pool.close().await;
    let after = settled_commits(url).await?;
    // Each reading is one transaction of its own; the readings of the settle loop cancel out.
    let measured = after.saturating_sub(before);
    println!(
        "bff summary transactions per submission min/median/max={0:.2}/{0:.2}/{0:.2}",
        measured as f64 / XACT_BATCH as f64
    );
    Ok(())
}

/// Reads `xact_commit` until two readings 200 ms apart differ only by the readings themselves,
/// so every closed connection has flushed its statistics.
async fn settled_commits(url: &str) -> anyhow::Result<u64> {
    let mut last = xact_commits(url).await?;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = xact_commits(url).await?;
        if now <= last + 1 {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}

async fn xact_commits(url: &str) -> anyhow::Result<u64> {
    let mut conn = PgConnection::connect(url).await?;
    let commits: i64 = sqlx::query_scalar(
        "select xact_commit from pg_stat_database where datname = current_database()",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(u64::try_from(commits).unwrap_or(0))
}
