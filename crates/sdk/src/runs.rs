//! The run routes: submit, read, list, events, outputs, links, cancel and delete.

use antpath_types::{OutputId, RunId, RunStatus};
use futures_util::Stream;
use futures_util::stream::{self, TryStreamExt};
use reqwest::Method;

use crate::client::{Call, Client, Repeat};
use crate::error::Result;
use crate::model::{Page, Run, RunEvent, RunOutputs, SignedLink};
use crate::request::RunRequest;

/// Filters and paging of [`Client::list_runs`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRuns {
    /// Only runs in this status.
    pub status: Option<RunStatus>,
    /// Page size, 1–100 (the server's default is 20).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListRuns {
    /// Only runs in `status`.
    pub fn status(mut self, status: RunStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// Paging of [`Client::list_events`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListEvents {
    /// Page size, 1–100.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Client {
    /// Submits a run. Without an idempotency key the request is sent exactly once (a lost
    /// response cannot be retried safely); with one, it is retried like a read, because the
    /// server answers a repeat with the run it already created.
    pub async fn submit(&self, request: &RunRequest) -> Result<Run> {
        let repeat = if request.idempotency_key_value().is_some() {
            Repeat::Safe
        } else {
            Repeat::Once
        };
        let mut call = Call::new(Method::POST, "/v1/runs".into(), repeat);
        call.body = Some(request.to_body_exposing_secrets());
        self.json(call).await
    }

    /// Reads one run.
    pub async fn get_run(&self, id: RunId) -> Result<Run> {
        self.json(Call::get(format!("/v1/runs/{id}"))).await
    }

    /// One page of the workspace's runs, newest first.
    pub async fn list_runs(&self, params: &ListRuns) -> Result<Page<Run>> {
        let mut call = Call::get("/v1/runs".into());
        if let Some(status) = params.status {
            call.query.push(("status", status.as_str().to_owned()));
        }
        push_paging(&mut call, params.limit, params.cursor.as_deref());
        self.json(call).await
    }

    /// Every run matching `params`, page after page, as a stream.
    pub fn runs(&self, params: ListRuns) -> impl Stream<Item = Result<Run>> + Send + 'static {
        let client = self.clone();
        paginate(params.cursor.clone(), move |cursor| {
            let client = client.clone();
            let params = ListRuns {
                cursor,
                ..params.clone()
            };
            async move { client.list_runs(&params).await }
        })
    }

    /// One page of a run's events, oldest first.
    pub async fn list_events(&self, id: RunId, params: &ListEvents) -> Result<Page<RunEvent>> {
        let mut call = Call::get(format!("/v1/runs/{id}/events"));
        push_paging(&mut call, params.limit, params.cursor.as_deref());
        self.json(call).await
    }

    /// Every event of a run so far, oldest first, as a stream.
    pub fn events(&self, id: RunId) -> impl Stream<Item = Result<RunEvent>> + Send + 'static {
        let client = self.clone();
        paginate(None, move |cursor| {
            let client = client.clone();
            let params = ListEvents {
                limit: Some(100),
                cursor,
            };
            async move { client.list_events(id, &params).await }
        })
    }

    /// The run's captured outputs and the files that could not be captured.
    pub async fn outputs(&self, id: RunId) -> Result<RunOutputs> {
        self.json(Call::get(format!("/v1/runs/{id}/outputs"))).await
    }

    /// A signed, expiring download URL for one output. Creating a link has no other effect,
    /// so it is retried like a read.
    pub async fn output_link(&self, id: RunId, output: OutputId) -> Result<SignedLink> {
        let path = format!("/v1/runs/{id}/outputs/{output}/link");
        self.json(Call::new(Method::POST, path, Repeat::Safe)).await
    }

    /// Asks for the run to be cancelled. Idempotent (and so retried); cancelling an ended run
    /// changes nothing. Returns the run as it is now.
    pub async fn cancel(&self, id: RunId) -> Result<Run> {
        let path = format!("/v1/runs/{id}/cancel");
        self.json(Call::new(Method::POST, path, Repeat::Safe)).await
    }

    /// Deletes the run (cancelling it first if active) and, once cleanup is done, its outputs.
    /// Idempotent (and so retried).
    pub async fn delete(&self, id: RunId) -> Result<Run> {
        let path = format!("/v1/runs/{id}");
        self.json(Call::new(Method::DELETE, path, Repeat::Safe))
            .await
    }
}

fn push_paging(call: &mut Call<'_>, limit: Option<u32>, cursor: Option<&str>) {
    if let Some(limit) = limit {
        call.query.push(("limit", limit.to_string()));
    }
    if let Some(cursor) = cursor {
        call.query.push(("cursor", cursor.to_owned()));
    }
}

/// Flattens cursor pages into a stream of items. Stops after the page without a cursor, or
/// at the first error (which is yielded).
fn paginate<T, F, Fut>(
    first_cursor: Option<String>,
    fetch: F,
) -> impl Stream<Item = Result<T>> + Send + 'static
where
    T: Send + 'static,
    F: Fn(Option<String>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Page<T>>> + Send + 'static,
{
    // `None` state means the last page was read.
    let pages = stream::try_unfold(Some(first_cursor), move |state| {
        let next = state.map(&fetch);
        async move {
            let Some(next) = next else { return Ok(None) };
            let page = next.await?;
            let following = page.next_cursor.map(Some);
            Ok(Some((
                stream::iter(page.data.into_iter().map(Ok)),
                following,
            )))
        }
    });
    pages.try_flatten()
}
