//! `antpath-sim`: an in-memory simulator of the Claude Managed Agents API.
//!
//! It serves the provider's `/v1/…` routes (environments, agents, vaults and credentials,
//! sessions and their resources, events, files with uploads, a few skills look-ups) with the wire shapes of the official
//! `anthropic` Python SDK 2.10.0, runs a scripted agent per session, injects faults on demand
//! and exposes inspection routes under `/__sim/…`. See `docs/provider.md` (section "The simulator").
//!
//! # Library API
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = antpath_sim::spawn(antpath_sim::SimConfig::default()).await?;
//! let base = sim.base_url(); // "http://127.0.0.1:PORT", without "/v1"
//! // … point a client at `base` with any `sk-ant-…` key …
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! - [`SimConfig`]: accepted keys (default: any `sk-ant-` key), timings, faults.
//! - [`spawn`]: binds `127.0.0.1:0` and serves in a background task; returns a [`SimHandle`].
//! - [`SimHandle::base_url`], [`SimHandle::addr`], [`SimHandle::shutdown`].
//! - [`serve`]: serves on a pre-bound listener until the process ends (used by the binary).
//! - [`file_content`] / [`generated_bytes`]: the deterministic bytes of a scripted output, to
//!   check a download's sha256.

mod api;
mod config;
mod content;
mod error;
mod faults;
mod ids;
mod inspect;
mod layers;
mod limits;
mod pagination;
mod pricing;
mod scenario;
mod server;
mod state;
mod store;
mod validate;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{DEFAULT_KEY_PREFIX, FailRule, FaultConfig, FaultKind, SimConfig};
pub use content::generated_bytes;
pub use limits::{CREATES_PER_MINUTE, DocumentedLimits, READS_PER_MINUTE};
pub use scenario::{file_content, file_name};
pub use store::Retention;

/// A running simulator started by [`spawn`].
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl SimHandle {
    /// Base URL of the simulator, e.g. `http://127.0.0.1:41234` (no `/v1` suffix).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets in-flight requests finish and waits for the server.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Binds `127.0.0.1:0` and serves the simulator in a background task.
pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(server::run(listener, config, stopped));
    Ok(SimHandle { addr, stop, task })
}

/// Serves the simulator on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: SimConfig) {
    let (_stop, stopped) = watch::channel(false);
    server::run(listener, config, stopped).await;
}

/// Serves the simulator on `listener` until `shutdown` resolves, then drains connections.
pub async fn serve_with_shutdown(
    listener: TcpListener,
    config: SimConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    server::run(listener, config, stopped).await;
}
