//! Memory benchmark of the run streams: 1,000 concurrent `GET /v1/runs/{id}/stream` on one
//! real `antpath-bff` process, against the same number of idle keep-alive connections.
//!
//! ```text
//! cargo build -p antpath-bff --bin antpath-bff --example sse_streams [--release]
//! target/<profile>/examples/sse_streams [STREAMS]
//! ```
//!
//! It creates a scratch database `antpath_sse_bench_<pid>` on the server of `DATABASE_URL`,
//! migrates it, creates a workspace and token, and runs three scenarios, each on a fresh
//! `antpath-bff` process (the binary built next to this example, or `ANTPATH_BFF_BIN`) so
//! that memory freed by one cannot hide the cost of the next. Each reads the process's
//! `VmRSS` from `/proc/<pid>/status` when idle after a warm-up (a few requests, one stream
//! opened and closed), then with `STREAMS` connections open:
//!
//! 1. the baseline: `STREAMS` idle HTTP/1.1 keep-alive connections, each having made one
//!    `GET /healthz`;
//! 2. `STREAMS` streams on **one** run, each having received its first `run` message; then
//!    10 events and the run's end are written to the database, and every stream must receive
//!    all 10 events and `end` (checked, not timed);
//! 3. `STREAMS` streams on `STREAMS` **different** runs (one feed topic each), the same way.
//!
//! `VmHWM` (the peak) is reported at the end of each scenario.
//! Clients are raw TCP sockets in this process, so their memory is not counted. Everything
//! it starts is stopped at the end, and the scratch database dropped.

use std::process::Stdio;
use std::time::{Duration, Instant};

use antpath_bff::admin::{self, NewApiToken, NewUser};
use antpath_types::{AttemptId, RunId, WorkspaceId};
use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use sqlx::{Connection as _, PgConnection, PgPool};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The token pepper of the scratch deployment.
const PEPPER: &str = "bench-pepper-0123456789abcdef0123456789abcdef";
/// Events written to each run once its streams are open.
const EVENTS: u32 = 10;
/// The longest any phase may take before the bench gives up.
const PHASE_LIMIT: Duration = Duration::from_secs(120);

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let streams: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()
        .context("STREAMS must be a number")?
        .unwrap_or(1000);
    let admin_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db_name = format!("antpath_sse_bench_{}", std::process::id());
    let server = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(b, _)| b)
        .to_owned();
    let url = format!("{server}/{db_name}");
    let mut admin_conn = PgConnection::connect(&admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "create database \"{db_name}\""
    )))
    .execute(&mut admin_conn)
    .await?;
    let result = tokio::time::timeout(PHASE_LIMIT * 5, run(&url, streams)).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database \"{db_name}\" with (force)"
    )))
    .execute(&mut admin_conn)
    .await?;
    result.context("the bench took too long")?
}

/// The environment of the bff process (and of the settings the setup uses).
fn environment(url: &str, dir: &std::path::Path, port: u16) -> Vec<(String, String)> {
    [
        ("ANTPATH_DATABASE__URL", url.to_owned()),
        ("ANTPATH_DATABASE__MAX_CONNECTIONS", "10".into()),
        ("ANTPATH_BFF__LISTEN", format!("127.0.0.1:{port}")),
        ("ANTPATH_BFF__TOKEN_PEPPER", PEPPER.into()),
        // Idle keep-alive connections of the baseline must outlive the measurement.
        ("ANTPATH_BFF__HEADER_READ_TIMEOUT_MS", "600000".into()),
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
            "100000".into(),
        ),
        ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_TOKEN", "100000".into()),
        ("RUST_LOG", "warn".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("{name} in /proc/{pid}/status"))?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .context("a number")?
            .parse()?)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Memory after the process has settled a moment.
async fn settled_memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    memory(pid)
}

struct Bench {
    addr: String,
    token: String,
    pool: PgPool,
    workspace: WorkspaceId,
    pid: u32,
}

/// The three scenarios.
#[derive(Debug, Clone, Copy)]
enum Scenario {
    KeepAlive,
    OneRun,
    ManyRuns,
}

