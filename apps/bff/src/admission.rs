//! Group admission: the submissions that wait in this replica at the same moment are admitted
//! together, by one statement and one read-back.
//!
//! A submission hands its [`Admission`] to [`Admissions::admit`] and waits for its answer. A
//! few admitter tasks take turns at the queue: the free one takes the oldest waiting
//! submission and every other waiting one of the same workspace (up to [`MAX_GROUP`]), admits
//! them with [`admission::admit_many`] and reads the created and existing runs back once they
//! are durable ([`run_reads::get_many_durable`]). A group holds one workspace's lock, so groups
//! of different workspaces run side by side while one workspace's run one after another. Nobody waits
//! for a group to fill: a submission that finds an admitter free is admitted at once, alone,
//! and groups form only while every admitter is busy, which is when sharing a statement, a
//! workspace lock and a WAL flush pays. The decisions are those of one submission at a time
//! (see the db module), and two submissions with the same idempotency key never share a group:
//! the later one waits for the next, where it meets the first one's run.
//!
//! When a group's statement fails, every submission of the group is admitted again alone, so
//! each hears its own outcome and one bad row cannot fail the others.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, OnceLock};

use antpath_db::admission::{self, Admission, Admitted};
use antpath_db::run_reads::{self, RunRecord};
use antpath_db::{DbError, PgPool};
use antpath_types::{RunId, WorkspaceId};
use tokio::sync::{Mutex, mpsc, oneshot};

/// Admitter tasks per replica: groups in flight at once. More than one lets a group's
/// statement run while the previous group waits for its flush, and lets the next group of a
/// busy workspace be sent while the one before it holds the workspace's lock, so it starts
/// the moment that lock is free. Measured with the load bench (64 clients, one workspace):
/// 3 admitters took ~1,010 submissions/s, 5 took ~1,340/s with the 16-workspace figure
/// unchanged, and 8 took ~1,270/s but cost the 16-workspace case a fifth of its rate (the
/// pool's connections go to admitters instead of the other requests).
const ADMITTERS: usize = 5;

/// Most submissions in one group: bounds the statement's size and the wait of its first row.
pub const MAX_GROUP: usize = 64;

/// What a submission hears: its outcome and, for a created or an existing run, that run as read
/// back once durable.
pub type Answer = Result<(Admitted, Option<RunRecord>), DbError>;

/// Cheap to share; starts its tasks on first use (inside the runtime).
#[derive(Debug)]
pub struct Admissions {
    pool: PgPool,
    asks: OnceLock<mpsc::UnboundedSender<Ask>>,
}

/// A waiting submission.
#[derive(Debug)]
struct Ask {
    admission: Admission,
    reply: oneshot::Sender<Answer>,
}

/// The admitters' shared queue: the channel and the asks put back because their idempotency
/// key was already in the group being formed.
#[derive(Debug)]
struct Queue {
    asks: mpsc::UnboundedReceiver<Ask>,
    deferred: VecDeque<Ask>,
}

impl Admissions {
    /// Admissions over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            asks: OnceLock::new(),
        }
    }

    /// Admits one submission, in the next group; see the module docs.
    pub async fn admit(&self, admission: Admission) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.queue()
            .send(Ask { admission, reply })
            .map_err(|_| DbError::Sqlx(sqlx::Error::PoolClosed))?;
        answer
            .await
            .unwrap_or(Err(DbError::Sqlx(sqlx::Error::PoolClosed)))
    }

    fn queue(&self) -> &mpsc::UnboundedSender<Ask> {
        self.asks.get_or_init(|| {
            let (ask, asks) = mpsc::unbounded_channel();
            let queue = Arc::new(Mutex::new(Queue {
                asks,
                deferred: VecDeque::new(),
            }));
            // They end when the state (the one sender) is dropped and the queue is empty.
            for _ in 0..ADMITTERS {
                let (pool, queue) = (self.pool.clone(), Arc::clone(&queue));
                tokio::spawn(async move {
                    while let Some(group) = next_group(&queue).await {
                        answer_group(&pool, group).await;
                    }
                });
            }
            ask
        })
    }
}

