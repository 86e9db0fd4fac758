//! One `LISTEN` connection that wakes idle claimers.
//!
//! Notifications only cut latency: a claimer also polls on a timer, so a notification lost while
//! the connection was down costs at most one poll interval. After a reconnect the listener wakes
//! the claimer once, because anything sent while it was away was missed.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::backoff;

/// First reconnect delay after the listening connection fails.
const RECONNECT_BASE: Duration = Duration::from_millis(250);
/// Longest reconnect delay.
const RECONNECT_CAP: Duration = Duration::from_secs(30);

/// Listens on `channel` until `shutdown`, calling `notify.notify_one()` per notification.
/// Reconnects with capped, jittered backoff; never returns an error.
pub async fn listen(
    pool: PgPool,
    channel: String,
    notify: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        match connect(&pool, &channel).await {
            Ok(mut listener) => {
                failures = 0;
                notify.notify_one();
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        received = listener.try_recv() => match received {
                            Ok(Some(_)) => notify.notify_one(),
                            // The connection dropped; `try_recv` reconnects on the next call,
                            // and whatever was sent meanwhile is lost, so wake up once.
                            Ok(None) => notify.notify_one(),
                            Err(err) => {
                                tracing::warn!(error.message = %err, "listener failed; reconnecting");
                                break;
                            }
                        },
                    }
                }
            }
            Err(err) => {
                tracing::warn!(error.message = %err, "could not listen; retrying");
            }
        }
        failures = failures.saturating_add(1);
        let delay = backoff(RECONNECT_BASE, RECONNECT_CAP, failures).max(RECONNECT_BASE);
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

async fn connect(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}
