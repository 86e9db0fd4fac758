//! Postgres access for antpath.
//!
//! Every query the services run lives here as a small named function, written with sqlx's
//! checked macros (the offline data in `.sqlx/` is committed and CI checks that it is current).
//! The services never build SQL themselves.
//!
//! - [`pool`]: connecting, with a statement timeout on every connection.
//! - [`MIGRATOR`]: the embedded migrations of `migrations/`, applied by the `migrate` command.
//! - one module per table family: [`workspaces`], [`users`], [`tokens`], [`runs`], [`events`],
//!   [`rate_limits`].
//! - the sweeper's passes: [`sweeps`] (bounded transactions, pass locks, storage repair),
//!   [`run_purge`] (deleted runs), [`workspace_purge`] (deleted workspaces, requested through
//!   [`workspace_deletion`]).

pub mod admission;
pub mod agent_cache;
pub mod audit;
pub mod cleanup;
pub mod closing;
pub mod events;
pub mod feed_watches;
pub mod key_rotation;
pub mod leased;
pub mod lifecycle;
pub mod members;
pub mod observation;
pub mod outputs;
pub mod pool;
pub mod provider_doubt;
pub mod rate_limits;
pub mod resources;
pub mod run_history;
pub mod run_outputs;
pub mod run_purge;
pub mod run_reads;
pub mod run_requests;
pub mod runs;
pub mod storable;
pub mod sweeps;
pub mod token_admin;
pub mod tokens;
pub mod users;
pub mod web_sessions;
pub mod workspace_deletion;
pub mod workspace_purge;
pub mod workspaces;

pub use pool::{PoolSettings, connect};
pub use sqlx::Error as SqlxError;
pub use sqlx::PgPool;

/// The schema migrations, embedded at compile time from the repository's `migrations/` folder.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Applies every pending migration. Safe to run again: applied migrations are skipped, and a
/// concurrent run waits on sqlx's advisory lock.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Failures of the data layer that callers branch on; anything else is an opaque
/// [`DbError::Sqlx`].
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The idempotency key names a run created from a different request.
    #[error("the idempotency key was already used for a different request")]
    IdempotencyConflict,
    /// A fenced write found the lease gone (expired or taken over).
    #[error("the lease on this run is no longer held")]
    LeaseLost,
    /// Any other database failure.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

/// Whether a database error is a violation of the named unique constraint or index.
pub fn is_unique_violation(err: &sqlx::Error, constraint: &str) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation() && db.constraint().is_some_and(|name| name == constraint)
        }
        _ => false,
    }
}

/// Whether `err` says the database is unreachable rather than that a query is wrong: the pool
/// timed out or closed, the connection broke, or the server refused or shut down the session.
/// Callers wait and retry these (a 503 in the API; an uncounted wait in the worker), while any
/// other database error is a real failure.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // Class 08 is "connection exception"; 57P01–57P03 are admin shutdown, crash
            // shutdown and "cannot connect now" (starting up); 53300 is too_many_connections.
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}
