//! `antpath runs …` and `antpath whoami` against the fake API.

use antpath_fake_api::FakeApi;

use crate::support::{antpath_with, example};

#[tokio::test]
async fn runs_list_pages_and_all_reads_every_page() {
    let fake = FakeApi::start().await;
    fake.seed_runs(5);
    let dir = tempfile::tempdir().expect("dir");
    let page = antpath_with(
        &fake,
        &["runs", "list", "--limit", "2", "--json"],
        dir.path(),
    )
    .await;
    assert_eq!(page.code, 0, "{page:?}");
    assert_eq!(page.json()["data"].as_array().expect("data").len(), 2);
    assert!(page.json()["next_cursor"].is_string());
    let all = antpath_with(
        &fake,
        &["runs", "list", "--limit", "2", "--all", "--json"],
        dir.path(),
    )
    .await;
    assert_eq!(all.json()["data"].as_array().expect("data").len(), 5);
}

#[tokio::test]
async fn a_submitted_run_can_be_read_cancelled_downloaded_and_deleted() {
    let fake = FakeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let submitted = antpath_with(
        &fake,
        &["run", &example("quickstart.json"), "--var", "topic=kelp"],
        dir.path(),
    )
    .await;
    assert_eq!(submitted.code, 0, "{submitted:?}");
    let id = submitted.stdout.trim().to_owned();
    let got = antpath_with(&fake, &["runs", "get", &id, "--json"], dir.path()).await;
    assert_eq!(got.json()["id"], id.as_str());
    let cancelled = antpath_with(&fake, &["runs", "cancel", &id, "--json"], dir.path()).await;
    assert!(cancelled.json()["cancel_requested_at"].is_string());
    let followed = antpath_with(
        &fake,
        &["runs", "follow", &id, "--json", "--no-download"],
        dir.path(),
    )
    .await;
    assert_eq!(followed.code, 5, "{followed:?}");
    assert_eq!(followed.json()["status"], "cancelled");
    let events = antpath_with(&fake, &["runs", "events", &id, "--json"], dir.path()).await;
    assert!(!events.json()["data"].as_array().expect("events").is_empty());
    let outputs = antpath_with(&fake, &["runs", "outputs", &id, "--json"], dir.path()).await;
    assert_eq!(
        outputs.json()["outputs"].as_array().expect("outputs").len(),
        2
    );
    let downloaded = antpath_with(
        &fake,
        &["runs", "download", &id, "--file", "report.md", "--json"],
        dir.path(),
    )
    .await;
    assert_eq!(downloaded.code, 0, "{downloaded:?}");
    assert_eq!(
        downloaded.json()["files"].as_array().expect("files").len(),
        1
    );
    let deleted = antpath_with(&fake, &["runs", "delete", &id], dir.path()).await;
    assert!(deleted.stdout.contains("pending_delete"), "{deleted:?}");
}

#[tokio::test]
async fn a_malformed_run_id_is_a_usage_error() {
    let fake = FakeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let out = antpath_with(&fake, &["runs", "get", "run-123"], dir.path()).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("run_<32 hex digits>"), "{}", out.stderr);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn whoami_shows_the_workspace() {
    let fake = FakeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let out = antpath_with(&fake, &["whoami"], dir.path()).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Test workspace"));
}
