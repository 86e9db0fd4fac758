//! `GET /v1/runs/{id}/stream`: a run's changes and events as Server-Sent Events.
//!
//! The messages (docs/api.md, "Live run stream"):
//!
//! - `event: run`, `data:` the run object of `GET /v1/runs/{id}`: first on every connection,
//!   then whenever the run object changes;
//! - `event: event`, `id:` its `seq`, `data:` an item of `GET /v1/runs/{id}/events`, in `seq`
//!   order, each once;
//! - `event: end`, `data:` the final run object, once the run is finished (terminal status,
//!   cleanup no longer pending or running); the server then closes the stream;
//! - `: keep-alive` comments every `bff.stream_heartbeat_ms` of silence.
//!
//! A client that reconnects sends the last `id:` it received as `Last-Event-ID`; the stream
//! then sends the run object and only the events after that `seq`. The stream reads nothing
//! per change on its own: the [`crate::feed`] topic of the run reads once for every stream.
//! Only a stream that is behind the events the topic keeps in memory (a new client with
//! history to fetch, or one far behind) pages through the database from its own position.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use antpath_db::{PgPool, run_outputs};
use antpath_types::{RunId, WorkspaceId};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::parse_id;
use crate::auth::{Auth, Scope};
use crate::error::ApiError;
use crate::feed::{FeedEvent, Snapshot, StreamGuard, Subscription, TopicState};
use crate::state::AppState;
use crate::views::EventView;

/// Events a stream reads per query when it pages through the database.
const PAGE: i64 = 100;

/// The SSE `event:` names.
const RUN: &str = "run";
const EVENT: &str = "event";
const END: &str = "end";

/// `GET /v1/runs/{id}/stream`.
pub async fn stream(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth.require(Scope::RunsRead)?;
    let run: RunId = parse_id(&id, "run")?;
    let after = last_event_id(&headers)?;
    let subscription = state.feed.subscribe(auth.workspace_id, run).await?;
    let mut follower = Follower::new(subscription, auth.workspace_id, run, after);
    follower.recheck = auth
        .token_id()
        .map(|token| Recheck::every(token, state.stream_heartbeat));
    let keep_alive = KeepAlive::new()
        .interval(state.stream_heartbeat)
        .text("keep-alive");
    let mut response = Sse::new(follower.into_stream())
        .keep_alive(keep_alive)
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style proxies to pass each message on at once instead of buffering.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The token to check when its period is up; never, for a stream without one.
async fn next_recheck(recheck: &mut Option<Recheck>) -> antpath_types::TokenId {
    match recheck {
        Some(recheck) => {
            recheck.every.tick().await;
            recheck.token
        }
        None => std::future::pending().await,
    }
}

/// Reads `Last-Event-ID`: absent or empty is the start, anything but a `seq` we issue (the
/// digits of an event cursor) is a 400.
fn last_event_id(headers: &HeaderMap) -> Result<i64, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(0);
    };
    let bad =
        || ApiError::BadRequest("The Last-Event-ID header is not an id of this stream.".into());
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text.is_empty() {
        return Ok(0);
    }
    crate::views::cursor_number(text).ok_or_else(bad)
}

/// One stream's position and what it still has to send.
struct Follower {
    updates: watch::Receiver<TopicState>,
    shutdown: CancellationToken,
    pool: PgPool,
    workspace: WorkspaceId,
    run: RunId,
    /// The highest `seq` sent (or the client's `Last-Event-ID`).
    last_seq: i64,
    /// The run version last sent.
    sent_version: u64,
    /// Messages ready to go.
    queue: VecDeque<Event>,
    /// Events must be read from the database up to this `seq` before anything newer is sent.
    paging_to: Option<i64>,
    /// A run object to send once paging is over, and whether it ends the stream.
    pending_run: Option<(Arc<str>, bool)>,
    done: bool,
    /// The API token the stream was opened with, checked again as it runs.
    recheck: Option<Recheck>,
    /// Counts this stream as open.
    _guard: StreamGuard,
}

/// An open stream's API token, checked again every heartbeat period: revoking a token (or its
/// expiry, or its workspace going) ends the streams it opened, not only its next request. The
/// client's reconnect then meets the 401. A dashboard session's stream ends with the session's
/// next request instead.
struct Recheck {
    token: antpath_types::TokenId,
    every: tokio::time::Interval,
}

impl Recheck {
    fn every(token: antpath_types::TokenId, period: std::time::Duration) -> Self {
        let period = period.max(std::time::Duration::from_millis(10));
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self { token, every }
    }
}

