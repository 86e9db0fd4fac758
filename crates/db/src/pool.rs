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

/// A pooled connection idle for longer than this is pinged before it is handed out; one in
/// steady use is not. sqlx's default pings on every acquire (a round trip more for each
/// acquire of a hot path: a submission acquires four times) to catch what an idle connection is exposed
/// to: the server restarting or a proxy dropping it. A connection that dies while in steady
/// use still fails its next statement once and is then discarded, as it would be with the
/// ping (the ping only narrows that window to the round trip before the statement).
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

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
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_WHEN_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options))
}

/// Readiness: one round trip to the database.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!("select 1 as \"one!\"")
        .fetch_one(pool)
        .await
        .map(|_| ())
}
