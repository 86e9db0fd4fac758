//! Cleanup beside the outcome: the exit code follows the outcome, a cleanup that needs a look
//! is one warning line on stderr, and `runs get` shows the cleanup object.

use antpath_fake_api::{FakeApi, FakeConfig};
use antpath_types::{CleanupState, RunStatus};

use crate::support::{Outcome, antpath_with, example};

async fn follow(config: FakeConfig, extra: &[&str]) -> Outcome {
    let fake = FakeApi::start_with(config).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = example("quickstart.json");
    let mut args = vec![
        "run",
        &path,
        "--var",
        "topic=kelp",
        "--follow",
        "--no-download",
    ];
    args.extend_from_slice(extra);
    antpath_with(&fake, &args, dir.path()).await
}

fn warnings(out: &Outcome) -> Vec<&str> {
    out.stderr
        .lines()
        .filter(|line| line.starts_with("warning: cleanup"))
        .collect()
}

#[tokio::test]
async fn a_retrying_cleanup_warns_but_a_succeeded_run_still_exits_0() {
    let out = follow(
        FakeConfig {
            final_cleanup: CleanupState::Retrying,
            ..FakeConfig::default()
        },
        &["--json"],
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.json();
    assert_eq!(report["status"], "succeeded");
    assert_eq!(report["cleanup"]["state"], "retrying");
    let id = report["id"].as_str().expect("id");
    assert_eq!(
        warnings(&out),
        [format!(
            "warning: cleanup of {id} is retrying; last error: transient_provider; see antpath runs get {id}"
        )],
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn an_abandoned_cleanup_names_the_resources_and_keeps_the_failed_exit_code() {
    let out = follow(
        FakeConfig {
            final_status: RunStatus::Failed,
            final_cleanup: CleanupState::Abandoned,
            ..FakeConfig::default()
        },
        &[],
    )
    .await;
    assert_eq!(out.code, 3, "{out:?}");
    let lines = warnings(&out);
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains(" is abandoned; last error: transient_provider; abandoned: session sesn_fake_1, vault vlt_fake_1;"),
        "{}",
        lines[0]
    );
}

#[tokio::test]
async fn a_clean_ending_prints_no_warning() {
    for state in [CleanupState::Succeeded, CleanupState::Retained] {
        let out = follow(
            FakeConfig {
                final_status: RunStatus::Cancelled,
                final_cleanup: state,
                ..FakeConfig::default()
            },
            &[],
        )
        .await;
        assert_eq!(out.code, 5, "{out:?}");
        assert!(warnings(&out).is_empty(), "{state}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("cleanup {state}")),
            "{}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn a_cleanup_still_running_when_the_wait_ends_is_a_warning_not_a_failure() {
    let out = follow(
        FakeConfig {
            final_status: RunStatus::TimedOut,
            cleanup_running_reads: u32::MAX,
            ..FakeConfig::default()
        },
        &["--cleanup-wait", "0", "--json"],
    )
    .await;
    assert_eq!(out.code, 4, "{out:?}");
    assert_eq!(out.json()["cleanup"]["state"], "running");
    let lines = warnings(&out);
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains(" is still running (stopped waiting for it); see antpath runs get run_"),
        "{}",
        lines[0]
    );
}

#[tokio::test]
async fn runs_get_shows_the_cleanup_object_for_people_and_scripts() {
    let fake = FakeApi::start_with(FakeConfig {
        final_cleanup: CleanupState::Abandoned,
        ..FakeConfig::default()
    })
    .await;
    fake.seed_runs(1);
    let dir = tempfile::tempdir().expect("dir");
    let listed = antpath_with(&fake, &["runs", "list", "--json"], dir.path()).await;
    let id = listed.json()["data"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let got = antpath_with(&fake, &["runs", "get", &id, "--json"], dir.path()).await;
    assert_eq!(got.code, 0, "{got:?}");
    let cleanup = &got.json()["cleanup"];
    assert_eq!(cleanup["state"], "abandoned");
    assert_eq!(cleanup["attempts"], 8);
    assert_eq!(cleanup["last_error"]["class"], "transient_provider");
    assert_eq!(cleanup["abandoned_resources"][0]["id"], "sesn_fake_1");
    assert!(got.json().get("cleanup_status").is_none());
    let human = antpath_with(&fake, &["runs", "get", &id], dir.path()).await;
    assert_eq!(human.code, 0, "{human:?}");
    for line in [
        "cleanup         abandoned (policy delete, 8 rounds)",
        "cleanup error   transient_provider: ",
        "abandoned       session sesn_fake_1",
        "abandoned       vault vlt_fake_1",
        "attempt         1 of 2",
    ] {
        assert!(human.stdout.contains(line), "{line}: {}", human.stdout);
    }
}
