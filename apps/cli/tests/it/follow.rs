//! `antpath run --follow --json`: exit codes, the final JSON object, downloaded files, Ctrl-C.

use antpath_fake_api::{FakeApi, FakeConfig, TEST_TOKEN};
use antpath_types::RunStatus;
use sha2::{Digest, Sha256};

use crate::support::{antpath_with, command, eventually, example};

fn quickstart_args(extra: &[&'static str]) -> Vec<String> {
    let mut args = vec![
        "run".to_owned(),
        example("quickstart.json"),
        "--var".into(),
        "topic=kelp".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn a_succeeded_run_prints_one_json_object_and_downloads_verified_files() {
    let fake = FakeApi::start_with(FakeConfig {
        capture_failures: vec!["huge.bin".into()],
        ..FakeConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let args = quickstart_args(&["--follow", "--json"]);
    let out = antpath_with(&fake, &refs(&args), dir.path()).await;
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.json();
    let id = report["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("run_"));
    assert_eq!(report["status"], "succeeded");
    assert_eq!(report["capture_failures"][0]["filename"], "huge.bin");
    let outputs = report["outputs"].as_array().expect("outputs");
    assert_eq!(outputs.len(), 2);
    for output in outputs {
        let path = dir.path().join(output["path"].as_str().expect("path"));
        assert!(
            path.starts_with(dir.path().join("antpath-outputs").join(&id)),
            "{path:?}"
        );
        let bytes = std::fs::read(&path).expect("downloaded");
        assert_eq!(output["size_bytes"], bytes.len());
        assert_eq!(output["sha256"], hex::encode(Sha256::digest(&bytes)));
    }
    let report_md = dir
        .path()
        .join("antpath-outputs")
        .join(&id)
        .join("report.md");
    assert_eq!(
        std::fs::read(report_md).expect("report"),
        b"# Tide pools\n".repeat(100)
    );
}

#[tokio::test]
async fn each_unsuccessful_ending_has_its_own_exit_code() {
    for (status, code) in [
        (RunStatus::Failed, 3),
        (RunStatus::TimedOut, 4),
        (RunStatus::Cancelled, 5),
    ] {
        let fake = FakeApi::start_with(FakeConfig {
            final_status: status,
            ..FakeConfig::default()
        })
        .await;
        let dir = tempfile::tempdir().expect("dir");
        let args = quickstart_args(&["--follow", "--json", "--no-download"]);
        let out = antpath_with(&fake, &refs(&args), dir.path()).await;
        assert_eq!(out.code, code, "{status}: {out:?}");
        let report = out.json();
        assert_eq!(report["status"], status.as_str());
        assert!(report["outputs"][0].get("path").is_none());
    }
}

#[tokio::test]
async fn a_corrupt_output_fails_with_exit_8_and_is_not_kept() {
    let fake = FakeApi::start_with(FakeConfig {
        corrupt_sha256: true,
        ..FakeConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let out_dir = dir.path().join("out");
    let out_arg = out_dir.display().to_string();
    let mut args = quickstart_args(&["--follow", "--json", "--output-dir"]);
    args.push(out_arg);
    let out = antpath_with(&fake, &refs(&args), dir.path()).await;
    assert_eq!(out.code, 8, "{out:?}");
    let report = out.json();
    assert!(
        report["outputs"][0]["download_error"]
            .as_str()
            .expect("error")
            .contains("corrupt")
    );
    assert!(!out_dir.join("report.md").exists());
}

#[tokio::test]
async fn human_follow_prints_statuses_events_and_outputs() {
    let fake = FakeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let args = quickstart_args(&["--follow"]);
    let out = antpath_with(&fake, &refs(&args), dir.path()).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("status  provider_running"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("event   #1 antpath.status_provisioning attempt=1"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("succeeded") && out.stdout.contains("report.md  1.3 KiB"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn typed_variables_and_the_mcp_bearer_reach_the_submission() {
    let fake = FakeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = example("mcp-static-bearer.json");
    let args = [
        "run",
        &path,
        "--var",
        "question=Why?",
        "--var",
        "depth=3",
        "--var",
        "cite=false",
        "--mcp-bearer",
        "docs=bearer-xyz",
        "--retain",
        "--idempotency-key",
        "k1",
        "--json",
    ];
    let out = antpath_with(&fake, &args, dir.path()).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["status"], "queued");
    let body = fake.requests_to("POST", "/v1/runs")[0]
        .body
        .clone()
        .expect("body");
    assert_eq!(body["variables"]["depth"], 3);
    assert_eq!(body["variables"]["cite"], false);
    assert_eq!(
        body["secrets"]["mcpServers"]["docs"]["bearerToken"],
        "bearer-xyz"
    );
    assert_eq!(body["cleanup"]["claudeSession"], "retain");
    assert_eq!(body["idempotencyKey"], "k1");
}

#[tokio::test]
async fn ctrl_c_when_not_on_a_terminal_detaches_and_says_how_to_resume() {
    let fake = FakeApi::start_with(FakeConfig {
        hold_running: true,
        ..FakeConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let args = quickstart_args(&["--follow"]);
    let mut cmd = command(&refs(&args), dir.path());
    cmd.env("ANTPATH_API_TOKEN", TEST_TOKEN)
        .env("ANTPATH_BASE_URL", &fake.base_url)
        .env("ANTHROPIC_API_KEY", "sk-ant-test");
    let child = cmd.spawn().expect("spawned");
    let pid = child.id().expect("pid").to_string();
    eventually("the run to be followed", || {
        fake.statuses().first() == Some(&RunStatus::ProviderRunning)
    })
    .await;
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill ran");
    assert!(signalled.success());
    let out = child.wait_with_output().await.expect("exited");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("keeps running. Resume with: antpath runs follow run_"),
        "{stderr}"
    );
    assert_eq!(
        fake.requests_to("POST", "/v1/runs/").len(),
        0,
        "nothing was cancelled"
    );
}
