//! Load benchmark of the bff against real Postgres (no criterion; `harness = false`).
//!
//! Run with `cargo bench -p antpath-bff --bench load` (a release build). It creates a scratch
//! database `antpath_bench_<pid>` on the server of `DATABASE_URL`, migrates it, serves the bff
//! in-process on a pre-bound port, and drives it over HTTP with 1, 16 and 64 concurrent clients:
//! `POST /v1/runs` and authenticated `GET /v1/runs/{id}`, reporting requests per second and
//! p50/p99 latency. It also reports Postgres transactions per submission, read from
//! `pg_stat_database.xact_commit` around a sequential batch after all server connections are
//! closed (a backend flushes its statistics when it exits). A finisher task marks queued runs
//! succeeded every 100 ms, standing in for workers, so active-run quotas stay meaningful.
//! Results go to standard output; copy them into `docs/benchmarks.md`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use antpath_bff::admin::{self, NewApiToken, NewUser};
use antpath_config::Settings;
use antpath_redact::Secret;
use serde_json::{Value, json};
use sqlx::{Connection as _, PgConnection, PgPool};

/// How long each measured phase runs.
const PHASE: Duration = Duration::from_secs(5);
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

async fn run(url: &str) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let settings = settings(url, dir.path())?;
    let setup = pool(&settings)?;
    antpath_db::migrate(&setup).await?;
    let workspace = admin::create_workspace(&setup, &settings.limits, "bench").await?;
    let user = admin::create_user(
        &setup,
        NewUser {
            email: "bench@example.com",
            membership: Some((workspace, antpath_types::Role::Owner)),
            password: None,
        },
    )
    .await?;
    let scopes = vec!["runs:read".to_owned(), "runs:write".to_owned()];
    let (_, token) = admin::create_token(
        &setup,
        &antpath_bff::pepper::Peppers::single(Secret::new(PEPPER.into())),
        NewApiToken {
            workspace,
            user,
            name: "bench",
            scopes,
        },
    )
    .await?;
    let token = Arc::new(token.into_exposed());
    let body = Arc::new(submission().to_string());
    let finisher = tokio::spawn({
        let setup = setup.clone();
        async move {
            loop {
                let _ = sqlx::query("update runs set status = 'succeeded' where status = 'queued'")
                    .execute(&setup)
                    .await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = antpath_bff::start(&settings, pool(&settings)?, listener).await?;
    let base = Arc::new(server.base_url());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    let probe: Value = client
        .post(format!("{base}/v1/runs"))
        .bearer_auth(&*token)
        .header("content-type", "application/json")
        .body((*body).clone())
        .send()
        .await?
        .json()
        .await?;
    let run_id = Arc::new(probe["id"].as_str().unwrap_or_default().to_owned());

    println!("| operation | clients | requests/s | p50 ms | p99 ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    for clients in [1usize, 16, 64] {
        for op in ["submit", "get"] {
            let started = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..clients {
                let (client, base, token, body, run_id) = (
                    client.clone(),
                    base.clone(),
                    token.clone(),
                    body.clone(),
                    run_id.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut errors = 0u64;
                    while started.elapsed() < PHASE {
                        let sent = Instant::now();
                        let request = if op == "submit" {
                            client
                                .post(format!("{base}/v1/runs"))
                                .header("content-type", "application/json")
                                .body((*body).clone())
                        } else {
                            client.get(format!("{base}/v1/runs/{run_id}"))
                        };
                        match request.bearer_auth(&*token).send().await {
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
            println!(
                "| {op} | {clients} | {:.0} | {:.2} | {:.2} | {errors} |",
                all.len() as f64 / wall,
                pct(0.5),
                pct(0.99)
            );
        }
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
            .bearer_auth(&*token)
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
        "\nPostgres transactions per submission: {:.2} ({measured} commits for {XACT_BATCH} submissions)",
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
