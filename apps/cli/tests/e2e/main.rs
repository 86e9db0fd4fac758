//! End to end, as a user does it: the real binaries (`antpath-sim`, `antpath-bff`,
//! `antpath-worker`, `antpath-sweeper`) started by `antpath dev up` on free ports against a fresh
//! database, and the `antpath` CLI run as a subprocess against them.
//!
//! Each test brings up its own stack (own state folder, own database) and tears it down, so
//! tests are independent under any runner.

mod otlp;
mod stack;
mod traces;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::stack::Stack;

#[tokio::test]
async fn a_quickstart_run_succeeds_and_its_downloaded_outputs_match_the_providers_bytes() {
    let stack = Stack::up().await;
    let out = stack.dir().join("outputs");
    let result = stack.cli(&[
        "run",
        &stack.example("quickstart.json"),
        "--var",
        "topic=tide pools",
        "--follow",
        "--json",
        "--output-dir",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(result.code, 0, "{result}");
    let summary = result.json();
    assert_eq!(summary["status"], "succeeded", "{result}");
    let outputs = summary["outputs"].as_array().expect("outputs");
    assert_eq!(outputs.len(), 2, "{result}");

    let provider_files = stack.sim_resources("file").await;
    for output in outputs {
        let path = output["path"].as_str().expect("downloaded path");
        let bytes = std::fs::read(path).expect("downloaded file");
        let digest = hex::encode(Sha256::digest(&bytes));
        assert_eq!(
            digest, output["sha256"],
            "the file on disk is what the API reported"
        );
        assert_eq!(
            bytes.len() as u64,
            output["size_bytes"].as_u64().expect("size")
        );
        assert!(
            provider_files
                .iter()
                .any(|f| f["sha256"] == digest.as_str()),
            "the bytes are the provider's bytes"
        );
    }
    stack.assert_nothing_live_at_the_provider().await;
}

#[tokio::test]
async fn an_mcp_bearer_reaches_the_providers_vault_and_never_our_logs() {
    let stack = Stack::up().await;
    let bearer = "mcp-bearer-CANARY-7f3c2a9e51";
    let result = stack.cli(&[
        "run",
        &stack.example("mcp-static-bearer.json"),
        "--var",
        "question=what is a lease?",
        "--mcp-bearer",
        &format!("docs={bearer}"),
        "--follow",
        "--json",
        "--no-download",
    ]);
    assert_eq!(result.code, 0, "{result}");
    assert_eq!(result.json()["status"], "succeeded");

    let credentials = stack.sim_resources("credential").await;
    let expected = hex::encode(Sha256::digest(bearer.as_bytes()));
    assert!(
        credentials
            .iter()
            .any(|c| c["token_sha256"] == expected.as_str()),
        "the simulator's vault received this bearer: {credentials:?}"
    );
    let logs = stack.all_logs();
    assert!(!logs.contains(bearer), "the bearer appears in our logs");
    assert!(
        !logs.contains(stack::ANTHROPIC_KEY),
        "the Anthropic key appears in our logs"
    );
    stack.assert_nothing_live_at_the_provider().await;
}

#[tokio::test]
async fn a_terminated_session_fails_the_run_with_a_distinct_exit_code() {
    let stack = Stack::up().await;
    let template = stack.write_template("terminated", "antpath-sim: scenario=terminated");
    let result = stack.cli(&["run", &template, "--follow", "--json", "--no-download"]);
    assert_eq!(result.code, 3, "{result}");
    let summary = result.json();
    assert_eq!(summary["status"], "failed");
    assert!(summary["error_class"].is_string(), "{result}");
}

#[tokio::test]
async fn a_cancelled_run_ends_cancelled_and_is_cleaned_up() {
    let stack = Stack::up().await;
    let template = stack.write_template("forever", "antpath-sim: scenario=forever");
    let submitted = stack.cli(&["run", &template, "--json"]);
    assert_eq!(submitted.code, 0, "{submitted}");
    let id = submitted.json()["id"].as_str().expect("id").to_owned();

    stack
        .wait_for_status(&id, &["provider_running", "dispatched"])
        .await;
    let cancel = stack.cli(&["runs", "cancel", &id, "--json"]);
    assert_eq!(cancel.code, 0, "{cancel}");
    let followed = stack.cli(&["runs", "follow", &id, "--json", "--no-download"]);
    assert_eq!(followed.code, 5, "{followed}");
    assert_eq!(followed.json()["status"], "cancelled");
    stack.assert_nothing_live_at_the_provider().await;
}

#[tokio::test]
async fn resubmitting_with_the_same_idempotency_key_returns_the_same_run() {
    let stack = Stack::up().await;
    let args = [
        "run",
        &stack.example("quickstart.json"),
        "--var",
        "topic=leases",
        "--idempotency-key",
        "e2e-key-1",
        "--json",
    ];
    let first = stack.cli(&args);
    let second = stack.cli(&args);
    assert_eq!((first.code, second.code), (0, 0), "{first}\n{second}");
    assert_eq!(first.json()["id"], second.json()["id"]);

    let different = stack.cli(&[
        "run",
        &stack.example("quickstart.json"),
        "--var",
        "topic=other",
        "--idempotency-key",
        "e2e-key-1",
        "--json",
    ]);
    assert_eq!(
        different.code, 6,
        "a different request under the same key is refused: {different}"
    );
    let listed = stack.cli(&["runs", "list", "--json"]);
    assert_eq!(
        listed.json()["data"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
}

#[tokio::test]
async fn an_invalid_template_or_a_missing_variable_is_refused_before_anything_is_created() {
    let stack = Stack::up().await;
    let missing = stack.cli(&["run", &stack.example("quickstart.json"), "--json"]);
    assert_eq!(missing.code, 2, "{missing}");
    assert!(
        missing.stderr.contains("topic"),
        "the error names the variable: {missing}"
    );

    let broken = stack.dir().join("broken.json");
    std::fs::write(
        &broken,
        r#"{"name": "x", "agent": {"model": ""}, "prompt": "{{nope}}"}"#,
    )
    .expect("write");
    let invalid = stack.cli(&["run", broken.to_str().expect("utf-8"), "--json"]);
    assert_eq!(invalid.code, 2, "{invalid}");
    assert!(
        invalid.stderr.contains("/agent/model") || invalid.stderr.contains("/prompt"),
        "{invalid}"
    );

    let listed = stack.cli(&["runs", "list", "--json"]);
    assert_eq!(
        listed.json()["data"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );
    assert!(stack.sim_resources("session").await.is_empty());
}

#[tokio::test]
async fn a_wrong_token_is_told_so_without_echoing_it() {
    let stack = Stack::up().await;
    let bogus = "ant_0000000000000000000000000000000000000000000";
    let result = stack.cli_with_token(bogus, &["whoami"]);
    assert_eq!(result.code, 6, "{result}");
    assert!(result.stderr.to_lowercase().contains("auth"), "{result}");
    assert!(
        !result.stderr.contains(bogus) && !result.stdout.contains(bogus),
        "{result}"
    );
    let ok = stack.cli(&["whoami", "--json"]);
    assert_eq!(ok.code, 0, "{ok}");
    assert!(
        ok.json()["workspace"]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("ws_"))
    );
}

/// Parses the last JSON document a command printed.
fn last_json(text: &str) -> Value {
    text.lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or(Value::Null)
}
