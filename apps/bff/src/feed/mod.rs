//! The run feed: live run changes for the streams of `GET /v1/runs/{id}/stream`, with one
//! `LISTEN` connection per replica and no polling per stream.
//!
//! - The database says *that* a run changed: triggers (`migrations/…_run_feed.sql`) notify
//!   [`CHANNEL`] with the run id when the run object changes or an event is stored.
//! - The feed holds one [`topic`] per run that has at least one open stream on this replica.
//!   A notification wakes that run's topic; the topic (not each stream) reads the run and its
//!   new events once and publishes a [`Snapshot`] on a `watch` channel. A thousand streams on
//!   one run cost one read per change, and a stream that falls behind skips straight to the
//!   latest run object. Wake-ups that arrive during a read fold into one more read.
//! - The snapshot keeps the newest [`RECENT_EVENTS`] events, so a stream that reconnects or
//!   wakes up after a burst usually needs no read of its own; one further behind pages
//!   through the events in the database from its own position.
//! - The `LISTEN` connection starts with the first stream and reconnects with backoff
//!   ([`antpath_lease::listener::listen_to`]). After every (re)connect each topic reads again,
//!   so a notification lost while the connection was down delays an update but loses nothing.
//! - A topic watches its run (`antpath_db::feed_watches`) before its first read and again after
//!   every (re)connect: the triggers notify only about watched runs, so the commits of the
//!   many runs nobody streams never wait on the cluster's notification lock. The replica
//!   renews its watches every minute; a topic deletes its own when it ends.
//! - A topic ends when its last stream goes, when its run can no longer be read, or at
//!   [`RunFeed::shutdown`], which also ends every stream so a graceful shutdown does not wait
//!   for them.

mod topic;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use antpath_db::{PgPool, feed_watches};
use antpath_lease::listener::{self, Heard};
use antpath_types::{RunId, WorkspaceId};
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
pub(crate) use topic::{FeedEvent, Snapshot, TopicState};
use topic::{LoadFailure, Topic};

/// The notification channel of run changes; the payload is the run's UUID.
pub const CHANNEL: &str = "antpath_run_changes";

/// Events a snapshot keeps in memory for streams that are a little behind.
pub const RECENT_EVENTS: usize = 256;

/// Cheap-to-clone handle on the feed of this replica.
#[derive(Clone, Debug)]
pub struct RunFeed(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    /// The topics by run; more than one only when streams of different workspaces asked for
    /// the same run id (the foreign one ends as not found).
    topics: Mutex<HashMap<RunId, Vec<Arc<Topic>>>>,
    /// Set once the `LISTEN` task is started.
    listening: std::sync::Once,
    /// Ends the listener, every topic and every stream.
    shutdown: CancellationToken,
    /// For `/metrics`.
    counters: Arc<Counters>,
    /// Who this replica is to `run_watches`.
    watching: Arc<Watching>,
}

/// This replica's part in `run_watches`.
#[derive(Debug)]
pub(crate) struct Watching {
    /// The replica's id, random per process.
    pub replica: uuid::Uuid,
    /// How many times the `LISTEN` connection has connected: a topic watches again when this
    /// moved since its last watch (a restarted server has lost every watch).
    connections: AtomicU64,
}

impl Watching {
    pub(crate) fn connections(&self) -> u64 {
        self.connections.load(Ordering::Acquire)
    }
}

/// What the feed counts for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Streams open now.
    streams: AtomicU64,
    /// Reads of a run by a topic (first reads and re-reads after a wake-up), all streams of
    /// the run together.
    reads: AtomicU64,
}

