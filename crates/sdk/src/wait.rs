//! Following a run to its end: [`Client::wait`] and the progress stream [`Client::follow`].
//!
//! A run is finished for a client when its status is terminal (the outcome is known) and its
//! cleanup is no longer pending or running ([`Run::is_finished`]). The status turns terminal
//! when cleanup starts, so both keep watching after it for at most
//! [`WaitOptions::cleanup_grace`], then return the run as it is: the outcome does not change
//! any more, and a cleanup that takes longer goes on without the caller.
//!
//! `follow` listens to the server's live stream of the run (`GET /v1/runs/{id}/stream`,
//! Server-Sent Events) when the server offers it: the run and its events arrive as they
//! happen, with no polling. A dropped stream is reopened with `Last-Event-ID`, so no event is
//! missed or repeated; failures to reopen are retried like any safe request (the client's
//! [`crate::RetryPolicy`]), and a connection that stays silent for 45 s (the server sends a
//! keep-alive every 15 s) counts as dropped. A server without the route
//! (`404`, `405` or `501` on the first attempt, or an answer that is not an event stream) is
//! followed by polling instead. Its `404` looks like the one of an unknown run, so the
//! polling's first read of the run decides: an unknown run still fails with `not_found`.
//!
//! `wait`, and `follow` without a stream, poll: the run, and for `follow` its events. The
//! interval starts at [`WaitOptions::initial_interval`], grows by half after every poll that
//! saw nothing new, up to [`WaitOptions::max_interval`], and drops back when something
//! changed, so an active run is watched closely and a long quiet one costs few requests.
//!
//! Polled events are read from the cursor of the last page that was not full, and anything
//! at or below the highest `seq` already seen is skipped (by the stream too), so nothing is
//! yielded twice and nothing is missed when the API hands out no cursor at the end of the
//! list.

use std::collections::VecDeque;
use std::time::Duration;

use antpath_types::{CleanupState, RunId, RunStatus};
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::live::Live;
use crate::model::{Run, RunEvent};
use crate::runs::ListEvents;

/// How long a wait keeps polling for cleanup after the status turned terminal, by default:
/// cleanup of a run normally takes a few seconds.
pub const DEFAULT_CLEANUP_GRACE: Duration = Duration::from_secs(30);

/// How a wait polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// The first interval between polls.
    pub initial_interval: Duration,
    /// The longest interval between polls.
    pub max_interval: Duration,
    /// Give up with [`Error::WaitTimeout`] after this long; `None` waits for ever. Once the
    /// status is terminal the wait never fails: at the time-out it returns the run.
    pub timeout: Option<Duration>,
    /// After the status turned terminal, how long to keep polling until cleanup settles;
    /// zero returns at the terminal status.
    pub cleanup_grace: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(5),
            timeout: None,
            cleanup_grace: DEFAULT_CLEANUP_GRACE,
        }
    }
}

/// One step of a followed run.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The run's status changed (the first item is always one, with `previous: None`).
    Status {
        /// The run as read.
        run: Box<Run>,
        /// The status before, if any was seen.
        previous: Option<RunStatus>,
    },
    /// The run's cleanup state changed while its status stayed the same.
    Cleanup {
        /// The run as read.
        run: Box<Run>,
        /// The cleanup state before.
        previous: CleanupState,
    },
    /// A new event arrived.
    Event(RunEvent),
}

impl Client {
    /// Waits until the run is finished ([`Run::is_finished`]), or its status has been terminal
    /// for the cleanup grace of [`WaitOptions`], and returns it.
    pub async fn wait(&self, id: RunId) -> Result<Run> {
        self.wait_with(id, WaitOptions::default()).await
    }

    /// [`Client::wait`] with explicit polling options.
    pub async fn wait_with(&self, id: RunId, options: WaitOptions) -> Result<Run> {
        let mut clock = Clock::new(id, options);
        let mut last = None;
        loop {
            let run = self.get_run(id).await?;
            let seen = (run.status, run.cleanup.state);
            clock.changed(last != Some(seen));
            last = Some(seen);
            match clock.next(&run) {
                Next::Return => return Ok(run),
                next => clock.sleep(next).await?,
            }
        }
    }

    /// The run's status and cleanup changes and new events, as they arrive, ending once the
    /// run is finished or the cleanup grace is over (after the events that came before).
    /// Errors are yielded and end the stream; the client already retried them. Uses the
    /// server's live stream when it has one, else polls (see the module docs).
    pub fn follow(
        &self,
        id: RunId,
        options: WaitOptions,
    ) -> impl Stream<Item = Result<Progress>> + Send + 'static {
        let state = Follower {
            client: self.clone(),
            id,
            clock: Clock::new(id, options),
            seen: None,
            page_cursor: None,
            last_seq: 0,
            queue: VecDeque::new(),
            next: None,
            done: false,
            live: Some(Live::default()),
        };
        futures_util::stream::unfold(state, |mut state| async move {
            loop {
                if let Some(item) = state.queue.pop_front() {
                    return Some((Ok(item), state));
                }
                if state.done {
                    return None;
                }
                let step = match state.live.take() {
                    Some(live) => live.step(&mut state).await,
                    None => state.poll().await,
                };
                if let Err(error) = step {
                    state.done = true;
                    return Some((Err(error), state));
                }
            }
        })
        .boxed()
    }
}

/// What a wait does after reading the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Stop and hand back the run.
    Return,
    /// Poll again after this long.
    Sleep(Duration),
    /// The time-out comes before the next poll: wait for it, then fail.
    TimeOut(Instant),
}

