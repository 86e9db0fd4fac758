//! One run's topic: the task that reads the run when woken and publishes a [`Snapshot`] to
//! every stream of the run on this replica.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use antpath_db::feed_watches::{self, Watch};
use antpath_db::{PgPool, run_outputs, run_reads};
use antpath_types::{CleanupState, RunId, RunStatus, WorkspaceId};
use anyhow::Context as _;
use tokio::sync::{Notify, watch};

use super::{Counters, FeedRef, RECENT_EVENTS, Watching};
use crate::views::{EventView, RunView};

/// Events read per query when a topic catches up.
const EVENT_PAGE: i64 = 500;
/// First pause before a topic reads again after a failed read.
const RETRY_BASE: Duration = Duration::from_millis(200);
/// Longest pause between reads of a topic whose reads fail.
const RETRY_CAP: Duration = Duration::from_secs(10);

/// One stored event, serialised once for every stream.
#[derive(Debug, Clone)]
pub(crate) struct FeedEvent {
    /// Its position in the run's events.
    pub seq: i64,
    /// The JSON of `GET /v1/runs/{id}/events` items.
    pub json: Arc<str>,
}

/// What a topic last read of its run.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    /// Grows whenever the run object changes.
    pub run_version: u64,
    /// The JSON of `GET /v1/runs/{id}`.
    pub run: Arc<str>,
    /// The run's status is terminal and its cleanup settled: its stream ends.
    pub finished: bool,
    /// The newest events, oldest first: every event with `floor < seq <= last_seq`.
    pub recent: VecDeque<FeedEvent>,
    /// See `recent`.
    pub floor: i64,
    /// The highest `seq` the topic has read (0 before the first event).
    pub last_seq: i64,
}

/// Why the first read of a topic failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoadFailure {
    /// The database is unreachable.
    Unavailable,
    /// Anything else (logged where it happened).
    Internal,
}

/// What a topic publishes.
#[derive(Debug, Clone)]
pub(crate) enum TopicState {
    /// The first read is under way.
    Loading,
    /// The run as last read.
    Ready(Arc<Snapshot>),
    /// The run cannot be read (never was the workspace's, or was removed).
    Gone,
    /// The first read failed.
    Failed(LoadFailure),
    /// The server is shutting down.
    Closed,
}

/// One run's topic.
#[derive(Debug)]
pub(crate) struct Topic {
    pub run: RunId,
    pub workspace: WorkspaceId,
    /// Its row in `run_watches`.
    watch_id: uuid::Uuid,
    wake: Notify,
    state: watch::Sender<TopicState>,
}

impl Topic {
    pub fn new(run: RunId, workspace: WorkspaceId) -> Self {
        let wake = Notify::new();
        // The first read is due at once.
        wake.notify_one();
        Self {
            run,
            workspace,
            watch_id: uuid::Uuid::new_v4(),
            wake,
            state: watch::Sender::new(TopicState::Loading),
        }
    }

    /// A receiver of this topic's snapshots; call under the feed's map lock.
    pub fn subscribe(&self) -> watch::Receiver<TopicState> {
        self.state.subscribe()
    }

    /// Asks for one more read; wake-ups before it starts fold into one.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Whether a new stream may join (the topic is loading or ready).
    pub fn is_live(&self) -> bool {
        matches!(
            *self.state.borrow(),
            TopicState::Loading | TopicState::Ready(_)
        )
    }

    pub fn has_subscribers(&self) -> bool {
        self.state.receiver_count() > 0
    }
}

/// The topic's task: reads when woken, until its last stream goes, its run is gone, or the
/// feed shuts down.
pub(crate) async fn run(
    feed: FeedRef,
    counters: Arc<Counters>,
    watching: Arc<Watching>,
    topic: Arc<Topic>,
) {
    let Some((pool, shutdown)) = feed.upgrade().map(|f| (f.pool.clone(), f.shutdown.clone()))
    else {
        return;
    };
    let mut watched = Watched {
        watch: Watch {
            workspace: topic.workspace,
            run: topic.run,
            topic: topic.watch_id,
            replica: watching.replica,
        },
        connection: None,
    };
    let mut failures = 0u32;
    let mut current: Option<Arc<Snapshot>> = None;
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => {
                topic.state.send_replace(TopicState::Closed);
                forget(&feed, &topic, true);
                break;
            }
            () = topic.state.closed() => {
                if forget(&feed, &topic, false) {
                    break;
                }
                continue;
            }
            () = topic.wake.notified() => {}
        }
        counters.read();
        match watch_and_read(&pool, &topic, current.as_deref(), &watching, &mut watched).await {
            Ok(Some(next)) => {
                failures = 0;
                let changed = current.as_ref().is_none_or(|c| {
                    c.run_version != next.run_version || c.last_seq != next.last_seq
                });
                if changed {
                    let next = Arc::new(next);
                    current = Some(next.clone());
                    topic.state.send_replace(TopicState::Ready(next));
                }
            }
            Ok(None) => {
                topic.state.send_replace(TopicState::Gone);
                forget(&feed, &topic, true);
                break;
            }
            Err(err) => {
                let unavailable = err
                    .downcast_ref::<sqlx::Error>()
                    .is_some_and(antpath_db::is_unavailable);
                let chain: Vec<String> = err.chain().skip(1).map(ToString::to_string).collect();
                tracing::warn!(
                    run.id = %topic.run,
                    error.message = %err,
                    error.chain = ?chain,
                    "the run feed could not read a run"
                );
                if current.is_none() {
                    let failure = if unavailable {
                        LoadFailure::Unavailable
                    } else {
                        LoadFailure::Internal
                    };
                    topic.state.send_replace(TopicState::Failed(failure));
                    forget(&feed, &topic, true);
                    break;
                }
                // Streams keep the last snapshot; the topic tries again after a pause.
                failures = failures.saturating_add(1);
                let pause = antpath_lease::backoff(RETRY_BASE, RETRY_CAP, failures).max(RETRY_BASE);
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = tokio::time::sleep(pause) => {}
                }
                topic.wake();
            }
        }
    }
    if watched.connection.is_some()
        && let Err(err) = feed_watches::unwatch(&pool, &watched.watch).await
    {
        // The sweeper deletes it once it is stale; until then it costs a notification.
        tracing::debug!(run.id = %topic.run, error.message = %err, "could not end a watch");
    }
}

