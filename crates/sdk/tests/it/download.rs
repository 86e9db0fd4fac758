//! Verified downloads to files and as streams.

use antpath_fake_api::{FakeApi, FakeConfig};
use antpath_sdk::Error;
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};

use crate::support::{client, fast_wait, request};

#[tokio::test]
async fn every_output_is_downloaded_verified_and_without_partial_files() {
    let fake = FakeApi::start().await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    client.wait_with(run.id, fast_wait()).await.expect("ended");
    let dir = tempfile::tempdir().expect("temp dir");
    let files = client
        .download_all(run.id, dir.path())
        .await
        .expect("downloaded");
    assert_eq!(files.len(), 2);
    let report = std::fs::read(dir.path().join("report.md")).expect("report");
    assert_eq!(report, b"# Tide pools\n".repeat(100));
    assert_eq!(files[0].sha256, hex::encode(Sha256::digest(&report)));
    assert_eq!(
        std::fs::read(dir.path().join("notes_extra.txt")).expect("extra"),
        b"extra"
    );
    let link_requests = fake.requests_to("GET", "/v1/storage/");
    assert!(
        link_requests.iter().all(|r| r.authorization.is_none()),
        "the token went to a signed URL"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with(".antpath-partial")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test]
async fn a_corrupt_download_is_refused_and_nothing_is_left_behind() {
    let fake = FakeApi::start_with(FakeConfig {
        corrupt_sha256: true,
        ..FakeConfig::default()
    })
    .await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    client.wait_with(run.id, fast_wait()).await.expect("ended");
    let outputs = client.outputs(run.id).await.expect("outputs");
    let dir = tempfile::tempdir().expect("temp dir");
    let destination = dir.path().join("report.md");
    let error = client
        .download_to_file(run.id, &outputs.outputs[0], &destination)
        .await
        .expect_err("corrupt");
    assert!(matches!(error, Error::ChecksumMismatch { .. }), "{error:?}");
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
}

#[tokio::test]
async fn a_byte_stream_yields_the_content_and_flags_corruption_at_its_end() {
    let fake = FakeApi::start().await;
    let client = client(&fake);
    let run = client.submit(&request()).await.expect("submitted");
    client.wait_with(run.id, fast_wait()).await.expect("ended");
    let outputs = client.outputs(run.id).await.expect("outputs");
    let chunks: Vec<_> = client
        .download_stream(run.id, &outputs.outputs[1])
        .await
        .expect("stream")
        .try_collect()
        .await
        .expect("verified");
    assert_eq!(chunks.concat(), b"extra");

    let mut tampered = outputs.outputs[1].clone();
    tampered.sha256 = "00".repeat(32);
    let result: Result<Vec<_>, _> = client
        .download_stream(run.id, &tampered)
        .await
        .expect("stream")
        .try_collect()
        .await;
    assert!(matches!(result, Err(Error::ChecksumMismatch { .. })));
}
