//! The typed settings tree and how it is loaded.

use std::collections::BTreeMap;

use antpath_redact::Secret;
use serde::{Deserialize, Serialize};

use crate::{ConfigError, Limits};

/// Everything any service may read. Each service validates the parts it needs.
///
/// It serialises too (secrets as `[REDACTED]`): the field paths of the defaults are the
/// environment names the services read, which `tests/deploy_env.rs` checks `deploy/` against.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Settings {
    /// Postgres.
    pub database: DatabaseSettings,
    /// The HTTP API.
    pub bff: BffSettings,
    /// The lifecycle workers.
    pub worker: WorkerSettings,
    /// The periodic sweeper.
    pub sweeper: SweeperSettings,
    /// The Claude Managed Agents API.
    pub provider: ProviderSettings,
    /// Keys that seal the per-run secrets bundles.
    pub encryption: EncryptionSettings,
    /// Where captured outputs are stored.
    pub storage: StorageSettings,
    /// Plan defaults and operational limits.
    pub limits: Limits,
}

/// Postgres connection settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `postgres://user:pass@host/db`. Required by every role.
    pub url: Option<Secret<String>>,
    /// Pool size per process.
    pub max_connections: u32,
    /// Statement timeout applied to every connection, in milliseconds.
    pub statement_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            statement_timeout_ms: 15_000,
        }
    }
}

/// HTTP API settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BffSettings {
    /// Listen address.
    pub listen: String,
    /// The URL clients reach this service at; signed links are built on it.
    pub public_base_url: Option<String>,
    /// Server pepper of the API-token and session keyed hashes (at least 32 bytes), known by
    /// the id [`LEGACY_PEPPER_ID`]. The bff needs it or [`Self::token_peppers`].
    pub token_pepper: Option<Secret<String>>,
    /// Peppers by id (each at least 32 bytes), for rotation: new hashes use
    /// [`Self::active_pepper_id`]; the others keep existing tokens and sessions working until
    /// `antpath-bff admin rotate-pepper` says nothing uses them.
    pub token_peppers: BTreeMap<String, Secret<String>>,
    /// The pepper id new hashes are made with. Required when `token_peppers` is set; without
    /// it the single `token_pepper` is active.
    pub active_pepper_id: Option<String>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// How long a connection may take to send a request's headers, in milliseconds, before
    /// it is closed: a client that trickles headers cannot hold a connection open.
    pub header_read_timeout_ms: u64,
    /// How long a request's whole body may take to arrive, in milliseconds, before it is
    /// answered with `408`.
    pub body_read_timeout_ms: u64,
    /// How long a dashboard session lives without being used, in minutes.
    pub session_idle_minutes: u64,
    /// How long a dashboard session lives at most, however busy, in hours.
    pub session_absolute_hours: u64,
    /// The header a trusted load balancer puts the client's address in (such as
    /// `x-forwarded-for`; its first entry is used). Unset, the peer address is the client's:
    /// set it only behind a proxy that overwrites the header, or clients choose their address.
    pub client_ip_header: Option<String>,
    /// The interval of the `: keep-alive` comment on an idle run stream
    /// (`GET /v1/runs/{id}/stream`), in milliseconds: proxies close connections that stay
    /// silent for long.
    pub stream_heartbeat_ms: u64,
}

/// The id under which the single `ANTPATH_BFF__TOKEN_PEPPER` is known, and which every hash
/// made before peppers had ids records.
pub const LEGACY_PEPPER_ID: &str = "legacy";

impl BffSettings {
    /// Every configured pepper by id: the `token_peppers`, plus `token_pepper` as
    /// [`LEGACY_PEPPER_ID`] when it is set.
    pub fn peppers(&self) -> BTreeMap<String, Secret<String>> {
        let mut peppers = self.token_peppers.clone();
        if let Some(legacy) = &self.token_pepper {
            peppers
                .entry(LEGACY_PEPPER_ID.to_owned())
                .or_insert_with(|| legacy.clone());
        }
        peppers
    }

    /// The id new hashes are made with: `active_pepper_id`, or the legacy id when only the
    /// single pepper is configured.
    pub fn active_pepper(&self) -> Option<String> {
        match (&self.active_pepper_id, &self.token_pepper) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(_)) if self.token_peppers.is_empty() => Some(LEGACY_PEPPER_ID.to_owned()),
            (None, _) => None,
        }
    }
}

impl Default for BffSettings {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
            public_base_url: None,
            token_pepper: None,
            token_peppers: BTreeMap::new(),
            active_pepper_id: None,
            max_body_bytes: 1024 * 1024,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            session_idle_minutes: 120,
            session_absolute_hours: 12,
            client_ip_header: None,
            stream_heartbeat_ms: 15_000,
        }
    }
}

