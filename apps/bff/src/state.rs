//! The shared state of every handler, built once from [`Settings`].

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use antpath_config::{Limits, Settings, StorageBackend};
use antpath_db::PgPool;
use antpath_redact::Secret;
use antpath_storage::{LocalStoreConfig, ObjectStore, S3StoreConfig, StorageConfig};
use antpath_vault::KeyRing;
use anyhow::Context as _;

use crate::metrics::Metrics;

/// Cheap-to-clone handle on [`Inner`].
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

/// What handlers need.
#[derive(Debug)]
pub struct Inner {
    /// The database.
    pub pool: PgPool,
    /// Seals run inputs.
    pub keyring: KeyRing,
    /// The key of the API-token HMAC.
    pub token_pepper: Secret<String>,
    /// Where outputs are stored.
    pub store: ObjectStore,
    /// Plan defaults and rate limits.
    pub limits: Limits,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// The metrics registry.
    pub metrics: Metrics,
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state from validated bff settings. `public_base_url` is where signed local
    /// links point when the settings do not name one (the bound address, in tests).
    pub fn from_settings(
        settings: &Settings,
        pool: PgPool,
        default_base_url: &str,
    ) -> anyhow::Result<Self> {
        let active = settings
            .encryption
            .active_key_id
            .as_deref()
            .context("while reading the active encryption key id")?;
        let keyring = KeyRing::new(active, &settings.encryption.keys)
            .context("while loading the encryption keys")?;
        let token_pepper = settings
            .bff
            .token_pepper
            .clone()
            .context("while reading the token pepper")?;
        let base_url = settings
            .bff
            .public_base_url
            .clone()
            .unwrap_or_else(|| default_base_url.to_owned());
        let store = build_store(settings, &base_url)?;
        Ok(Self(Arc::new(Inner {
            pool,
            keyring,
            token_pepper,
            store,
            limits: settings.limits.clone(),
            max_body_bytes: settings.bff.max_body_bytes,
            metrics: Metrics::default(),
        })))
    }
}

fn build_store(settings: &Settings, base_url: &str) -> anyhow::Result<ObjectStore> {
    let storage = &settings.storage;
    let config = match storage.backend {
        StorageBackend::Local => StorageConfig::Local(LocalStoreConfig {
            root: PathBuf::from(&storage.local_dir),
            public_base_url: base_url.to_owned(),
            signing_key: storage
                .signing_key
                .clone()
                .context("while reading the storage signing key")?,
        }),
        StorageBackend::S3 => {
            let s3 = &storage.s3;
            StorageConfig::S3(S3StoreConfig {
                endpoint: s3.endpoint.clone(),
                region: s3.region.clone().unwrap_or_default(),
                bucket: s3.bucket.clone().unwrap_or_default(),
                force_path_style: s3.path_style,
                access_key_id: s3.access_key_id.clone().unwrap_or_default(),
                secret_access_key: s3.secret_access_key.clone().unwrap_or_default(),
            })
        }
    };
    config.build().context("while opening the object store")
}
