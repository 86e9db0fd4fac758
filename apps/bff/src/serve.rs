//! The connection loop: accepts on the listener, serves the router over HTTP/1.1 on each
//! connection with a header read timeout, and shuts down gracefully.
//!
//! `axum::serve` offers no way to set hyper's connection options, and without a header read
//! timeout a client that sends half its headers (or nothing at all) holds a connection and a
//! task for as long as it likes. This is the part of `axum::serve` the bff needs — HTTP/1.1,
//! which is all it speaks, and no protocol upgrades — with the timeout set. The body read
//! timeout lives in [`crate::extract::JsonBody`], since only a handler knows it wants a body.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tower::ServiceExt as _;

/// Pause after an accept error that is not about one connection (such as running out of file
/// descriptors), so the loop does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets every open
/// connection finish its request in flight, and returns once all have closed.
///
/// A connection that has not sent a complete request head within `header_read_timeout` of
/// being opened, or of its previous response, is closed; that bounds idle keep-alive
/// connections too.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let (stop, stopping) = watch::channel(());
    // Every connection task holds a sender; `recv` yields `None` once the last one is dropped.
    let (open, mut all_closed) = mpsc::channel::<()>(1);
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => (stream, peer),
                Err(err) if is_per_connection(&err) => continue,
                Err(err) => {
                    tracing::warn!(error.message = %err, "accepting a connection failed; pausing");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        // Handlers that need the client's address (sign-in throttling) read it as `ConnectInfo`.
        let service =
            app.clone()
                .map_request(move |mut request: axum::extract::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                });
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let mut stopping = stopping.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let _open = open;
            let mut connection = pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _stop = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = ended {
                // A client that goes away or times out is routine, not a server fault.
                tracing::debug!(error.message = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _notified = stop.send(());
    drop(open);
    let _none = all_closed.recv().await;
    Ok(())
}

/// Accept errors that concern only the connection being accepted; the next accept can
/// succeed at once.
fn is_per_connection(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
