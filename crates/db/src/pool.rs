//! Connecting to Postgres.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// How a service's pool is sized and bounded.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// The connection URL (`postgres://…`). Passed in already unwrapped from the config's
    /// secret type; never logged.
    pub url: String,
    /// Upper bound on open connections for this process.
    pub max_connections: u32,
    /// Every statement on these connections is cancelled after this long, so a stuck query
    /// cannot hold a lease's row lock for ever.
    pub statement_timeout: Duration,
    /// How long to wait for a free connection before failing the request.
    pub acquire_timeout: Duration,
}

/// Opens a pool. Connections are opened lazily, so a database that is down at start-up fails
/// readiness rather than crashing the process.
pub fn connect(settings: &PoolSettings) -> Result<PgPool, sqlx::Error> {
    let timeout_ms = settings.statement_timeout.as_millis().to_string();
    let options: PgConnectOptions = settings
        .url
        .parse::<PgConnectOptions>()?
        .options([("statement_timeout", timeout_ms.as_str())]);
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(options))
}

/// Readiness: one round trip to the database.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!("select 1 as \"one!\"")
        .fetch_one(pool)
        .await
        .map(|_| ())
}
