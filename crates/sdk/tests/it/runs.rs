//! Submitting, reading, listing, cancelling and deleting runs.

use antpath_fake_api::FakeApi;
use antpath_sdk::{ListRuns, RunStatus};
use futures_util::TryStreamExt;

use crate::support::{client, quickstart, request};

#[tokio::test]
async fn a_submitted_run_is_queued_and_carries_the_template_hash() {
    let fake = FakeApi::start().await;
    let run = client(&fake).submit(&request()).await.expect("submitted");
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(run.template_name, "quickstart");
    assert_eq!(run.template_hash, quickstart().hash().to_string());
    let sent = &fake.requests_to("POST", "/v1/runs")[0];
    let body = sent.body.as_ref().expect("body recorded");
    assert_eq!(body["secrets"]["anthropic"]["apiKey"], "sk-ant-test");
    assert_eq!(body["variables"]["topic"], "tide pools");
    assert!(
        sent.authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Bearer ant_"))
    );
}

#[tokio::test]
async fn get_run_reads_the_run_back_by_id() {
    let fake = FakeApi::start().await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    let read = client.get_run(run.id).await.expect("read");
    assert_eq!(read.id, run.id);
}

#[tokio::test]
async fn listing_pages_through_every_run_newest_first() {
    let fake = FakeApi::start().await;
    fake.seed_runs(7);
    let client = client(&fake);
    let first = client
        .list_runs(&ListRuns::default().limit(3))
        .await
        .expect("page");
    assert_eq!(first.data.len(), 3);
    assert!(first.next_cursor.is_some());
    let all: Vec<_> = client
        .runs(ListRuns::default().limit(3))
        .try_collect()
        .await
        .expect("all pages");
    assert_eq!(all.len(), 7);
    assert_eq!(all[0].id, first.data[0].id);
    assert!(all.windows(2).all(|w| w[0].created_at >= w[1].created_at));
    assert_eq!(fake.requests_to("GET", "/v1/runs").len(), 1 + 3);
}

#[tokio::test]
async fn listing_by_status_sends_the_filter() {
    let fake = FakeApi::start().await;
    fake.seed_runs(2);
    let page = client(&fake)
        .list_runs(&ListRuns::default().status(RunStatus::Queued))
        .await
        .expect("page");
    assert!(page.data.is_empty());
    let query = fake.requests()[0].query.clone().unwrap_or_default();
    assert!(query.contains("status=queued"), "{query}");
}

#[tokio::test]
async fn cancel_and_delete_return_the_run_with_their_timestamps() {
    let fake = FakeApi::start().await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    let cancelled = client.cancel(run.id).await.expect("cancel");
    assert!(cancelled.cancel_requested_at.is_some());
    let ended = client.get_run(run.id).await.expect("read");
    assert_eq!(ended.status, RunStatus::Cancelled);
    let deleted = client.delete(run.id).await.expect("delete");
    assert!(deleted.pending_delete_at.is_some());
    assert_eq!(deleted.status, RunStatus::PendingDelete);
}

#[tokio::test]
async fn whoami_and_tokens_decode() {
    let fake = FakeApi::start().await;
    let client = client(&fake);
    let me = client.whoami().await.expect("whoami");
    assert_eq!(me.workspace.name, "Test workspace");
    assert!(me.token.scopes.iter().any(|s| s == "runs:write"));
    let tokens = client.list_tokens().await.expect("tokens");
    assert_eq!(tokens.len(), 1);
    let revoked = client.revoke_token(tokens[0].id).await.expect("revoke");
    assert!(revoked.revoked_at.is_some());
}
