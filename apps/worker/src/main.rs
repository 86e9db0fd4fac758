//! The worker binary: telemetry → config → pool → keys and storage → claim loop, until SIGINT
//! or SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use antpath_config::{Role, Settings};
use antpath_db::PoolSettings;
use antpath_redact::Secret;
use antpath_storage::{LocalStoreConfig, StorageConfig};
use antpath_telemetry::TelemetrySettings;
use antpath_worker::{Deps, FaultHook, WorkerConfig};
use anyhow::Context as _;

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
    let url = settings
        .database
        .url
        .clone()
        .context("while reading the database url")?;
    let pool = antpath_db::connect(&PoolSettings {
        url: url.expose_secret().clone(),
        max_connections: settings.database.max_connections,
        statement_timeout: Duration::from_millis(settings.database.statement_timeout_ms),
        acquire_timeout: Duration::from_secs(10),
    })
    .context("while opening the database pool")?;
    let active = settings
        .encryption
        .active_key_id
        .clone()
        .unwrap_or_default();
    let keys = antpath_vault::KeyRing::new(&active, &settings.encryption.keys)
        .context("while loading the encryption keys")?;
    let store = storage(&settings)
        .build()
        .context("while opening object storage")?;
    let listener = tokio::net::TcpListener::bind(&settings.worker.health_listen)
        .await
        .context("while binding the health endpoint")?;
    let deps = Deps {
        pool,
        keys,
        store,
        config,
        faults: FaultHook::none(),
    };
    let handle = antpath_worker::start(deps, Some(listener))?;
    tracing::info!(health = ?handle.health_addr(), "worker started");
    handle.stop_on(shutdown_signal()).await;
    tracing::info!("worker stopped");
    Ok(())
}

fn storage(settings: &Settings) -> StorageConfig {
    match settings.storage.backend {
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
        antpath_config::StorageBackend::S3 => StorageConfig::S3(s3(settings)),
    }
}

fn s3(settings: &Settings) -> antpath_storage::S3StoreConfig {
    let s3 = &settings.storage.s3;
    antpath_storage::S3StoreConfig {
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
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