/// Worker settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerSettings {
    /// This replica's identity, recorded as the lease owner (the pod name on Kubernetes).
    /// Required by the worker: there is no silent default for identity.
    pub id: Option<String>,
    /// Listen address of the health endpoint.
    pub health_listen: String,
    /// Runs one replica works on at once.
    pub concurrency: usize,
    /// Longest idle sleep of the claim loop, in milliseconds. `LISTEN/NOTIFY` wakes the loop
    /// early; polling is the source of truth, so this bounds the pickup delay of a run whose
    /// wake-up was lost and of a retry whose backoff ended.
    pub claim_poll_ms: u64,
    /// When cleanup lists the provider for resources the journal may have missed.
    pub leak_scan: LeakScan,
}

/// When cleanup scans the provider for a run's resources that its journal may not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeakScan {
    /// Only for runs where a create's outcome was unknown or a journal row had to be adopted:
    /// otherwise the journal is complete by construction (the default).
    WhenInDoubt,
    /// For every run, at four list requests (and their pages) each.
    Always,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            id: None,
            health_listen: "0.0.0.0:8081".into(),
            concurrency: 16,
            claim_poll_ms: 2000,
            leak_scan: LeakScan::WhenInDoubt,
        }
    }
}

/// Sweeper settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SweeperSettings {
    /// Rows handled per batch.
    pub batch_size: i64,
    /// Run one pass and exit (a Kubernetes CronJob) instead of looping.
    pub once: bool,
    /// Seconds between passes when looping.
    pub interval_seconds: u64,
    /// Statement timeout of every sweeper transaction (`SET LOCAL`), in milliseconds: a batch
    /// that meets a lock or a slow plan gives up instead of holding its row locks.
    pub statement_timeout_ms: u64,
    /// Listen address of the `/metrics` and `/healthz` endpoint when looping; unset serves none
    /// (a one-shot CronJob reports on its standard output instead).
    pub metrics_listen: Option<String>,
}

impl Default for SweeperSettings {
    fn default() -> Self {
        Self {
            batch_size: 100,
            once: false,
            interval_seconds: 60,
            statement_timeout_ms: 10_000,
            metrics_listen: None,
        }
    }
}

/// The provider API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderSettings {
    /// Base URL, without `/v1`.
    pub base_url: String,
    /// Request timeout in milliseconds.
    pub request_timeout_ms: u64,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        Self {
            base_url: "https://api.anthropic.com".into(),
            request_timeout_ms: 30_000,
        }
    }
}

/// Keys for sealing per-run secrets.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct EncryptionSettings {
    /// The key id new bundles are sealed with. Required by bff and worker.
    pub active_key_id: Option<String>,
    /// Key id → base64 of 32 random bytes. Old ids stay here until no bundle uses them.
    pub keys: BTreeMap<String, Secret<String>>,
}

/// Which object store holds outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// A local directory (the embedded default).
    #[default]
    Local,
    /// An S3-compatible service.
    S3,
}

/// Object storage settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    /// The backend.
    pub backend: StorageBackend,
    /// Root directory of the local store.
    pub local_dir: String,
    /// HMAC key of local signed links (at least 32 bytes). Required with the local backend.
    pub signing_key: Option<Secret<String>>,
    /// S3 settings, required with the S3 backend.
    pub s3: S3Settings,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Local,
            local_dir: ".antpath/storage".into(),
            signing_key: None,
            s3: S3Settings::default(),
        }
    }
}

/// An S3-compatible store.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct S3Settings {
    /// Endpoint URL; unset means AWS.
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Bucket.
    pub bucket: Option<String>,
    /// Path-style addressing (most self-hosted servers need it).
    pub path_style: bool,
    /// Access key id.
    pub access_key_id: Option<Secret<String>>,
    /// Secret access key.
    pub secret_access_key: Option<Secret<String>>,
}

impl Settings {
    /// Loads defaults, then the file named by `ANTPATH_CONFIG` if set, then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var("ANTPATH_CONFIG").ok();
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file.as_deref(), env)
    }

    /// [`Settings::load`] with the file path and environment given explicitly (for tests).
    pub fn load_from(
        file: Option<&str>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = env.into_iter().collect();
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            builder = builder.add_source(config::File::new(path, config::FileFormat::Toml));
        }
        let antpath_env: std::collections::HashMap<String, String> = env
            .iter()
            .filter(|(key, _)| key.starts_with("ANTPATH_") && key.as_str() != "ANTPATH_CONFIG")
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("ANTPATH")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .source(Some(antpath_env)),
        );
        let mut settings: Settings = builder
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|err| {
                ConfigError::new(vec![format!("configuration could not be read: {err}")])
            })?;
        if settings.database.url.is_none() {
            settings.database.url = env.get("DATABASE_URL").cloned().map(Secret::new);
        }
        Ok(settings)
    }
}
