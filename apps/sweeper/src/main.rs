//! The sweeper binary: telemetry → config → pool and storage → one pass (`--once`, for a
//! CronJob) or a pass every `sweeper.interval_seconds` until SIGINT or SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use antpath_config::{Role, Settings};
use antpath_telemetry::TelemetrySettings;
use clap::Parser;

/// Command line.
#[derive(Debug, Parser)]
struct Args {
    /// Run one pass and exit.
    #[arg(long)]
    once: bool,
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
    let batch = settings.sweeper.batch_size;
    if args.once || settings.sweeper.once {
        let report = antpath_sweeper::sweep_once(&pool, &store, batch).await?;
        tracing::info!(?report, "sweep done");
        return Ok(());
    }
    let mut tick = tokio::time::interval(Duration::from_secs(
        settings.sweeper.interval_seconds.max(1),
    ));
    let shutdown = antpath_runtime::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            _ = tick.tick() => match antpath_sweeper::sweep_once(&pool, &store, batch).await {
                Ok(report) => tracing::info!(?report, "sweep done"),
                Err(err) => tracing::error!(error.message = %format!("{err:#}"), "sweep failed; next pass retries"),
            },
        }
    }
}
