//! Waiting for a run, and following its progress.

use antpath_fake_api::{FakeApi, FakeConfig};
use antpath_sdk::{Error, Progress, RunStatus, WaitOptions};
use futures_util::TryStreamExt;
use std::time::Duration;

use crate::support::{client, fast_wait, request};

#[tokio::test]
async fn wait_returns_the_run_in_its_terminal_status() {
    let fake = FakeApi::start_with(FakeConfig {
        final_status: RunStatus::TimedOut,
        ..FakeConfig::default()
    })
    .await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    let ended = client.wait_with(run.id, fast_wait()).await.expect("ended");
    assert_eq!(ended.status, RunStatus::TimedOut);
}

#[tokio::test]
async fn follow_yields_each_status_change_and_each_event_once() {
    let fake = FakeApi::start().await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    let steps: Vec<Progress> = client
        .follow(run.id, fast_wait())
        .try_collect()
        .await
        .expect("followed");
    let statuses: Vec<RunStatus> = steps
        .iter()
        .filter_map(|p| match p {
            Progress::Status { run, .. } => Some(run.status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.first(), Some(&RunStatus::Provisioning));
    assert_eq!(statuses.last(), Some(&RunStatus::Succeeded));
    let seqs: Vec<u64> = steps
        .iter()
        .filter_map(|p| match p {
            Progress::Event(event) => Some(event.seq),
            _ => None,
        })
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
}

#[tokio::test]
async fn a_wait_with_a_timeout_gives_up_on_a_run_that_does_not_end() {
    let fake = FakeApi::start_with(FakeConfig {
        hold_running: true,
        ..FakeConfig::default()
    })
    .await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    let options = WaitOptions {
        timeout: Some(Duration::from_millis(200)),
        ..fast_wait()
    };
    let error = client
        .wait_with(run.id, options)
        .await
        .expect_err("timed out");
    assert!(matches!(error, Error::WaitTimeout { .. }), "{error:?}");
}

#[tokio::test]
async fn follow_polls_a_server_without_the_run_stream_and_still_sees_everything() {
    let fake = FakeApi::start().await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    let steps: Vec<Progress> = client
        .follow(run.id, fast_wait())
        .try_collect()
        .await
        .expect("followed");
    let stream_path = format!("/v1/runs/{}/stream", run.id);
    let tried = fake.requests_to("GET", &stream_path);
    assert_eq!(
        tried.len(),
        1,
        "the stream is tried once, then polling takes over"
    );
    assert_eq!(
        tried[0].authorization.as_deref(),
        Some(format!("Bearer {}", antpath_fake_api::TEST_TOKEN).as_str())
    );
    assert!(
        !fake
            .requests_to("GET", &format!("/v1/runs/{}/events", run.id))
            .is_empty()
    );
    let events = steps
        .iter()
        .filter(|p| matches!(p, Progress::Event(_)))
        .count();
    assert_eq!(events, 4);
    match steps.last() {
        Some(Progress::Cleanup { run, .. }) => assert!(run.is_finished()),
        other => panic!("the follow ends with the settled cleanup: {other:?}"),
    }
}

#[tokio::test]
async fn following_an_unknown_run_on_a_server_without_the_stream_is_not_found() {
    let fake = FakeApi::start().await;
    let client = client(&fake);
    let missing = antpath_sdk::RunId::new();
    let mut follow = Box::pin(client.follow(missing, fast_wait()));
    let error = futures_util::StreamExt::next(&mut follow)
        .await
        .expect("one item")
        .expect_err("not found");
    assert!(error.is_not_found(), "{error:?}");
}