/// A topic's watch, and the connection count it was stored under (none before the first).
struct Watched {
    watch: Watch,
    connection: Option<u64>,
}

fn forget(feed: &FeedRef, topic: &Arc<Topic>, always: bool) -> bool {
    feed.upgrade().is_none_or(|f| f.forget(topic, always))
}

/// Watches the run if this connection has not seen its watch yet, then reads it.
async fn watch_and_read(
    pool: &PgPool,
    topic: &Topic,
    current: Option<&Snapshot>,
    watching: &Watching,
    watched: &mut Watched,
) -> anyhow::Result<Option<Snapshot>> {
    let connection = watching.connections();
    if watched.connection != Some(connection) {
        if !feed_watches::watch(pool, &watched.watch).await? {
            return Ok(None);
        }
        watched.connection = Some(connection);
    }
    read(pool, topic, current).await
}

/// Reads the run and the events after `current`'s; `None` when the run cannot be read.
async fn read(
    pool: &PgPool,
    topic: &Topic,
    current: Option<&Snapshot>,
) -> anyhow::Result<Option<Snapshot>> {
    // The run first: the events read after it include every event its status follows.
    let Some(record) = run_reads::get(pool, topic.workspace, topic.run).await? else {
        return Ok(None);
    };
    let finished = is_finished(record.status, record.cleanup_state);
    let run: Arc<str> = serde_json::to_string(&RunView::from(record))
        .context("while encoding a run")?
        .into();
    let Some(current) = current else {
        // A new topic starts at the newest event: older ones are every stream's own read.
        let last_seq = run_outputs::last_event_seq(pool, topic.workspace, topic.run)
            .await?
            .unwrap_or(0);
        return Ok(Some(Snapshot {
            run_version: 1,
            run,
            finished,
            recent: VecDeque::new(),
            floor: last_seq,
            last_seq,
        }));
    };
    let run_version = if *current.run == *run {
        current.run_version
    } else {
        current.run_version + 1
    };
    let mut next = Snapshot {
        run_version,
        run,
        finished,
        ..current.clone()
    };
    loop {
        let page = run_outputs::list_events(
            pool,
            topic.workspace,
            topic.run,
            Some(next.last_seq),
            EVENT_PAGE,
        )
        .await?;
        let full = page.len() as i64 == EVENT_PAGE;
        for record in page {
            let seq = record.seq;
            let json = serde_json::to_string(&EventView::from(record))
                .context("while encoding an event")?;
            next.recent.push_back(FeedEvent {
                seq,
                json: json.into(),
            });
            next.last_seq = seq;
        }
        while next.recent.len() > RECENT_EVENTS {
            if let Some(dropped) = next.recent.pop_front() {
                next.floor = dropped.seq;
            }
        }
        if !full {
            return Ok(Some(next));
        }
    }
}

/// The rule of the SDK's and the CLI's `wait`: the outcome is known and no cleanup round is
/// due or under way (`retrying` and `abandoned` count as settled: nothing changes soon).
pub(crate) fn is_finished(status: RunStatus, cleanup: CleanupState) -> bool {
    status.is_terminal() && !matches!(cleanup, CleanupState::Pending | CleanupState::Running)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_finished_once_terminal_with_cleanup_no_longer_pending_or_running() {
        assert!(!is_finished(
            RunStatus::ProviderRunning,
            CleanupState::Pending
        ));
        assert!(!is_finished(RunStatus::Succeeded, CleanupState::Running));
        assert!(!is_finished(RunStatus::Failed, CleanupState::Pending));
        for settled in [
            CleanupState::Succeeded,
            CleanupState::Retained,
            CleanupState::Retrying,
            CleanupState::Abandoned,
        ] {
            assert!(is_finished(RunStatus::Succeeded, settled), "{settled:?}");
        }
        assert!(!is_finished(RunStatus::Cancelling, CleanupState::Succeeded));
    }
}
