//! [`Finisher`]: ends runs whose cleanup is over together, many in one statement.
//!
//! A run's last write (its cleanup round, the destruction of its secrets, the end of cleanup,
//! its attempts closed) changes what the API shows, so it notifies the run feed. A notifying
//! transaction holds a lock for the whole cluster until its commit is durable, and each of
//! those writes was half a dozen statements: runs of one worker that ended at about the same
//! time committed one after another, each paying its own round trips and its own WAL flush.
//! The finisher takes every closing that is waiting when it starts (up to
//! [`MOST_PER_COMMIT`]) and writes them with one statement ([`closing::close_many`]), so one
//! round trip and one commit end them all.
//!
//! Fencing is per run, as before: each closing carries its own lease token, and one whose lease
//! was lost writes nothing and is told [`StepError::LeaseLost`]; the others commit. If the
//! batch's statement fails, each closing is written again on its own, so a database error that
//! belongs to one run is told to that run alone and the others still commit. A lone closing
//! costs one statement; nothing waits for company.

use std::sync::{Arc, OnceLock};

use antpath_db::PgPool;
use antpath_db::closing::{self, Closing};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::{StepError, StepResult};

/// Closings written by one statement at most.
pub const MOST_PER_COMMIT: usize = 32;

/// Statements of closings in flight at once (each on its own connection).
const LANES: usize = 2;

type Request = (Closing, oneshot::Sender<StepResult<()>>);

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

    /// Writes `closing`, possibly together with others, and returns once it has committed (or
    /// with the reason it did not).
    pub async fn finish(&self, closing: Closing) -> StepResult<()> {
        let (told, answer) = oneshot::channel();
        self.queue()
            .send((closing, told))
            .map_err(|_| StepError::Bug("the finisher has stopped".into()))?;
        answer
            .await
            .map_err(|_| StepError::Bug("the finisher dropped a closing".into()))?
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

/// Takes what is waiting (at least one closing), writes it, and again; ends when the finisher
/// is dropped.
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

/// One statement for the batch; every closing is told its own result. A failed statement is
/// retried closing by closing, so its error reaches only the closings it belongs to.
async fn write_batch(pool: &PgPool, batch: Vec<Request>) {
    let (closings, told): (Vec<Closing>, Vec<_>) = batch.into_iter().unzip();
    match closing::close_many(pool, &closings).await {
        Ok(closed) => {
            for (closing, told) in closings.iter().zip(told) {
                let _ = told.send(fenced(closing, &closed));
            }
        }
        Err(err) if closings.len() == 1 => {
            if let Some(told) = told.into_iter().next() {
                let _ = told.send(Err(StepError::Db(err)));
            }
        }
        Err(err) => {
            tracing::warn!(
                closings = closings.len(),
                error.message = %StepError::Db(err).public_message(),
                "a batch of run closings failed; writing them one by one"
            );
            for (closing, told) in closings.iter().zip(told) {
                let result = closing::close_many(pool, std::slice::from_ref(closing))
                    .await
                    .map_err(StepError::Db)
                    .and_then(|closed| fenced(closing, &closed));
                let _ = told.send(result);
            }
        }
    }
}

/// `Ok` if `closing`'s run is among the `closed`, else its lease was lost.
fn fenced(closing: &Closing, closed: &[antpath_types::RunId]) -> StepResult<()> {
    if closed.contains(&closing.fence.run_id) {
        Ok(())
    } else {
        Err(StepError::LeaseLost)
    }
}
