//! The live half of [`Client::follow`](crate::Client::follow): the run's Server-Sent Events
//! stream (`GET /v1/runs/{id}/stream`), reopened with `Last-Event-ID` when it drops.
//!
//! The stream's messages feed the same [`Follower`] as polling does, so what `follow` yields
//! does not depend on how it learnt it: `run` and `end` carry the run object (a status or
//! cleanup change is yielded when it shows one), `event` carries an event (yielded once, by
//! `seq`), and `end` closes the follow. Message names it does not know are skipped, so a
//! newer server may add some.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::client::{error_from_response, is_retryable, request_id};
use crate::error::{Error, Result};
use crate::model::{Run, RunEvent};
use crate::sse::{Message, Reader};
use crate::wait::{Follower, Next};

/// A stream that sends nothing, not even the server's keep-alive comment (every 15 s by
/// default), for this long is taken for dropped and reopened.
const STREAM_IDLE_LIMIT: Duration = Duration::from_secs(45);

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The state of the live stream between steps of a follow.
#[derive(Default)]
pub(crate) struct Live {
    /// The open response body, if a stream is open.
    body: Option<Body>,
    /// The event-stream reader; it keeps the last event id across connections.
    reader: Reader,
    /// Failed opens and dropped streams since a message last arrived.
    failures: u32,
    /// The server's `Retry-After` on the last failure.
    retry_after: Option<Duration>,
    /// Whether a stream was ever opened: from then on a `404` is the run's, not the route's.
    opened: bool,
}

impl Live {
    /// One step: opens the stream, or reads what arrives next into `follower`'s queue. Hands
    /// itself back to `follower` unless the follow switches to polling.
    pub(crate) async fn step(mut self, follower: &mut Follower) -> Result<()> {
        let Some(body) = self.body.as_mut() else {
            return self.open(follower).await;
        };
        let give_up = follower.clock.give_up_at();
        let idle = Instant::now() + STREAM_IDLE_LIMIT;
        let until = give_up.map_or(idle, |(at, _)| at.min(idle));
        let chunk = tokio::select! {
            chunk = body.next() => Some(chunk),
            () = tokio::time::sleep_until(until) => None,
        };
        match chunk {
            Some(Some(Ok(bytes))) => {
                let mut messages = Vec::new();
                self.reader
                    .feed(&bytes, &mut messages)
                    .map_err(|e| Error::Decode {
                        reason: e.to_string(),
                        request_id: None,
                    })?;
                if !messages.is_empty() {
                    self.failures = 0;
                }
                for message in messages {
                    handle(&message, follower)?;
                    if follower.done {
                        return Ok(());
                    }
                }
            }
            // The connection broke or the server closed it (a restart, a shutdown): reopen.
            Some(Some(Err(_)) | None) => self.dropped(),
            None => match give_up {
                Some((at, times_out)) if Instant::now() >= at => {
                    if times_out {
                        return Err(follower.clock.timed_out());
                    }
                    // The cleanup grace is over: the follow ends with the run as it is.
                    follower.done = true;
                    return Ok(());
                }
                _ => self.dropped(),
            },
        }
        follower.keep_live(self);
        Ok(())
    }

    fn dropped(&mut self) {
        self.body = None;
        self.reader.reset_connection();
        self.failures += 1;
        self.retry_after = None;
    }

    /// Opens the stream, after the retry policy's pause when the last attempt failed.
    async fn open(mut self, follower: &mut Follower) -> Result<()> {
        let client = follower.client.clone();
        if self.failures > client.inner.retry.max_retries {
            // Only dropped streams get here; a failed open gives up in `failed`.
            return Err(Error::Connection {
                base_url: client.base_url().to_owned(),
                reason: "the run stream kept closing before sending anything".into(),
            });
        }
        if self.failures > 0 {
            let pause = client.inner.retry.delay(self.failures, self.retry_after);
            tokio::time::sleep(pause).await;
        }
        let mut request = client
            .request(Method::GET, &format!("/v1/runs/{}/stream", follower.id))
            .header(ACCEPT, "text/event-stream");
        if let Some(id) = self.reader.last_event_id() {
            request = request.header("last-event-id", id);
        }
        // The time-out covers the answer's head only: the body is open-ended.
        let sent = tokio::time::timeout(client.inner.timeout, request.send()).await;
        let response = match sent {
            Err(_) => return self.failed(Error::Timeout(client.inner.timeout), follower),
            Ok(Err(error)) => return self.failed(client.transport_error(&error), follower),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        let is_event_stream = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if status.is_success() && is_event_stream {
            self.body = Some(Box::pin(response.bytes_stream()));
            self.opened = true;
            follower.keep_live(self);
            return Ok(());
        }
        if !self.opened && (status.is_success() || matches!(status.as_u16(), 404 | 405 | 501)) {
            // No stream here (an older server): poll instead. Its first read of the run
            // reports a run that does not exist.
            return Ok(());
        }
        if status.is_success() {
            return Err(Error::Decode {
                reason: "the run stream answered without an event stream".into(),
                request_id: request_id(response.headers()),
            });
        }
        let error = error_from_response(response).await;
        if is_retryable(&error) {
            self.failed(error, follower)
        } else {
            Err(error)
        }
    }

    /// Counts a failed open: gives up with `error` past the retry policy, else tries again on
    /// the next step.
    fn failed(mut self, error: Error, follower: &mut Follower) -> Result<()> {
        self.failures += 1;
        if self.failures > follower.client.inner.retry.max_retries {
            return Err(error);
        }
        self.retry_after = error.api().and_then(|f| f.retry_after);
        follower.keep_live(self);
        Ok(())
    }
}

/// Feeds one message to the follower.
fn handle(message: &Message, follower: &mut Follower) -> Result<()> {
    match message.event.as_str() {
        "run" | "end" => {
            let run: Run = decode(&message.data)?;
            let next = follower.clock.next(&run);
            follower.saw_run(run);
            if message.event == "end" || next == Next::Return {
                follower.done = true;
            }
        }
        "event" => follower.saw_event(decode::<RunEvent>(&message.data)?),
        _ => {}
    }
    Ok(())
}

fn decode<T: DeserializeOwned>(data: &str) -> Result<T> {
    serde_json::from_str(data).map_err(|e| Error::Decode {
        reason: format!("a run stream message: {e}"),
        request_id: None,
    })
}