async fn run(url: &str, streams: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let settings = antpath_config::Settings::load_from(None, environment(url, dir.path(), 0))?;
    let pool = PgPool::connect(url).await?;
    antpath_db::migrate(&pool).await?;
    let workspace = admin::create_workspace(&pool, &settings.limits, "bench").await?;
    let user = admin::create_user(
        &pool,
        NewUser {
            email: "bench@example.com",
            membership: Some((workspace, antpath_types::Role::Owner)),
            password: None,
        },
    )
    .await?;
    let (_, token) = admin::create_token(
        &pool,
        &antpath_bff::pepper::Peppers::single(antpath_redact::Secret::new(PEPPER.to_owned())),
        NewApiToken {
            workspace,
            user,
            name: "bench",
            scopes: vec!["runs:read".into(), "runs:write".into()],
        },
    )
    .await?;
    let token = token.into_exposed();
    let binary = match std::env::var_os("ANTPATH_BFF_BIN") {
        Some(path) => path.into(),
        None => std::env::current_exe()?
            .parent()
            .and_then(|examples| examples.parent())
            .context("the target folder")?
            .join("antpath-bff"),
    };
    println!("{streams} connections per scenario; each on a fresh bff process; KiB = 1024 bytes");
    for scenario in [Scenario::KeepAlive, Scenario::OneRun, Scenario::ManyRuns] {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut child = tokio::process::Command::new(&binary)
            .arg("serve")
            .env_clear()
            .envs(environment(url, dir.path(), port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("while starting {}", binary.display()))?;
        let bench = Bench {
            addr: format!("127.0.0.1:{port}"),
            token: token.clone(),
            pool: pool.clone(),
            workspace,
            pid: child.id().context("the bff's pid")?,
        };
        let outcome = measure(&bench, scenario, streams).await;
        child.kill().await?;
        outcome?;
    }
    Ok(())
}

async fn measure(bench: &Bench, scenario: Scenario, streams: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let base = format!("http://{}", bench.addr);
    let started = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the bff did not start");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Warm-up: the pool, the LISTEN connection, one stream opened and closed.
    let warm = submit(bench, &http).await?;
    for _ in 0..20 {
        http.get(format!("{base}/v1/runs/{warm}"))
            .bearer_auth(&bench.token)
            .send()
            .await?;
    }
    let mut first = open_stream(bench, warm).await?;
    read_until(&mut first, |r| count(r, b"event: run") == 1).await?;
    drop(first);
    let mut runs = Vec::new();
    match scenario {
        Scenario::KeepAlive => {}
        Scenario::OneRun => runs.push(submit(bench, &http).await?),
        Scenario::ManyRuns => {
            for _ in 0..streams {
                runs.push(submit(bench, &http).await?);
            }
        }
    }
    let (idle, _) = settled_memory(bench.pid).await?;
    match scenario {
        Scenario::KeepAlive => {
            let mut sockets = Vec::with_capacity(streams);
            for _ in 0..streams {
                let mut socket = TcpStream::connect(&bench.addr).await?;
                let request = format!("GET /healthz HTTP/1.1\r\nhost: {}\r\n\r\n", bench.addr);
                socket.write_all(request.as_bytes()).await?;
                read_until(&mut socket, |r| count(r, b"\r\n\r\n") == 1).await?;
                sockets.push(socket);
            }
            let (with, _) = settled_memory(bench.pid).await?;
            report("idle keep-alive connections", streams, idle, with);
            drop(sockets);
        }
        Scenario::OneRun | Scenario::ManyRuns => {
            let targets: Vec<RunId> = (0..streams).map(|i| runs[i % runs.len()]).collect();
            let readers = open_many(bench, &targets).await?;
            let (with, _) = settled_memory(bench.pid).await?;
            let what = if runs.len() == 1 {
                "streams on one run"
            } else {
                "streams on as many runs"
            };
            report(what, streams, idle, with);
            let reads = feed_reads(&http, &base).await?;
            deliver(bench, &runs, readers).await?;
            println!(
                "  the feed read a run {} times for it ({} runs x {} notifications each)",
                feed_reads(&http, &base).await? - reads,
                runs.len(),
                EVENTS + 1
            );
        }
    }
    let (_, peak) = memory(bench.pid)?;
    println!("  peak VmHWM {peak} KiB");
    Ok(())
}

/// `antpath_bff_run_feed_reads_total` of the bff.
async fn feed_reads(http: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("antpath_bff_run_feed_reads_total ")?
                .parse()
                .ok()
        })
        .context("antpath_bff_run_feed_reads_total in /metrics")
}

