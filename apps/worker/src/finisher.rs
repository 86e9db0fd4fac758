//! [`Finisher`]: ends runs whose cleanup is over together, several in one transaction.
//!
//! A run's last write (its cleanup round, the destruction of its secrets, the end of cleanup,
//! its attempts closed) is a transaction of its own, and it changes what the API shows, so it
//! notifies the run feed. A notifying transaction holds a lock for the whole cluster until its
//! commit is durable: runs of one worker that ended at about the same time committed one after
//! another, each waiting for its own WAL flush. The finisher takes every ending that is waiting
//! when it starts a transaction (up to [`MOST_PER_COMMIT`]) and writes them in one, each inside
//! a savepoint, so one commit (one flush, one hold of that lock) ends them all.
//!
//! Fencing is per run, as before: each ending checks its own lease inside its savepoint, and
//! one that fails (a lost lease, a database error of its own) is rolled back to its savepoint
//! alone and told so; the others still commit. If the commit itself fails, every ending of the
//! batch is told of the error and its step is retried, as a failed commit of its own would be.
//! A lone ending costs what it did (plus a savepoint); nothing waits for company.

use std::sync::{Arc, OnceLock};

use antpath_db::PgPool;
use futures_util::future::BoxFuture;
use sqlx::PgConnection;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::{StepError, StepResult};

/// A run's last write (the cleanup step's), made in the transaction it is given.
pub trait Ending: Send + Sync + std::fmt::Debug {
    /// Writes the ending in `tx`, fenced by its own lease.
    fn write<'a>(&'a self, tx: &'a mut PgConnection) -> BoxFuture<'a, StepResult<()>>;
}

/// Endings written by one commit at most.
pub const MOST_PER_COMMIT: usize = 32;

/// Transactions of endings in flight at once (each on its own connection).
const LANES: usize = 2;

type Request = (Box<dyn Ending>, oneshot::Sender<StepResult<()>>);

/// The worker's finisher; starts its tasks on first use (inside the runtime).
#[derive(Debug)]
pub struct Finisher {
    pool: PgPool,
    queue: OnceLock<mpsc::UnboundedSender<Request>>,
}

impl Finisher {
    /// A finisher writing over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            queue: OnceLock::new(),
        }
    }

    /// Writes `ending`, possibly together with others, and returns once it has committed (or
    /// with the reason it did not).
    pub async fn finish(&self, ending: Box<dyn Ending>) -> StepResult<()> {
        let (told, answer) = oneshot::channel();
        self.queue()
            .send((ending, told))
            .map_err(|_| StepError::Bug("the finisher has stopped".into()))?;
        answer
            .await
            .map_err(|_| StepError::Bug("the finisher dropped an ending".into()))?
    }

    fn queue(&self) -> &mpsc::UnboundedSender<Request> {
        self.queue.get_or_init(|| {
            let (queue, waiting) = mpsc::unbounded_channel::<Request>();
            let waiting = Arc::new(Mutex::new(waiting));
            for _ in 0..LANES {
                tokio::spawn(lane(self.pool.clone(), Arc::clone(&waiting)));
            }
            queue
        })
    }
}

/// Takes what is waiting (at least one ending), writes it in one transaction, and again; ends
/// when the finisher is dropped.
async fn lane(pool: PgPool, waiting: Arc<Mutex<mpsc::UnboundedReceiver<Request>>>) {
    loop {
        let batch = {
            let mut waiting = waiting.lock().await;
            let Some(first) = waiting.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MOST_PER_COMMIT {
                match waiting.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        write_batch(&pool, batch).await;
    }
}

/// One transaction: a savepoint per ending, one commit; every ending is told its own result.
async fn write_batch(pool: &PgPool, batch: Vec<Request>) {
    let mut results: Vec<StepResult<()>> = Vec::with_capacity(batch.len());
    let outcome: StepResult<()> = async {
        let mut tx = pool.begin().await?;
        for (i, (ending, _)) in batch.iter().enumerate() {
            // Ending the previous ending's savepoint and opening this one's is one round trip.
            let mark = if i == 0 {
                "savepoint ending"
            } else {
                "release savepoint ending; savepoint ending"
            };
            sqlx::raw_sql(mark).execute(&mut *tx).await?;
            let written = ending.write(&mut tx).await;
            if written.is_err() {
                sqlx::raw_sql("rollback to savepoint ending")
                    .execute(&mut *tx)
                    .await?;
            }
            results.push(written);
        }
        tx.commit().await?;
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => {
            for ((_, told), result) in batch.into_iter().zip(results) {
                let _ = told.send(result);
            }
        }
        Err(err) => {
            let message = err.public_message();
            tracing::warn!(endings = batch.len(), error.message = %message, "a batch of run endings did not commit");
            for (_, told) in batch {
                let failed =
                    sqlx::Error::Protocol(format!("the endings' commit failed: {message}"));
                let _ = told.send(Err(StepError::Db(failed)));
            }
        }
    }
}
