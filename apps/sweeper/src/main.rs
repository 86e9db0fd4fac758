//! The sweeper binary: telemetry → config → pool and storage → one pass (`--once`, for a
//! CronJob) or a pass every `sweeper.interval_seconds` until SIGINT or SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use antpath_config::{Role, Settings};
use antpath_db::PoolSettings;
use antpath_redact::Secret;
use antpath_storage::{LocalStoreConfig, StorageConfig};
use antpath_telemetry::TelemetrySettings;
use anyhow::Context as _;
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
    let url = settings
        .database
        .url
        .clone()
        .context("while reading the database url")?;
    let pool = antpath_db::connect(&PoolSettings {
        url: url.expose_secret().clone(),
        max_connections: settings.database.max_connections.min(4),
        statement_timeout: Duration::from_millis(settings.database.statement_timeout_ms),
        acquire_timeout: Duration::from_secs(10),
    })?;
    let store = match settings.storage.backend {
        antpath_config::StorageBackend::Local => StorageConfig::Local(LocalStoreConfig {
            root: settings.storage.local_dir.clone().into(),
            public_base_url: settings
                .bff
                .public_base_url
                .clone()
                .unwrap_or_else(|| "http://localhost:8080".into()),
            signing_key: settings
                .storage
                .signing_key
                .clone()
                .unwrap_or_else(|| Secret::new(String::new())),
        }),
        antpath_config::StorageBackend::S3 => {
            let s3 = &settings.storage.s3;
            StorageConfig::S3(antpath_storage::S3StoreConfig {
                endpoint: s3.endpoint.clone(),
                region: s3.region.clone().unwrap_or_default(),
                bucket: s3.bucket.clone().unwrap_or_default(),
                force_path_style: s3.path_style,
                access_key_id: s3
                    .access_key_id
                    .clone()
                    .unwrap_or_else(|| Secret::new(String::new())),
                secret_access_key: s3
                    .secret_access_key
                    .clone()
                    .unwrap_or_else(|| Secret::new(String::new())),
            })
        }
    }
    .build()
    .context("while opening object storage")?;
    let batch = settings.sweeper.batch_size;
    if args.once || settings.sweeper.once {
        let report = antpath_sweeper::sweep_once(&pool, &store, batch).await?;
        tracing::info!(?report, "sweep done");
        return Ok(());
    }
    let mut tick = tokio::time::interval(Duration::from_secs(
        settings.sweeper.interval_seconds.max(1),
    ));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("while installing the SIGTERM handler")?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = term.recv() => return Ok(()),
            _ = tick.tick() => match antpath_sweeper::sweep_once(&pool, &store, batch).await {
                Ok(report) => tracing::info!(?report, "sweep done"),
                Err(err) => tracing::error!(error.message = %format!("{err:#}"), "sweep failed; next pass retries"),
            },
        }
    }
}
