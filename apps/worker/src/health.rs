//! `/healthz` (the process is up), `/readyz` (the database answers and the worker is not
//! shutting down) and `/metrics` (the worker's counters).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::metrics::WorkerMetrics;

#[derive(Clone)]
struct Health {
    pool: PgPool,
    stopping: CancellationToken,
    metrics: Arc<WorkerMetrics>,
}

/// Serves the health routes until `stop` is cancelled.
pub async fn serve(
    listener: TcpListener,
    pool: PgPool,
    metrics: Arc<WorkerMetrics>,
    stop: CancellationToken,
) {
    let state = Health {
        pool,
        stopping: stop.clone(),
        metrics,
    };
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route(
            "/metrics",
            get(|State(health): State<Health>| async move { health.metrics.render() }),
        )
        .with_state(state);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    if let Err(err) = served {
        tracing::error!(error.message = %err, "health endpoint failed");
    }
}

async fn ready(State(health): State<Health>) -> (StatusCode, &'static str) {
    if health.stopping.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping");
    }
    match antpath_db::pool::ping(&health.pool).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
