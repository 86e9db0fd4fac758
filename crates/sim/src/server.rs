//! The accept loop.
//!
//! Connections are served with hyper directly (not `axum::serve`) so that an injected
//! "dropped connection" fault can close the socket without writing any response: the service
//! returns an error for responses marked [`DropConnection`], and hyper then aborts the
//! connection.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::config::SimConfig;
use crate::layers::DropConnection;
use crate::state::Sim;

/// How long in-flight connections (SSE streams included) get to finish after shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// The error that makes hyper close a connection without a response.
#[derive(Debug)]
struct DroppedByFault;

impl std::fmt::Display for DroppedByFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DroppedByFault {}

/// Serves until `stopped` turns true, then drains connections.
pub async fn run(listener: TcpListener, config: SimConfig, mut stopped: watch::Receiver<bool>) {
    let sim = Sim::new(config);
    let app = crate::api::router(sim.clone());
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    sim.connection_accepted();
                    connections.spawn(connection(stream, app.clone(), stopped.clone()));
                }
                Err(err) => {
                    tracing::warn!(error.message = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = until_stopped(&mut stopped) => break,
        }
    }
    drop(listener);
    sim.stop_agents();
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        connections.abort_all();
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    app: Router,
    mut stopped: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let app = app.clone();
        async move {
            let response = match app.oneshot(req.map(Body::new)).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if response.extensions().get::<DropConnection>().is_some() {
                return Err(DroppedByFault);
            }
            Ok::<_, DroppedByFault>(response)
        }
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = until_stopped(&mut stopped) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
}

/// Resolves once the stop flag turns true; never if the sender is gone (a dropped
/// [`crate::SimHandle`] keeps serving).
async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    loop {
        if *stopped.borrow_and_update() {
            return;
        }
        if stopped.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
