//! The `antpath-sim` binary: serves the simulator on `--listen` and prints
//! `listening on http://ADDR` as its first stdout line.

use std::io::Write;
use std::time::Duration;

use antpath_sim::{FaultConfig, Retention, SimConfig};
use anyhow::Context;
use clap::Parser;

/// An in-memory simulator of the Claude Managed Agents API.
#[derive(Debug, Parser)]
#[command(name = "antpath-sim", version)]
struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Accept only this API key (repeatable). Default: any key starting with `sk-ant-`.
    #[arg(long = "api-key")]
    api_keys: Vec<String>,
    /// Pause between scripted-agent events, in milliseconds.
    #[arg(long, default_value_t = 10)]
    step_ms: u64,
    /// Status for archiving or deleting a running session (400 or 409).
    #[arg(long, default_value_t = 409, value_parser = clap::value_parser!(u16).range(400..=409))]
    busy_status: u16,
    /// Seed of the random fault generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Probability (0–1) of a 429 with `retry-after`.
    #[arg(long, default_value_t = 0.0)]
    rate_429: f64,
    /// Probability (0–1) of a 500.
    #[arg(long, default_value_t = 0.0)]
    rate_500: f64,
    /// Probability (0–1) of a 529.
    #[arg(long, default_value_t = 0.0)]
    rate_529: f64,
    /// Probability (0–1) of closing the connection without a response (request not handled).
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Probability (0–1) of handling the request and then losing its response.
    #[arg(long, default_value_t = 0.0)]
    lost_response_rate: f64,
    /// `retry-after` seconds on 429s.
    #[arg(long, default_value_t = 1)]
    retry_after: u64,
    /// Latency added to every `/v1` request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Extra latency per request drawn uniformly from 0 to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_jitter_ms: u64,
    /// Requests per second allowed per API key (429 with `retry-after` beyond).
    #[arg(long)]
    rate_limit_rps: Option<u32>,
    /// How many deleted and archived records and logged requests to keep for inspection
    /// (each; the default keeps 10,000 records and 20,000 requests). A long soak that checks
    /// every run afterwards raises it.
    #[arg(long)]
    keep_history: Option<usize>,
    /// Turns off the documented per-key limits (300 creates and 1,200 reads per minute).
    #[arg(long)]
    no_documented_limits: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = SimConfig {
        api_keys: cli.api_keys,
        step_delay: Duration::from_millis(cli.step_ms),
        busy_status: cli.busy_status,
        faults: FaultConfig {
            seed: cli.seed,
            rate_429: cli.rate_429,
            rate_500: cli.rate_500,
            rate_529: cli.rate_529,
            drop_rate: cli.drop_rate,
            lost_response_rate: cli.lost_response_rate,
            retry_after_secs: cli.retry_after,
            latency_ms: cli.latency_ms,
            latency_jitter_ms: cli.latency_jitter_ms,
            fail_next: Vec::new(),
            rate_limit_rps: cli.rate_limit_rps,
            documented_limits: (!cli.no_documented_limits)
                .then(antpath_sim::DocumentedLimits::default),
        },
        retention: cli
            .keep_history
            .map_or_else(Retention::default, |n| Retention {
                max_deleted: n,
                max_archived: n,
                max_calls: n,
                ..Retention::default()
            }),
    };
    let listener = tokio::net::TcpListener::bind(&cli.listen)
        .await
        .with_context(|| format!("while binding {}", cli.listen))?;
    let addr = listener
        .local_addr()
        .context("while reading the bound address")?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{addr}").context("while printing the address")?;
    stdout.flush().context("while flushing stdout")?;
    antpath_sim::serve_with_shutdown(listener, config, shutdown_signal()).await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