impl Follower {
    fn new(subscription: Subscription, workspace: WorkspaceId, run: RunId, after: i64) -> Self {
        // The first snapshot is not kept: a stream holds only the topic's latest.
        let Subscription {
            updates,
            first,
            shutdown,
            pool,
            guard,
        } = subscription;
        let mut follower = Self {
            updates,
            shutdown,
            pool,
            workspace,
            run,
            last_seq: after,
            sent_version: first.run_version,
            queue: VecDeque::new(),
            paging_to: None,
            pending_run: None,
            done: false,
            recheck: None,
            _guard: guard,
        };
        // Every connection starts with the run object, then the events after its position.
        follower.queue.push_back(run_message(RUN, &first.run));
        follower.take_events(&first);
        if first.finished {
            follower.pending_run = Some((first.run.clone(), true));
        }
        follower
    }

    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
        futures_util::stream::unfold(self, |mut follower| async move {
            follower.next().await.map(|event| (Ok(event), follower))
        })
    }

    /// The next message, or `None` when the stream is over.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            if let Some(to) = self.paging_to {
                // Boxed: the paging query is rare, and an idle stream should not carry its
                // state machine inline.
                Box::pin(self.read_page(to)).await;
                continue;
            }
            if let Some((run, finished)) = self.pending_run.take() {
                if finished {
                    self.queue.push_back(run_message(END, &run));
                    self.done = true;
                } else {
                    self.queue.push_back(run_message(RUN, &run));
                }
                continue;
            }
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => self.done = true,
                token = next_recheck(&mut self.recheck) => {
                    // A failed check keeps the stream: the database being away is not a revocation.
                    if let Ok(false) = antpath_db::tokens::is_live(&self.pool, token).await {
                        self.done = true;
                    }
                }
                changed = self.updates.changed() => {
                    if changed.is_err() {
                        self.done = true;
                        continue;
                    }
                    let state = self.updates.borrow_and_update().clone();
                    match state {
                        TopicState::Ready(snapshot) => self.absorb(&snapshot),
                        // The run is gone or the server is stopping: close without `end`; a
                        // client that reconnects learns which (404, or another replica).
                        _ => self.done = true,
                    }
                }
            }
        }
    }

    /// Takes in a newer snapshot: its new events, then its run object if it changed.
    fn absorb(&mut self, snapshot: &Snapshot) {
        self.take_events(snapshot);
        if snapshot.run_version != self.sent_version {
            self.sent_version = snapshot.run_version;
            self.pending_run = Some((snapshot.run.clone(), snapshot.finished));
        }
    }

    /// Queues the snapshot's events after `last_seq`, or, when the snapshot no longer holds
    /// them all, starts paging through the database.
    fn take_events(&mut self, snapshot: &Snapshot) {
        if self.last_seq >= snapshot.last_seq {
            return;
        }
        if self.paging_to.is_some() || self.last_seq < snapshot.floor {
            let to = self.paging_to.unwrap_or(0).max(snapshot.last_seq);
            self.paging_to = Some(to);
            return;
        }
        let after = self.last_seq;
        for event in snapshot.recent.iter().filter(|e| e.seq > after) {
            self.queue.push_back(event_message(event));
            self.last_seq = event.seq;
        }
    }

    /// Reads one page of events after `last_seq`; paging ends at `to` or at the last event.
    /// A failed read closes the stream: the client reconnects from its last id.
    async fn read_page(&mut self, to: i64) {
        let page = run_outputs::list_events(
            &self.pool,
            self.workspace,
            self.run,
            Some(self.last_seq),
            PAGE,
        )
        .await;
        let page = match page {
            Ok(page) => page,
            Err(err) => {
                tracing::warn!(
                    run.id = %self.run,
                    error.message = %err,
                    "a run stream could not read events; closing it"
                );
                self.done = true;
                self.paging_to = None;
                return;
            }
        };
        let full = page.len() as i64 == PAGE;
        for record in page {
            let seq = record.seq;
            match serde_json::to_string(&EventView::from(record)) {
                Ok(json) => {
                    self.queue.push_back(event_message(&FeedEvent {
                        seq,
                        json: json.into(),
                    }));
                    self.last_seq = seq;
                }
                Err(err) => {
                    tracing::error!(run.id = %self.run, error.message = %err, "an event could not be encoded");
                    self.done = true;
                    self.paging_to = None;
                    return;
                }
            }
        }
        if !full || self.last_seq >= to {
            self.paging_to = None;
        }
    }
}

/// An `event` message: `id:` is the event's `seq`, the resume position.
fn event_message(event: &FeedEvent) -> Event {
    Event::default()
        .event(EVENT)
        .id(event.seq.to_string())
        .data(&*event.json)
}

/// A `run` or `end` message.
fn run_message(name: &'static str, run: &str) -> Event {
    Event::default().event(name).data(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "last-event-id",
            HeaderValue::from_str(value).expect("ascii"),
        );
        headers
    }

    #[test]
    fn last_event_id_is_a_seq_and_anything_else_is_refused() {
        assert_eq!(last_event_id(&HeaderMap::new()).ok(), Some(0));
        assert_eq!(last_event_id(&with("")).ok(), Some(0));
        assert_eq!(last_event_id(&with("42")).ok(), Some(42));
        for bad in ["-1", "4x", "1.5", "99999999999999999999", "evt_1"] {
            assert!(last_event_id(&with(bad)).is_err(), "{bad}");
        }
    }
}
