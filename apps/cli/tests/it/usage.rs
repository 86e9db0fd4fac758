//! Usage errors: clean sentences, exit code 2, and nothing sent to the API.

use antpath_fake_api::FakeApi;

use crate::support::{antpath, antpath_with, command, example};

#[tokio::test]
async fn without_a_token_run_says_how_to_set_one_and_exits_2() {
    let dir = tempfile::tempdir().expect("dir");
    let out = antpath(
        &["run", &example("quickstart.json"), "--var", "topic=kelp"],
        dir.path(),
    )
    .await;
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr.trim(),
        "error: no API token: set ANTPATH_API_TOKEN or pass --api-token"
    );
}

#[tokio::test]
async fn a_missing_variable_is_reported_and_nothing_is_sent() {
    let fake = FakeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let out = antpath_with(
        &fake,
        &["run", &example("quickstart.json"), "--follow", "--json"],
        dir.path(),
    )
    .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("/variables/topic: This variable is required"),
        "{}",
        out.stderr
    );
    assert_eq!(out.json()["error"]["type"], "usage_error");
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[tokio::test]
async fn an_invalid_template_is_reported_and_nothing_is_sent() {
    let fake = FakeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("broken.yaml");
    std::fs::write(&file, "name: ok\nagent:\n  model: m\nprompt: [unclosed\n").expect("write");
    let out = antpath_with(&fake, &["run", &file.display().to_string()], dir.path()).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.starts_with("error: ") && out.stderr.contains("not valid YAML"),
        "{}",
        out.stderr
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_static_bearer_server_without_its_token_is_a_usage_error() {
    let fake = FakeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let out = antpath_with(
        &fake,
        &[
            "run",
            &example("mcp-static-bearer.json"),
            "--var",
            "question=x",
        ],
        dir.path(),
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("pass --mcp-bearer docs=TOKEN"),
        "{}",
        out.stderr
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_missing_anthropic_key_names_the_variable_and_the_flag() {
    let fake = FakeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = command(
        &["run", &example("quickstart.json"), "--var", "topic=kelp"],
        dir.path(),
    );
    cmd.env("ANTPATH_API_TOKEN", "ant_x")
        .env("ANTPATH_BASE_URL", &fake.base_url);
    let out = cmd.output().await.expect("ran");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("set ANTHROPIC_API_KEY or pass --anthropic-api-key"),
        "{stderr}"
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_refused_token_is_an_api_error_with_the_request_id_and_a_hint() {
    let fake = FakeApi::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let out = antpath(
        &[
            "whoami",
            "--api-token",
            "ant_wrong",
            "--base-url",
            &fake.base_url,
        ],
        dir.path(),
    )
    .await;
    assert_eq!(out.code, 6, "{out:?}");
    assert!(
        out.stderr.contains("The API token is not valid."),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("request id req_fake"), "{}", out.stderr);
    assert!(
        out.stderr.contains("hint: check the token"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("ant_wrong"));
}
