//! The worker binary: telemetry → config → pool → keys and storage → claim loop, until SIGINT
//! or SIGTERM.

use std::process::ExitCode;

use antpath_config::{Role, Settings};
use antpath_telemetry::TelemetrySettings;
use antpath_worker::{Deps, FaultHook, WorkerConfig};
use anyhow::Context as _;

/// mimalloc instead of glibc's malloc: under load, glibc's malloc and free took about a third
/// of the process's CPU (docs/benchmarks.md, "Submissions").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let telemetry = match antpath_telemetry::init(&TelemetrySettings::from_env("antpath-worker")) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("telemetry: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error.message = %format!("{err:#}"), "worker failed");
            eprintln!("antpath-worker: {err:#}");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    settings.validate(Role::Worker)?;
    let config = WorkerConfig::from_settings(&settings);
    let pool = antpath_runtime::connect_pool(&settings, None)?;
    let active = settings
        .encryption
        .active_key_id
        .clone()
        .unwrap_or_default();
    let keys = antpath_vault::KeyRing::new(&active, &settings.encryption.keys)
        .context("while loading the encryption keys")?;
    let store = antpath_runtime::object_store(&settings)?;
    let listener = tokio::net::TcpListener::bind(&settings.worker.health_listen)
        .await
        .context("while binding the health endpoint")?;
    let deps = Deps::new(pool, keys, store, config, FaultHook::none())
        .context("while building the provider transport")?;
    let handle = antpath_worker::start(deps, Some(listener))?;
    tracing::info!(health = ?handle.health_addr(), "worker started");
    handle.stop_on(antpath_runtime::shutdown_signal()).await;
    tracing::info!("worker stopped");
    Ok(())
}