/// Waits for one ask, then takes every other waiting ask of the same workspace, up to
/// [`MAX_GROUP`]: the put-back ones first, as they came earlier. The asks of other workspaces
/// stay queued, in order, for the next free admitter, so groups of different workspaces run
/// side by side instead of waiting for each other's locks. `None` once the queue is closed and
/// empty.
async fn next_group(queue: &Mutex<Queue>) -> Option<Vec<Ask>> {
    let mut queue = queue.lock().await;
    let first = match queue.deferred.pop_front() {
        Some(ask) => ask,
        None => queue.asks.recv().await?,
    };
    let workspace = first.admission.run.workspace_id;
    while let Ok(ask) = queue.asks.try_recv() {
        queue.deferred.push_back(ask);
    }
    let mut keys: HashSet<String> = HashSet::new();
    let mut group = Vec::new();
    let mut left = VecDeque::with_capacity(queue.deferred.len());
    // The first always joins: the group is empty and it names the group's workspace.
    for ask in std::iter::once(first).chain(queue.deferred.drain(..)) {
        let joins = group.len() < MAX_GROUP
            && ask.admission.run.workspace_id == workspace
            // A key already in the group waits for the next one.
            && ask
                .admission
                .run
                .idempotency_key
                .as_ref()
                .is_none_or(|key| keys.insert(key.clone()));
        if joins {
            group.push(ask);
        } else {
            left.push_back(ask);
        }
    }
    queue.deferred = left;
    Some(group)
}

/// Admits a group and tells each submission its answer; a failed group is admitted again one
/// submission at a time.
async fn answer_group(pool: &PgPool, group: Vec<Ask>) {
    let (admissions, replies): (Vec<Admission>, Vec<oneshot::Sender<Answer>>) = group
        .into_iter()
        .map(|ask| (ask.admission, ask.reply))
        .unzip();
    match answers(pool, &admissions).await {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                // A submission whose client left no longer listens; its run stands.
                let _ = reply.send(answer);
            }
        }
        Err(err) if admissions.len() == 1 => {
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(err));
            }
        }
        Err(err) => {
            tracing::warn!(
                error.message = %err,
                admissions = admissions.len(),
                "a group admission failed; admitting its submissions one at a time"
            );
            for (admission, reply) in admissions.iter().zip(replies) {
                let answer = match answers(pool, std::slice::from_ref(admission)).await {
                    Ok(mut one) => one
                        .pop()
                        .unwrap_or(Err(DbError::Sqlx(sqlx::Error::RowNotFound))),
                    Err(err) => Err(err),
                };
                let _ = reply.send(answer);
            }
        }
    }
}

/// The answers to a group, in its order: its outcomes and the runs they name, read back once
/// the group's commit is durable.
async fn answers(pool: &PgPool, group: &[Admission]) -> Result<Vec<Answer>, DbError> {
    let outcomes = admission::admit_many(pool, group).await?;
    let wanted: Vec<(WorkspaceId, RunId)> = group
        .iter()
        .zip(&outcomes)
        .filter_map(|(admission, outcome)| {
            run_of(outcome.as_ref().ok()?).map(|id| (admission.run.workspace_id, id))
        })
        .collect();
    let mut records: HashMap<RunId, RunRecord> = if wanted.is_empty() {
        HashMap::new()
    } else {
        run_reads::get_many_durable(pool, &wanted)
            .await?
            .into_iter()
            .map(|record| (record.id, record))
            .collect()
    };
    Ok(outcomes
        .into_iter()
        .map(|outcome| {
            outcome.map(|admitted| {
                let record = run_of(&admitted).and_then(|id| records.remove(&id));
                (admitted, record)
            })
        })
        .collect())
}

/// The run an outcome names, if any.
fn run_of(admitted: &Admitted) -> Option<RunId> {
    match admitted {
        Admitted::Created(id) | Admitted::Existing(id) => Some(*id),
        _ => None,
    }
}
