//! `antpath template validate|hash|render`, offline.

use antpath_template::load_template;
use serde_json::json;

use crate::support::{antpath, example};

#[tokio::test]
async fn validate_accepts_the_examples_and_hash_prints_the_stable_hash() {
    let dir = tempfile::tempdir().expect("dir");
    for name in ["quickstart.json", "mcp-static-bearer.json"] {
        let path = example(name);
        let valid = antpath(&["template", "validate", &path], dir.path()).await;
        assert_eq!(valid.code, 0, "{valid:?}");
        let hash = antpath(&["template", "hash", &path], dir.path()).await;
        let expected = load_template(path.as_ref()).expect("loads").hash();
        assert_eq!(hash.stdout.trim(), expected.as_str());
    }
}

#[tokio::test]
async fn validate_lists_every_problem_with_its_path_and_exits_2() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("bad.json");
    let template = json!({
        "name": "Bad Name", "agent": {"model": "claude-sonnet-4-5"}, "prompt": "Hi {{who}}",
        "variables": {"n": {"type": "number", "minimum": 5, "maximum": 1}}
    });
    std::fs::write(&file, template.to_string()).expect("write");
    let path = file.display().to_string();
    let text = antpath(&["template", "validate", &path], dir.path()).await;
    assert_eq!(text.code, 2);
    for needle in ["/name:", "/variables/n/minimum:", "/prompt:"] {
        assert!(
            text.stderr.contains(needle),
            "{needle} missing: {}",
            text.stderr
        );
    }
    assert!(!text.stderr.contains("panicked") && !text.stderr.contains("Error {"));
    let json = antpath(&["template", "validate", &path, "--json"], dir.path()).await;
    assert_eq!(json.code, 2);
    let report = json.json();
    assert_eq!(report["valid"], false);
    assert!(report["problems"].as_array().expect("problems").len() >= 3);
}

#[tokio::test]
async fn render_fills_in_typed_variables_and_defaults() {
    let dir = tempfile::tempdir().expect("dir");
    let out = antpath(
        &[
            "template",
            "render",
            &example("mcp-static-bearer.json"),
            "--var",
            "question=Why?",
            "--var",
            "depth=3",
            "--json",
        ],
        dir.path(),
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let prompt = out.json()["prompt"].as_str().expect("prompt").to_owned();
    assert!(prompt.starts_with("Use the docs tools to answer: Why?. Consult 3 sources, write in a plain tone (citations: true)"), "{prompt}");
}

#[tokio::test]
async fn render_reports_a_mistyped_or_missing_variable_as_a_usage_error() {
    let dir = tempfile::tempdir().expect("dir");
    let path = example("mcp-static-bearer.json");
    let mistyped = antpath(
        &[
            "template",
            "render",
            &path,
            "--var",
            "question=x",
            "--var",
            "depth=many",
        ],
        dir.path(),
    )
    .await;
    assert_eq!(mistyped.code, 2);
    assert!(
        mistyped.stderr.contains("`depth` is a number variable"),
        "{}",
        mistyped.stderr
    );
    let missing = antpath(&["template", "render", &path], dir.path()).await;
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("/variables/question: This variable is required"),
        "{}",
        missing.stderr
    );
}
