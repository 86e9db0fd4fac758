//! The antpath bff: the authenticated, tenant-scoped run API.
//!
//! - [`auth`]: API tokens (`ant_…`), their keyed hash, scopes and the [`auth::Auth`] extractor.
//! - [`routes`]: every route of `docs/api.md`, with [`middleware`] for request ids, logs,
//!   metrics and the error shape of [`error`].
//! - [`routes`]' submission path seals each run's inputs ([`antpath_template::RunInputs`]) with
//!   the vault key ring and admits run and ciphertext in one statement.
//! - [`actions`]: cancel, delete, signed links and token changes, shared by the JSON routes
//!   and the [`dashboard`]'s server-rendered pages.
//! - [`admin`]: the bootstrap commands (workspace, user, membership, token, disable);
//!   [`rotation`]: re-sealing secrets bundles under the active vault key.
//! - [`session`], [`sign_in`], [`password`]: dashboard sign-in (argon2id), server-side
//!   sessions with CSRF-protected forms, and the [`pages`] shell with its security headers.
//! - [`openapi`]: the machine-readable contract, [`metrics`]: Prometheus text.
//! - [`strict_json`]: the JSON reader of every request body (no duplicate keys, no NUL).
//! - [`feed`]: live run changes for `GET /v1/runs/{id}/stream`, from one `LISTEN` connection
//!   per replica fanned out in memory.
//! - [`wake`]: wakes the workers after submissions commit (never from inside their
//!   transaction).
//!
//! [`start`] is the testable entry point: it serves the app on a pre-bound listener (with the
//! header read timeout of `serve`) and returns a [`Server`] with its address and a graceful
//! shutdown, which first ends the open run streams so that it never waits on them.

pub mod actions;
pub mod admin;
pub mod admission;
pub mod auth;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod feed;
pub mod metrics;
pub mod middleware;
pub mod openapi;
mod openapi_operation;
mod openapi_schemas;
pub mod pages;
pub mod password;
pub mod pepper;
pub mod request_id;
pub mod rotation;
pub mod routes;
mod serve;
pub mod session;
pub mod sign_in;
pub mod state;
pub mod strict_json;
pub mod views;
pub mod wake;

use std::net::SocketAddr;
use std::time::Duration;

use antpath_config::Settings;
use antpath_db::PgPool;
use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use routes::router;
pub use state::AppState;

/// A running bff.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server to end.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        // The receiver is gone only if the server already ended; then there is nothing to stop.
        let _ended = self.shutdown.send(());
        self.task
            .await
            .context("while joining the server task")?
            .context("while serving")
    }
}

/// Builds the state from validated `settings` and serves the app on `listener`.
pub async fn start(
    settings: &Settings,
    pool: PgPool,
    listener: TcpListener,
) -> anyhow::Result<Server> {
    let addr = listener
        .local_addr()
        .context("while reading the bound address")?;
    let state = AppState::from_settings(settings, pool, &format!("http://{addr}"))?;
    let feed = state.feed.clone();
    let app = router(state);
    // The first sign-in should not pay for making the dummy hash of unknown emails.
    tokio::task::spawn_blocking(password::warm_up);
    let (shutdown, stopped) = oneshot::channel::<()>();
    let header_read_timeout = Duration::from_millis(settings.bff.header_read_timeout_ms);
    let task = tokio::spawn(serve::serve(
        listener,
        app,
        header_read_timeout,
        async move {
            let _signal = stopped.await;
            // A stream never ends by itself; ending them lets the connections close.
            feed.shutdown();
        },
    ));
    tracing::info!(http.addr = %addr, "bff listening");
    Ok(Server {
        addr,
        shutdown,
        task,
    })
}
