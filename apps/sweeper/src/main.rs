//! The sweeper binary: telemetry → config → pool and storage → one pass (`--once`, for a
//! Kubernetes CronJob) or a pass every `sweeper.interval_seconds` (`--loop`) until SIGINT or
//! SIGTERM. Without either flag, `sweeper.once` decides. Each pass prints one line naming every
//! counter; when looping, `sweeper.metrics_listen` serves their running totals.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use antpath_config::{Role, Settings};
use antpath_provider::{Transport, TransportConfig};
use antpath_sweeper::agent_cache::CacheSweep;
use antpath_sweeper::metrics::{self, Metrics};
use antpath_sweeper::{Report, SweepConfig};
use antpath_telemetry::TelemetrySettings;
use anyhow::Context as _;
use clap::Parser;
use tokio_util::sync::CancellationToken;

/// Command line.
#[derive(Debug, Parser)]
#[command(name = "antpath-sweeper", about = "The antpath sweeper.")]
struct Args {
    /// Run one pass and exit (for a CronJob).
    #[arg(long, conflicts_with = "run_loop")]
    once: bool,
    /// Run a pass every interval until SIGINT or SIGTERM.
    #[arg(long = "loop")]
    run_loop: bool,
    /// Seconds between passes when looping (overrides `sweeper.interval_seconds`).
    #[arg(long)]
    interval_seconds: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let telemetry = match antpath_telemetry::init(&TelemetrySettings::from_env("antpath-sweeper")) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("telemetry: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("antpath-sweeper: {err:#}");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}

async fn run(args: Args) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    settings.validate(Role::Sweeper)?;
    let pool = antpath_runtime::connect_pool(&settings, Some(4))?;
    let store = antpath_runtime::object_store(&settings)?;
    let config = SweepConfig {
        batch: settings.sweeper.batch_size,
        statement_timeout: Duration::from_millis(settings.sweeper.statement_timeout_ms),
        max_batches: antpath_sweeper::MAX_BATCHES_PER_PASS,
    };
    let cache = cache_sweep(&settings)?;
    let once = args.once || (settings.sweeper.once && !args.run_loop);
    if once {
        let report = pass(&pool, &store, cache.as_ref(), &config).await?;
        print_report(&report);
        return Ok(());
    }

    let metrics = Arc::new(Metrics::default());
    let stop = CancellationToken::new();
    let server = match &settings.sweeper.metrics_listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("while binding {address}"))?;
            tracing::info!(http.addr = %address, "sweeper metrics listening");
            Some(tokio::spawn(metrics::serve(
                listener,
                Arc::clone(&metrics),
                stop.clone(),
            )))
        }
        None => None,
    };
    let interval = args
        .interval_seconds
        .unwrap_or(settings.sweeper.interval_seconds)
        .max(1);
    let mut tick = tokio::time::interval(Duration::from_secs(interval));
    let shutdown = antpath_runtime::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = tick.tick() => match pass(&pool, &store, cache.as_ref(), &config).await {
                Ok(report) => {
                    metrics.observe_pass(&report);
                    print_report(&report);
                }
                Err(err) => {
                    metrics.observe_failure();
                    tracing::error!(error.message = %format!("{err:#}"), "sweep failed; next pass retries");
                }
            },
        }
    }
    stop.cancel();
    if let Some(server) = server {
        server.await.context("while joining the metrics endpoint")?;
    }
    Ok(())
}

/// The agent-cache pass's wiring: it needs the key ring (to open the entries' sealed provider
/// keys); without one the pass is off and the sweeper says so once.
fn cache_sweep(settings: &Settings) -> anyhow::Result<Option<CacheSweep>> {
    let Some(active) = settings.encryption.active_key_id.as_deref() else {
        tracing::warn!(
            "no ANTPATH_ENCRYPTION__ACTIVE_KEY_ID: cached agents and environments are not retired by this sweeper"
        );
        return Ok(None);
    };
    let keys = antpath_vault::KeyRing::new(active, &settings.encryption.keys)
        .context("while loading the encryption keys")?;
    let provider = Transport::new(
        TransportConfig::default()
            .with_base_url(settings.provider.base_url.clone())
            .with_request_timeout(Duration::from_millis(settings.provider.request_timeout_ms)),
    )
    .context("while building the provider transport")?;
    Ok(Some(CacheSweep {
        keys,
        provider,
        idle: Duration::from_secs(settings.limits.agent_cache_idle_seconds.into()),
    }))
}

/// One pass of every sweep, the agent-cache pass last.
async fn pass(
    pool: &sqlx::PgPool,
    store: &antpath_storage::ObjectStore,
    cache: Option<&CacheSweep>,
    config: &SweepConfig,
) -> anyhow::Result<Report> {
    let mut report = antpath_sweeper::sweep(pool, store, config).await?;
    if let Some(cache) = cache {
        antpath_sweeper::agent_cache::retire_idle(pool, cache, config, &mut report)
            .await
            .context("while retiring idle cached agents and environments")?;
    }
    Ok(report)
}

/// The pass's one-line summary on standard output, and the same as a log line.
fn print_report(report: &Report) {
    println!("sweep: {report}");
    tracing::info!(sweep.report = %report, "sweep done");
}