impl Counters {
    pub(crate) fn read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts one open stream for as long as it lives.
#[derive(Debug)]
pub(crate) struct StreamGuard(Arc<Counters>);

impl StreamGuard {
    fn new(counters: &Arc<Counters>) -> Self {
        counters.streams.fetch_add(1, Ordering::Relaxed);
        Self(counters.clone())
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// An open subscription to one run: the current snapshot, then every later one.
#[derive(Debug)]
pub struct Subscription {
    /// Snapshots as the topic publishes them.
    pub(crate) updates: tokio::sync::watch::Receiver<TopicState>,
    /// The first snapshot.
    pub(crate) first: Arc<Snapshot>,
    /// Cancelled when the server shuts down.
    pub(crate) shutdown: CancellationToken,
    /// For the pages of events a stream reads on its own.
    pub(crate) pool: PgPool,
    /// Counts the stream as open until dropped.
    pub(crate) guard: StreamGuard,
}

impl RunFeed {
    /// A feed reading through `pool`; it listens only once a stream subscribes.
    pub fn new(pool: PgPool) -> Self {
        Self(Arc::new(Inner {
            pool,
            topics: Mutex::new(HashMap::new()),
            listening: std::sync::Once::new(),
            shutdown: CancellationToken::new(),
            counters: Arc::default(),
            watching: Arc::new(Watching {
                replica: uuid::Uuid::new_v4(),
                connections: AtomicU64::new(0),
            }),
        }))
    }

    /// Subscribes to run `id` of `workspace`: a 404 for a run that is not the workspace's,
    /// a 503 while the database is unreachable or the server is shutting down.
    pub async fn subscribe(
        &self,
        workspace: WorkspaceId,
        id: RunId,
    ) -> Result<Subscription, ApiError> {
        if self.0.shutdown.is_cancelled() {
            return Err(ApiError::Unavailable("The server"));
        }
        self.start_listening();
        let mut updates = {
            let mut topics = self.lock();
            let runs = topics.entry(id).or_default();
            let existing = runs
                .iter()
                .find(|t| t.workspace == workspace && t.is_live())
                .cloned();
            match existing {
                Some(topic) => topic.subscribe(),
                None => {
                    let topic = Arc::new(Topic::new(id, workspace));
                    let updates = topic.subscribe();
                    runs.push(topic.clone());
                    tokio::spawn(topic::run(
                        Arc::downgrade(&self.0),
                        self.0.counters.clone(),
                        self.0.watching.clone(),
                        topic,
                    ));
                    updates
                }
            }
        };
        let state = updates
            .wait_for(|s| !matches!(s, TopicState::Loading))
            .await
            .map_err(|_| ApiError::Unavailable("The server"))?
            .clone();
        match state {
            TopicState::Ready(first) => Ok(Subscription {
                updates,
                first,
                shutdown: self.0.shutdown.clone(),
                pool: self.0.pool.clone(),
                guard: StreamGuard::new(&self.0.counters),
            }),
            TopicState::Gone => Err(ApiError::NotFound("run")),
            TopicState::Failed(LoadFailure::Unavailable) => {
                Err(ApiError::Unavailable("The database"))
            }
            TopicState::Failed(LoadFailure::Internal) => Err(ApiError::Internal(anyhow::anyhow!(
                "the run feed could not read the run"
            ))),
            TopicState::Loading | TopicState::Closed => Err(ApiError::Unavailable("The server")),
        }
    }

    /// Ends the listener, every topic and every open stream (each closes its response).
    pub fn shutdown(&self) {
        self.0.shutdown.cancel();
    }

    /// How many runs this replica streams now.
    pub fn topic_count(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// How many streams are open on this replica now.
    pub fn open_streams(&self) -> u64 {
        self.0.counters.streams.load(Ordering::Relaxed)
    }

    /// How many times a topic read its run so far (all streams of a run share each read).
    pub fn reads(&self) -> u64 {
        self.0.counters.reads.load(Ordering::Relaxed)
    }

    /// The feed's lines of `/metrics` (Prometheus text).
    pub fn render_metrics(&self) -> String {
        let mut out = String::new();
        for (name, kind, help, value) in [
            (
                "antpath_bff_run_streams",
                "gauge",
                "Open run streams (GET /v1/runs/{id}/stream).",
                self.open_streams(),
            ),
            (
                "antpath_bff_run_feed_topics",
                "gauge",
                "Runs with at least one open stream on this replica.",
                self.topic_count() as u64,
            ),
            (
                "antpath_bff_run_feed_reads_total",
                "counter",
                "Reads of a run by the feed, each shared by all streams of the run.",
                self.reads(),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<RunId, Vec<Arc<Topic>>>> {
        self.0.lock()
    }

    /// Starts the one `LISTEN` task of this replica and the renewal of its watches, the first
    /// time a stream subscribes.
    fn start_listening(&self) {
        self.0.listening.call_once(|| {
            tokio::spawn(renew_watches(
                self.0.pool.clone(),
                self.0.watching.replica,
                self.0.shutdown.clone(),
            ));
            let feed = Arc::downgrade(&self.0);
            tokio::spawn(listener::listen_to(
                self.0.pool.clone(),
                CHANNEL.to_owned(),
                self.0.shutdown.clone(),
                move |heard| {
                    if let Some(feed) = feed.upgrade() {
                        feed.heard(heard);
                    }
                },
            ));
        });
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<RunId, Vec<Arc<Topic>>>> {
        // A panic while holding the lock cannot leave the map half-changed: every change is a
        // single insert or remove.
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the topics a notification concerns: one run's, or after a reconnect all of them.
    fn heard(&self, heard: Heard<'_>) {
        let topics = self.lock();
        match heard {
            Heard::Notification(payload) => {
                let Ok(uuid) = payload.parse::<uuid::Uuid>() else {
                    tracing::warn!(
                        notification.channel = CHANNEL,
                        "ignored a notification whose payload is not a run id"
                    );
                    return;
                };
                for topic in topics.get(&RunId::from(uuid)).into_iter().flatten() {
                    topic.wake();
                }
            }
            Heard::Reconnected => {
                self.watching.connections.fetch_add(1, Ordering::AcqRel);
                for topic in topics.values().flatten() {
                    topic.wake();
                }
            }
        }
    }

    /// Forgets `topic` if no stream is subscribed to it any more (or `always`); true when it
    /// was forgotten. Runs under the map lock, which every subscription also takes, so no
    /// stream can join a topic that is being dropped.
    fn forget(&self, topic: &Arc<Topic>, always: bool) -> bool {
        let mut topics = self.lock();
        if !always && topic.has_subscribers() {
            return false;
        }
        if let Some(runs) = topics.get_mut(&topic.run) {
            runs.retain(|t| !Arc::ptr_eq(t, topic));
            if runs.is_empty() {
                topics.remove(&topic.run);
            }
        }
        true
    }
}

/// Renews the replica's watches every [`feed_watches::RENEW_EVERY`] until shutdown.
async fn renew_watches(pool: PgPool, replica: uuid::Uuid, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(feed_watches::RENEW_EVERY) => {}
        }
        if let Err(err) = feed_watches::renew(&pool, replica).await {
            // The watches stay until the sweeper finds them stale, ten renewals from now.
            tracing::warn!(error.message = %err, "could not renew the run feed's watches");
        }
    }
}

/// The feed as a topic task sees it: gone when the state was dropped.
type FeedRef = Weak<Inner>;