fn report(what: &str, count: usize, before: u64, with: u64) {
    let grown = with.saturating_sub(before);
    let per = grown as f64 * 1024.0 / count as f64;
    println!(
        "{count} {what}: VmRSS idle {before} KiB, with them {with} KiB: +{grown} KiB, {per:.0} bytes each"
    );
}

async fn submit(bench: &Bench, http: &reqwest::Client) -> anyhow::Result<RunId> {
    let template: Value = serde_json::from_str(include_str!(
        "../../../tests/vectors/templates/quickstart.json"
    ))?;
    let body = json!({
        "template": template,
        "variables": {"topic": "tide pools"},
        "secrets": {"anthropic": {"apiKey": "sk-ant-api03-bench"}, "mcpServers": {"docs": {"bearerToken": "b"}}},
        "limits": {"maxDurationSeconds": 300}
    });
    let reply: Value = http
        .post(format!("http://{}/v1/runs", bench.addr))
        .bearer_auth(&bench.token)
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id: RunId = reply["id"].as_str().context("a run id")?.parse()?;
    sqlx::query("update runs set status = 'provider_running' where id = $1")
        .bind(id.as_uuid())
        .execute(&bench.pool)
        .await?;
    Ok(id)
}

async fn open_stream(bench: &Bench, run: RunId) -> anyhow::Result<TcpStream> {
    let mut socket = TcpStream::connect(&bench.addr).await?;
    let request = format!(
        "GET /v1/runs/{run}/stream HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\naccept: text/event-stream\r\n\r\n",
        bench.addr, bench.token
    );
    socket.write_all(request.as_bytes()).await?;
    Ok(socket)
}

/// Reads until what arrived so far satisfies `done`.
async fn read_until(socket: &mut TcpStream, done: impl Fn(&[u8]) -> bool) -> anyhow::Result<()> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while !done(&received) {
        let n = tokio::time::timeout(PHASE_LIMIT, socket.read(&mut buffer))
            .await
            .context("waiting for the stream")??;
        if n == 0 {
            bail!("the connection closed early");
        }
        received.extend_from_slice(&buffer[..n]);
    }
    Ok(())
}

/// How often `needle` occurs in `hay`.
fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Opens one stream per entry of `runs`, each read up to its first `run` message, then
/// hands each to a task that counts what follows.
async fn open_many(
    bench: &Bench,
    runs: &[RunId],
) -> anyhow::Result<Vec<tokio::task::JoinHandle<anyhow::Result<()>>>> {
    let mut sockets = Vec::with_capacity(runs.len());
    for &run in runs {
        let mut socket = open_stream(bench, run).await?;
        read_until(&mut socket, |r| count(r, b"event: run") == 1).await?;
        sockets.push(socket);
    }
    Ok(sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                read_until(&mut socket, |r| {
                    count(r, b"event: event") == EVENTS as usize && count(r, b"event: end") == 1
                })
                .await
            })
        })
        .collect())
}

/// Writes the events and the end of each run, and checks every stream received them.
async fn deliver(
    bench: &Bench,
    runs: &[RunId],
    readers: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
) -> anyhow::Result<()> {
    let mut distinct = runs.to_vec();
    distinct.sort();
    distinct.dedup();
    for &run in &distinct {
        let attempt = AttemptId::new();
        antpath_db::events::insert_attempt(&bench.pool, attempt, run, 1).await?;
        for n in 0..EVENTS {
            let provider_event_id = format!("sevt_{n}");
            antpath_db::events::insert_event_once(
                &bench.pool,
                &antpath_db::events::NewEvent {
                    run_id: run,
                    attempt_id: attempt,
                    workspace_id: bench.workspace,
                    provider_event_id: &provider_event_id,
                    event_type: "agent.message",
                    processed_at: None,
                    summary: json!({"n": n}),
                },
            )
            .await?;
        }
        sqlx::query(
            "update runs set status = 'succeeded', cleanup_state = 'succeeded' where id = $1",
        )
        .bind(run.as_uuid())
        .execute(&bench.pool)
        .await?;
    }
    let written = Instant::now();
    let count = readers.len();
    for reader in readers {
        reader.await??;
    }
    println!(
        "  all {count} streams received {EVENTS} events and `end` (the last {} ms after the last write)",
        written.elapsed().as_millis()
    );
    Ok(())
}
