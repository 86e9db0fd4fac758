//! Waking the workers after submissions have committed.
//!
//! A submission's own transaction does not notify: a notifying transaction holds a lock for
//! the whole database cluster until its commit is durable, which made every submission of
//! every workspace commit one after another (migration `…210_wake_after_commit.sql`). Instead
//! the submit handler calls [`WorkerWake::after_commit`] once its run is admitted, and one task
//! per replica sends the wake-up ([`antpath_db::runs::wake_workers`]) in a transaction that
//! writes nothing else. Wake-ups asked for while one is being sent fold into one more, so a
//! burst of submissions costs a few notifications, not one each, and no submission waits for
//! it. A lost wake-up (the replica dies between the commit and the send) costs one claim poll
//! of latency: the workers' polling stays the source of truth.

use std::sync::OnceLock;

use antpath_db::PgPool;
use tokio::sync::mpsc;

/// Cheap to share; starts its task on first use (inside the runtime).
#[derive(Debug)]
pub struct WorkerWake {
    pool: PgPool,
    /// A one-slot queue: a full slot means a wake-up is already due.
    asks: OnceLock<mpsc::Sender<()>>,
}

impl WorkerWake {
    /// Wake-ups sent over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            asks: OnceLock::new(),
        }
    }

    /// Asks for a wake-up of the workers; never waits. Call it after the commit that made a
    /// run due.
    pub fn after_commit(&self) {
        let asks = self.asks.get_or_init(|| {
            let (ask, mut asked) = mpsc::channel::<()>(1);
            let pool = self.pool.clone();
            // Ends when the state (the one sender) is dropped.
            tokio::spawn(async move {
                while asked.recv().await.is_some() {
                    if let Err(err) = antpath_db::runs::wake_workers(&pool).await {
                        tracing::warn!(error.message = %err, "could not wake the workers; they will poll");
                    }
                }
            });
            ask
        });
        // Full: a wake-up is already due and will see this commit too.
        let _ = asks.try_send(());
    }
}
