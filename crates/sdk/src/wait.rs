//! Following a run to its end: [`Client::wait`] and the progress stream [`Client::follow`].
//!
//! Both poll: the run, and for `follow` its events. The interval starts at
//! [`WaitOptions::initial_interval`], grows by half after every poll that saw nothing new, up
//! to [`WaitOptions::max_interval`], and drops back when something changed, so an active run
//! is watched closely and a long quiet one costs few requests.
//!
//! Events are read from the cursor of the last page that was not full, and anything at or
//! below the highest `seq` already seen is skipped, so nothing is yielded twice and nothing is
//! missed when the API hands out no cursor at the end of the list.

use std::collections::VecDeque;
use std::time::Duration;

use antpath_types::{RunId, RunStatus};
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{Run, RunEvent};
use crate::runs::ListEvents;

/// How a wait polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// The first interval between polls.
    pub initial_interval: Duration,
    /// The longest interval between polls.
    pub max_interval: Duration,
    /// Give up with [`Error::WaitTimeout`] after this long; `None` waits for ever.
    pub timeout: Option<Duration>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(5),
            timeout: None,
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
    /// A new event arrived.
    Event(RunEvent),
}

impl Client {
    /// Waits until the run reaches a terminal status, and returns it.
    pub async fn wait(&self, id: RunId) -> Result<Run> {
        self.wait_with(id, WaitOptions::default()).await
    }

    /// [`Client::wait`] with explicit polling options.
    pub async fn wait_with(&self, id: RunId, options: WaitOptions) -> Result<Run> {
        let started = Instant::now();
        let mut interval = options.initial_interval;
        let mut last = None;
        loop {
            let run = self.get_run(id).await?;
            if run.status.is_terminal() {
                return Ok(run);
            }
            interval = next_interval(interval, last != Some(run.status), &options);
            last = Some(run.status);
            sleep_within(interval, started, id, &options).await?;
        }
    }

    /// The run's status changes and new events, as they arrive, ending after the terminal
    /// status (and the events that came before it). Errors are yielded and end the stream;
    /// the client already retried them.
    pub fn follow(
        &self,
        id: RunId,
        options: WaitOptions,
    ) -> impl Stream<Item = Result<Progress>> + Send + 'static {
        let state = Follower {
            client: self.clone(),
            id,
            options,
            started: Instant::now(),
            interval: options.initial_interval,
            status: None,
            page_cursor: None,
            last_seq: 0,
            queue: VecDeque::new(),
            polled: false,
            done: false,
        };
        futures_util::stream::unfold(state, |mut state| async move {
            loop {
                if let Some(item) = state.queue.pop_front() {
                    return Some((Ok(item), state));
                }
                if state.done {
                    return None;
                }
                if let Err(error) = state.poll().await {
                    state.done = true;
                    return Some((Err(error), state));
                }
            }
        })
        .boxed()
    }
}

/// The state of one [`Client::follow`] stream.
struct Follower {
    client: Client,
    id: RunId,
    options: WaitOptions,
    started: Instant,
    interval: Duration,
    status: Option<RunStatus>,
    page_cursor: Option<String>,
    last_seq: u64,
    queue: VecDeque<Progress>,
    polled: bool,
    done: bool,
}

impl Follower {
    /// Sleeps (except before the first poll), then reads the run and new events into the queue.
    async fn poll(&mut self) -> Result<()> {
        if self.polled {
            sleep_within(self.interval, self.started, self.id, &self.options).await?;
        }
        self.polled = true;
        // The run first: events read afterwards include everything before its status.
        let run = self.client.get_run(self.id).await?;
        let mut changed = self.read_events().await?;
        if self.status != Some(run.status) {
            changed = true;
            self.done = run.status.is_terminal();
            self.queue.push_back(Progress::Status {
                previous: self.status.replace(run.status),
                run: Box::new(run),
            });
        }
        self.interval = next_interval(self.interval, changed, &self.options);
        Ok(())
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
                if event.seq > self.last_seq {
                    self.last_seq = event.seq;
                    self.queue.push_back(Progress::Event(event));
                    any = true;
                }
            }
            match page.next_cursor {
                // An empty page with a cursor would loop for ever; read it again next poll.
                Some(cursor) if !empty => self.page_cursor = Some(cursor),
                _ => return Ok(any),
            }
        }
    }
}

fn next_interval(current: Duration, changed: bool, options: &WaitOptions) -> Duration {
    if changed {
        options.initial_interval
    } else {
        current.mul_f64(1.5).min(options.max_interval)
    }
}

/// Sleeps for `interval`, or fails when that would pass the wait's time-out.
async fn sleep_within(
    interval: Duration,
    started: Instant,
    run_id: RunId,
    options: &WaitOptions,
) -> Result<()> {
    if let Some(timeout) = options.timeout {
        let deadline = started + timeout;
        if Instant::now() + interval > deadline {
            tokio::time::sleep_until(deadline).await;
            return Err(Error::WaitTimeout {
                run_id,
                waited: started.elapsed(),
            });
        }
    }
    tokio::time::sleep(interval).await;
    Ok(())
}
