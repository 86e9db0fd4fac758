//! The shared state of every handler, built once from [`Settings`].

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use antpath_config::{Limits, Settings};
use antpath_db::PgPool;
use antpath_storage::{ObjectStore, StorageConfig};
use antpath_vault::KeyRing;
use anyhow::Context as _;
use axum::http::HeaderName;

use crate::admission::Admissions;
use crate::feed::RunFeed;
use crate::metrics::Metrics;
use crate::pepper::Peppers;
use crate::wake::WorkerWake;

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
    /// The keys of the API-token, session and CSRF HMACs, by id (the active one first).
    pub peppers: Peppers,
    /// Where outputs are stored.
    pub store: ObjectStore,
    /// Plan defaults and rate limits.
    pub limits: Limits,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// How long a whole request body may take to arrive.
    pub body_read_timeout: Duration,
    /// The metrics registry.
    pub metrics: Metrics,
    /// How long dashboard sessions live.
    pub sessions: SessionLifetimes,
    /// Whether cookies are marked `Secure` (the public address is https).
    pub secure_cookies: bool,
    /// The trusted proxy header naming the client's address, if any.
    pub client_ip_header: Option<HeaderName>,
    /// Live run changes for the run streams, from this replica's one `LISTEN` connection.
    pub feed: RunFeed,
    /// The keep-alive interval of an idle run stream.
    pub stream_heartbeat: Duration,
    /// Wakes the workers after a submission commits.
    pub wake: WorkerWake,
    /// Admits submissions in groups.
    pub admissions: Admissions,
}

/// The idle and absolute lifetimes of a dashboard session.
#[derive(Debug, Clone, Copy)]
pub struct SessionLifetimes {
    /// Unused for this long, a session ends.
    pub idle: Duration,
    /// However used, a session ends this long after sign-in.
    pub absolute: Duration,
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
        let peppers =
            Peppers::from_settings(settings).context("while reading the token peppers")?;
        let base_url = settings
            .bff
            .public_base_url
            .clone()
            .unwrap_or_else(|| default_base_url.to_owned());
        let store = build_store(settings, &base_url)?;
        let client_ip_header = settings
            .bff
            .client_ip_header
            .as_deref()
            .map(HeaderName::try_from)
            .transpose()
            .context("while reading ANTPATH_BFF__CLIENT_IP_HEADER")?;
        let pool_for_feed = pool.clone();
        Ok(Self(Arc::new(Inner {
            pool,
            keyring,
            peppers,
            store,
            limits: settings.limits.clone(),
            max_body_bytes: settings.bff.max_body_bytes,
            body_read_timeout: Duration::from_millis(settings.bff.body_read_timeout_ms),
            metrics: Metrics::default(),
            sessions: SessionLifetimes {
                idle: Duration::from_secs(settings.bff.session_idle_minutes * 60),
                absolute: Duration::from_secs(settings.bff.session_absolute_hours * 3600),
            },
            secure_cookies: base_url.starts_with("https://"),
            client_ip_header,
            wake: WorkerWake::new(pool_for_feed.clone()),
            admissions: Admissions::new(pool_for_feed.clone()),
            feed: RunFeed::new(pool_for_feed),
            stream_heartbeat: Duration::from_millis(settings.bff.stream_heartbeat_ms),
        })))
    }
}

fn build_store(settings: &Settings, base_url: &str) -> anyhow::Result<ObjectStore> {
    let mut config = antpath_runtime::storage_config(settings)?;
    if let StorageConfig::Local(local) = &mut config {
        local.public_base_url = base_url.to_owned();
    }
    config.build().context("while opening the object store")
}
