//! Waiting past the outcome for cleanup: a run is finished once cleanup settles, and a wait
//! gives up on a slow cleanup after its grace without failing.

use std::time::Duration;

use antpath_fake_api::{FakeApi, FakeConfig};
use antpath_sdk::{CleanupState, Progress, RunStatus, WaitOptions};
use futures_util::TryStreamExt;

use crate::support::{client, fast_wait, request};

#[tokio::test]
async fn wait_returns_once_cleanup_has_settled_not_at_the_terminal_status() {
    let fake = FakeApi::start_with(FakeConfig {
        cleanup_running_reads: 3,
        ..FakeConfig::default()
    })
    .await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    let ended = client.wait_with(run.id, fast_wait()).await.expect("ended");
    assert_eq!(ended.status, RunStatus::Succeeded);
    assert_eq!(ended.cleanup.state, CleanupState::Succeeded);
    assert!(ended.is_finished());
    assert_eq!((ended.attempt, ended.max_attempts), (1, 2));
}

#[tokio::test]
async fn a_retrying_or_abandoned_cleanup_ends_the_wait_with_its_error_and_resources() {
    for state in [CleanupState::Retrying, CleanupState::Abandoned] {
        let fake = FakeApi::start_with(FakeConfig {
            final_status: RunStatus::Failed,
            final_cleanup: state,
            ..FakeConfig::default()
        })
        .await;
        let client = client(&fake);
        let run = client.submit(&request()).await.expect("submitted");
        let ended = client.wait_with(run.id, fast_wait()).await.expect("ended");
        assert_eq!(ended.status, RunStatus::Failed, "{state}");
        assert_eq!(ended.cleanup.state, state);
        let error = ended.cleanup.last_error.as_ref().expect("last error");
        assert_eq!(error.class, "transient_provider");
        let kinds: Vec<&str> = ended
            .cleanup
            .abandoned_resources
            .iter()
            .map(|r| r.kind.as_str())
            .collect();
        let expected: &[&str] = if state == CleanupState::Abandoned {
            &["session", "vault"]
        } else {
            &[]
        };
        assert_eq!(kinds, expected, "{state}");
    }
}

#[tokio::test]
async fn a_cleanup_that_never_settles_is_given_up_on_after_the_grace() {
    let fake = FakeApi::start_with(FakeConfig {
        cleanup_running_reads: u32::MAX,
        ..FakeConfig::default()
    })
    .await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    let options = WaitOptions {
        cleanup_grace: Duration::from_millis(50),
        ..fast_wait()
    };
    let ended = client.wait_with(run.id, options).await.expect("returned");
    assert_eq!(ended.status, RunStatus::Succeeded);
    assert_eq!(ended.cleanup.state, CleanupState::Running);
    assert!(!ended.is_finished());
}

#[tokio::test]
async fn the_time_out_during_cleanup_returns_the_run_instead_of_failing() {
    let fake = FakeApi::start_with(FakeConfig {
        cleanup_running_reads: u32::MAX,
        ..FakeConfig::default()
    })
    .await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    let options = WaitOptions {
        timeout: Some(Duration::from_secs(1)),
        cleanup_grace: Duration::from_secs(3600),
        ..fast_wait()
    };
    let ended = client.wait_with(run.id, options).await.expect("returned");
    assert_eq!(ended.status, RunStatus::Succeeded);
    assert_eq!(ended.cleanup.state, CleanupState::Running);
}

#[tokio::test]
async fn follow_reports_the_cleanup_change_after_the_outcome_and_then_ends() {
    let fake = FakeApi::start_with(FakeConfig {
        cleanup_running_reads: 2,
        final_cleanup: CleanupState::Retained,
        ..FakeConfig::default()
    })
    .await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    let steps: Vec<Progress> = client
        .follow(run.id, fast_wait())
        .try_collect()
        .await
        .expect("followed");
    let Some(Progress::Cleanup { run, previous }) = steps.last() else {
        panic!("the last step is not a cleanup change: {steps:?}");
    };
    assert_eq!(*previous, CleanupState::Running);
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(run.cleanup.state, CleanupState::Retained);
    let outcome = steps.iter().position(
        |p| matches!(p, Progress::Status { run, .. } if run.status == RunStatus::Succeeded),
    );
    assert!(
        outcome.is_some_and(|i| i < steps.len() - 1),
        "the outcome came first: {steps:?}"
    );
}