/// The deadlines and the polling interval of one wait.
pub(crate) struct Clock {
    id: RunId,
    options: WaitOptions,
    started: Instant,
    interval: Duration,
    /// When the status was first seen terminal; the cleanup grace counts from here.
    terminal_since: Option<Instant>,
}

impl Clock {
    fn new(id: RunId, options: WaitOptions) -> Self {
        Self {
            id,
            options,
            started: Instant::now(),
            interval: options.initial_interval,
            terminal_since: None,
        }
    }

    /// Resets the interval after a change, or lets it grow after a quiet poll.
    fn changed(&mut self, changed: bool) {
        self.interval = if changed {
            self.options.initial_interval
        } else {
            self.interval.mul_f64(1.5).min(self.options.max_interval)
        };
    }

    /// Decides after reading `run`.
    pub(crate) fn next(&mut self, run: &Run) -> Next {
        if run.is_finished() {
            return Next::Return;
        }
        let now = Instant::now();
        let deadline = self.options.timeout.map(|timeout| self.started + timeout);
        if run.status.is_terminal() {
            let since = *self.terminal_since.get_or_insert(now);
            let end = deadline.map_or(since + self.options.cleanup_grace, |deadline| {
                deadline.min(since + self.options.cleanup_grace)
            });
            return match end.checked_duration_since(now) {
                Some(left) if !left.is_zero() => Next::Sleep(self.interval.min(left)),
                _ => Next::Return,
            };
        }
        match deadline {
            Some(deadline) if now + self.interval > deadline => Next::TimeOut(deadline),
            _ => Next::Sleep(self.interval),
        }
    }

    /// When a follower that hears of changes as they happen must stop waiting for the next
    /// one: at the end of the cleanup grace (`false`: return the run) or at the time-out
    /// (`true`: fail).
    pub(crate) fn give_up_at(&self) -> Option<(Instant, bool)> {
        let deadline = self.options.timeout.map(|timeout| self.started + timeout);
        match (self.terminal_since, deadline) {
            (Some(since), deadline) => {
                let end = since + self.options.cleanup_grace;
                Some((deadline.map_or(end, |d| d.min(end)), false))
            }
            (None, Some(deadline)) => Some((deadline, true)),
            (None, None) => None,
        }
    }

    /// The error of a wait that ran out of time.
    pub(crate) fn timed_out(&self) -> Error {
        Error::WaitTimeout {
            run_id: self.id,
            waited: self.started.elapsed(),
        }
    }

    /// Sleeps as `next` says; fails at the time-out.
    async fn sleep(&self, next: Next) -> Result<()> {
        match next {
            Next::Return => Ok(()),
            Next::Sleep(interval) => {
                tokio::time::sleep(interval).await;
                Ok(())
            }
            Next::TimeOut(deadline) => {
                tokio::time::sleep_until(deadline).await;
                Err(self.timed_out())
            }
        }
    }
}

/// The state of one [`Client::follow`] stream.
pub(crate) struct Follower {
    pub(crate) client: Client,
    pub(crate) id: RunId,
    pub(crate) clock: Clock,
    seen: Option<(RunStatus, CleanupState)>,
    page_cursor: Option<String>,
    last_seq: u64,
    pub(crate) queue: VecDeque<Progress>,
    /// What the last poll decided; `None` before the first poll.
    next: Option<Next>,
    pub(crate) done: bool,
    /// The live stream, while the follower uses one; `None` once it polls.
    live: Option<Live>,
}

impl Follower {
    /// Sleeps (except before the first poll), then reads the run and new events into the queue.
    async fn poll(&mut self) -> Result<()> {
        if let Some(next) = self.next {
            self.clock.sleep(next).await?;
        }
        // The run first: events read afterwards include everything before its status.
        let run = self.client.get_run(self.id).await?;
        let changed = self.read_events().await?;
        let now = (run.status, run.cleanup.state);
        self.clock.changed(changed || self.seen != Some(now));
        let next = self.clock.next(&run);
        self.saw_run(run);
        self.done = next == Next::Return;
        self.next = Some(next);
        Ok(())
    }

    /// Keeps the live stream for the next step (it yields it back by value while it works).
    pub(crate) fn keep_live(&mut self, live: Live) {
        self.live = Some(live);
    }

    /// Queues a status or cleanup change if `run` shows one.
    pub(crate) fn saw_run(&mut self, run: Run) {
        let now = (run.status, run.cleanup.state);
        let before = self.seen.replace(now);
        match before {
            Some(before) if before == now => {}
            Some((status, cleanup)) if status == run.status => {
                self.queue.push_back(Progress::Cleanup {
                    previous: cleanup,
                    run: Box::new(run),
                });
            }
            before => {
                self.queue.push_back(Progress::Status {
                    previous: before.map(|(status, _)| status),
                    run: Box::new(run),
                });
            }
        }
    }

    /// Queues `event` unless it was already yielded.
    pub(crate) fn saw_event(&mut self, event: RunEvent) {
        if event.seq > self.last_seq {
            self.last_seq = event.seq;
            self.queue.push_back(Progress::Event(event));
        }
    }

    /// Queues events newer than the last one seen; true when there were any.
    async fn read_events(&mut self) -> Result<bool> {
        let mut any = false;
        loop {
            let params = ListEvents {
                limit: Some(100),
                cursor: self.page_cursor.clone(),
            };
            let page = self.client.list_events(self.id, &params).await?;
            let empty = page.data.is_empty();
            for event in page.data {
                let before = self.last_seq;
                self.saw_event(event);
                any |= self.last_seq != before;
            }
            match page.next_cursor {
                // An empty page with a cursor would loop for ever; read it again next poll.
                Some(cursor) if !empty => self.page_cursor = Some(cursor),
                _ => return Ok(any),
            }
        }
    }
}
