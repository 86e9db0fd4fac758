//! One `LISTEN` connection that wakes idle claimers, or anything else that wants to hear of a
//! channel's notifications.
//!
//! Notifications only cut latency: a claimer also polls on a timer, so a notification lost while
//! the connection was down costs at most one poll interval. After a reconnect the listener says
//! so ([`Heard::Reconnected`]) once, because anything sent while it was away was missed; the
//! claimer's [`listen`] turns that into one more wake-up.

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

/// What [`listen_to`] hands its callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard<'a> {
    /// One notification, with its payload.
    Notification(&'a str),
    /// The connection is (again) listening; notifications sent before may have been missed.
    /// Also said once after the first connect, which cannot know what came before it.
    Reconnected,
}

/// Listens on `channel` until `shutdown`, calling `notify.notify_one()` per notification.
/// Reconnects with capped, jittered backoff; never returns an error.
pub async fn listen(
    pool: PgPool,
    channel: String,
    notify: Arc<Notify>,
    shutdown: CancellationToken,
) {
    listen_to(pool, channel, shutdown, move |_heard| notify.notify_one()).await;
}

/// Listens on `channel` until `shutdown`, handing every notification and every (re)connect to
/// `on_heard`, which must not block. Reconnects with capped, jittered backoff; never returns an
/// error.
pub async fn listen_to(
    pool: PgPool,
    channel: String,
    shutdown: CancellationToken,
    mut on_heard: impl FnMut(Heard<'_>) + Send,
) {
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        match connect(&pool, &channel).await {
            Ok(mut listener) => {
                failures = 0;
                on_heard(Heard::Reconnected);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        received = listener.try_recv() => match received {
                            Ok(Some(notification)) => {
                                on_heard(Heard::Notification(notification.payload()));
                            }
                            // The connection dropped. `try_recv` would reconnect on its next
                            // call, but silently; reconnecting here tells `on_heard` when the
                            // new connection listens, which is when a catch-up is complete.
                            Ok(None) => {
                                tracing::warn!("listening connection dropped; reconnecting");
                                break;
                            }
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
