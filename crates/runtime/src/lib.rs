//! Process wiring shared by the service binaries (`antpath-bff`, `antpath-worker`,
//! `antpath-sweeper`): turning validated [`Settings`] into a database pool and an object store,
//! and waiting for the signal to stop. Each `main.rs` stays a short top-to-bottom read.

use std::time::Duration;

use antpath_config::{Settings, StorageBackend};
use antpath_db::{PgPool, PoolSettings};
use antpath_redact::Secret;
use antpath_storage::{LocalStoreConfig, ObjectStore, S3StoreConfig, StorageConfig};

/// How long a request waits for a free pooled connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Base URL of local signed links when the bff's public URL is not configured (only the bff
/// hands links out, so other roles never show it to anyone).
const LOCAL_LINK_BASE: &str = "http://localhost:8080";

/// Wiring failures; none carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Settings that validation should have caught are missing.
    #[error("missing setting: {0}")]
    Missing(&'static str),
    /// The pool could not be configured.
    #[error("could not configure the database pool: {0}")]
    Pool(#[from] antpath_db::SqlxError),
    /// The object store could not be opened.
    #[error("could not open object storage: {0}")]
    Storage(#[from] antpath_storage::StorageError),
}

/// Opens the pool described by `settings.database`, with at most `max_connections` (or the
/// configured size when `None`).
pub fn connect_pool(
    settings: &Settings,
    max_connections: Option<u32>,
) -> Result<PgPool, RuntimeError> {
    let url = settings
        .database
        .url
        .as_ref()
        .ok_or(RuntimeError::Missing("ANTPATH_DATABASE__URL"))?;
    let size = settings.database.max_connections;
    Ok(antpath_db::connect(&PoolSettings {
        url: url.expose_secret().clone(),
        max_connections: max_connections.map_or(size, |cap| cap.min(size)),
        statement_timeout: Duration::from_millis(settings.database.statement_timeout_ms),
        acquire_timeout: ACQUIRE_TIMEOUT,
    })?)
}

/// The object store described by `settings.storage`.
pub fn object_store(settings: &Settings) -> Result<ObjectStore, RuntimeError> {
    Ok(storage_config(settings)?.build()?)
}

/// The storage configuration described by `settings.storage`, before it is opened.
pub fn storage_config(settings: &Settings) -> Result<StorageConfig, RuntimeError> {
    let storage = &settings.storage;
    Ok(match storage.backend {
        StorageBackend::Local => StorageConfig::Local(LocalStoreConfig {
            root: storage.local_dir.clone().into(),
            public_base_url: settings
                .bff
                .public_base_url
                .clone()
                .unwrap_or_else(|| LOCAL_LINK_BASE.to_owned()),
            signing_key: storage
                .signing_key
                .clone()
                .ok_or(RuntimeError::Missing("ANTPATH_STORAGE__SIGNING_KEY"))?,
        }),
        StorageBackend::S3 => {
            let s3 = &storage.s3;
            StorageConfig::S3(S3StoreConfig {
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
    })
}

/// Resolves on SIGINT or SIGTERM. If a handler cannot be installed, that failure is logged and
/// the other signal still works.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error.message = %err, "could not listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error.message = %err, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
