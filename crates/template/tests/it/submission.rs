//! The `POST /v1/runs` contract.

use antpath_template::{Template, ValidationErrors, validate_submission};
use antpath_types::{ClaudeSessionCleanup, CleanupPolicy, RunLimits};
use serde_json::{Value, json};

use super::support::{API_KEY_CANARY, BEARER_CANARY, assert_error, paths, remove, set, submission};

fn errors_of(body: &Value) -> ValidationErrors {
    validate_submission(body).expect_err("submission should be invalid")
}

fn with(pointer: &str, value: Value) -> ValidationErrors {
    let mut body = submission();
    set(&mut body, pointer, value);
    errors_of(&body)
}

/// Fails if any output derived from `errors` contains a canary.
#[track_caller]
fn assert_no_canary(errors: &ValidationErrors) {
    let outputs = [
        format!("{errors}"),
        format!("{errors:?}"),
        serde_json::to_string(errors.details()).expect("serialise"),
    ];
    for output in outputs {
        assert!(!output.contains(API_KEY_CANARY), "api key leaked: {output}");
        assert!(!output.contains(BEARER_CANARY), "bearer leaked: {output}");
    }
}

#[test]
fn a_valid_submission_exposes_prompt_hash_and_effective_policy() {
    let accepted = validate_submission(&submission()).expect("valid");
    assert_eq!(
        accepted.rendered_prompt(),
        "Research rate limits at depth 2 for engineers. Citations: true. Write {{literal}} braces as is."
    );
    let template = Template::from_value(&submission()["template"]).expect("valid");
    assert_eq!(accepted.template_hash(), &template.hash());
    let retain_by_default = CleanupPolicy {
        claude_session: ClaudeSessionCleanup::Retain,
    };
    assert_eq!(
        accepted.cleanup(retain_by_default).claude_session,
        ClaudeSessionCleanup::Delete,
        "the submission wins over the template and the deployment default"
    );
    assert_eq!(
        accepted.limits(),
        RunLimits {
            max_duration_seconds: Some(300),
            max_spend_usd: Some(2.5)
        },
        "fields fall back to the template one by one"
    );
    assert_eq!(accepted.idempotency_key(), Some("req-1"));
    assert_eq!(
        accepted.secrets().anthropic.api_key.expose_secret(),
        API_KEY_CANARY
    );
    assert_eq!(
        accepted
            .secrets()
            .bearer_token("docs")
            .map(|s| s.expose_secret().as_str()),
        Some(BEARER_CANARY)
    );
}

#[test]
fn without_overrides_the_template_policy_applies() {
    let mut body = submission();
    remove(&mut body, "/cleanup");
    remove(&mut body, "/limits");
    remove(&mut body, "/idempotencyKey");
    let accepted = validate_submission(&body).expect("valid");
    assert_eq!(
        accepted.cleanup(CleanupPolicy::default()).claude_session,
        ClaudeSessionCleanup::Retain
    );
    assert_eq!(accepted.limits().max_duration_seconds, Some(600));
    assert_eq!(accepted.idempotency_key(), None);
}

#[test]
fn the_deployment_default_applies_only_when_neither_run_nor_template_says() {
    let mut body = submission();
    remove(&mut body, "/cleanup");
    remove(&mut body, "/template/cleanup");
    let accepted = validate_submission(&body).expect("valid");
    let retain_by_default = CleanupPolicy {
        claude_session: ClaudeSessionCleanup::Retain,
    };
    assert_eq!(
        accepted.cleanup(retain_by_default).claude_session,
        ClaudeSessionCleanup::Retain
    );
    assert_eq!(
        accepted.cleanup(CleanupPolicy::default()).claude_session,
        ClaudeSessionCleanup::Delete
    );
}

#[test]
fn the_request_hash_ignores_secrets_and_the_idempotency_key() {
    let base = validate_submission(&submission())
        .expect("valid")
        .request_hash();
    let mut other = submission();
    set(
        &mut other,
        "/secrets/anthropic/apiKey",
        json!("sk-ant-different"),
    );
    set(&mut other, "/idempotencyKey", json!("req-2"));
    assert_eq!(
        validate_submission(&other).expect("valid").request_hash(),
        base
    );
}

#[test]
fn the_request_hash_follows_resolved_values_not_their_spelling() {
    let base = validate_submission(&submission())
        .expect("valid")
        .request_hash();
    let mut explicit = submission();
    set(&mut explicit, "/variables/depth", json!(2.0));
    set(&mut explicit, "/variables/audience", json!("engineers"));
    assert_eq!(
        validate_submission(&explicit)
            .expect("valid")
            .request_hash(),
        base
    );
    let mut changed = submission();
    set(&mut changed, "/variables/depth", json!(3));
    assert_ne!(
        validate_submission(&changed).expect("valid").request_hash(),
        base
    );
    let mut limits = submission();
    set(&mut limits, "/limits/maxDurationSeconds", json!(301));
    assert_ne!(
        validate_submission(&limits).expect("valid").request_hash(),
        base
    );
}

#[test]
fn unknown_top_level_fields_are_rejected() {
    assert_eq!(paths(&with("/priority", json!(1))), ["/priority"]);
}

#[test]
fn a_body_that_is_not_an_object_is_rejected() {
    assert_error(&errors_of(&json!("run")), "", "JSON object");
}

#[test]
fn template_problems_are_located_under_template() {
    let errors = with(
        "/template/agent/mcpServers/0/url",
        json!("http://mcp.example.com"),
    );
    assert_eq!(paths(&errors), ["/template/agent/mcpServers/0/url"]);
    assert_error(
        &with("/template/typo", json!(1)),
        "/template/typo",
        "Unknown field",
    );
}

#[test]
fn variable_problems_are_located_under_variables() {
    let errors = with("/variables", json!({"topic": 1, "extra": "x"}));
    assert_error(&errors, "/variables/topic", "must be a string");
    assert_error(&errors, "/variables/extra", "declares no variable");
    assert_error(
        &with("/variables", json!([1])),
        "/variables",
        "Expected an object",
    );
}

#[test]
fn an_optional_variable_used_by_the_prompt_still_needs_a_value() {
    let mut body = submission();
    set(
        &mut body,
        "/template/variables/note",
        json!({"type": "string", "required": false}),
    );
    set(&mut body, "/template/prompt", json!("{{topic}} {{note}}"));
    assert_eq!(paths(&errors_of(&body)), ["/variables/note"]);
}

#[test]
fn secrets_and_the_api_key_are_required() {
    let mut body = submission();
    remove(&mut body, "/secrets");
    assert_error(&errors_of(&body), "/secrets", "required");
    let errors = with("/secrets/anthropic", json!({}));
    assert_error(&errors, "/secrets/anthropic/apiKey", "required");
}

#[test]
fn an_empty_api_key_is_rejected_without_echoing_anything() {
    for empty in ["", "   "] {
        let errors = with("/secrets/anthropic/apiKey", json!(empty));
        assert_eq!(paths(&errors), ["/secrets/anthropic/apiKey"]);
        assert_no_canary(&errors);
    }
}

#[test]
fn a_static_bearer_server_without_a_token_is_rejected() {
    let errors = with("/secrets/mcpServers", json!({}));
    assert_error(&errors, "/secrets/mcpServers/docs", "needs a `bearerToken`");
    let errors = with("/secrets/mcpServers/docs/bearerToken", json!(""));
    assert_error(
        &errors,
        "/secrets/mcpServers/docs/bearerToken",
        "must not be empty",
    );
}

#[test]
fn a_token_for_an_undeclared_or_unauthenticated_server_is_rejected() {
    let errors = with(
        "/secrets/mcpServers/wiki",
        json!({"bearerToken": BEARER_CANARY}),
    );
    assert_error(
        &errors,
        "/secrets/mcpServers/wiki",
        "declares no MCP server",
    );
    assert_no_canary(&errors);
    let errors = with("/template/agent/mcpServers/0/auth", json!("none"));
    assert_error(&errors, "/secrets/mcpServers/docs", "`auth: none`");
    assert_no_canary(&errors);
}

#[test]
fn malformed_secrets_are_located_without_echoing_values() {
    let mut body = submission();
    set(&mut body, "/secrets/anthropic/orgId", json!(API_KEY_CANARY));
    set(
        &mut body,
        "/secrets/mcpServers/docs/bearerToken",
        json!([BEARER_CANARY]),
    );
    set(&mut body, "/secrets/vault", json!(BEARER_CANARY));
    let errors = errors_of(&body);
    assert_error(&errors, "/secrets/anthropic/orgId", "Unknown field");
    assert_error(
        &errors,
        "/secrets/mcpServers/docs/bearerToken",
        "Expected a string",
    );
    assert_error(&errors, "/secrets/vault", "Unknown field");
    assert_no_canary(&errors);
}

#[test]
fn every_problem_of_a_broken_submission_comes_back_without_secrets() {
    let mut body = submission();
    set(&mut body, "/template/name", json!("Bad Name"));
    set(&mut body, "/variables/topic", json!("x"));
    set(
        &mut body,
        "/secrets/mcpServers/ghost",
        json!({"bearerToken": BEARER_CANARY}),
    );
    set(&mut body, "/limits/maxDurationSeconds", json!(0));
    set(&mut body, "/idempotencyKey", json!(""));
    set(&mut body, "/template/labels/apiKey", json!(API_KEY_CANARY));
    set(&mut body, "/template/description", json!(API_KEY_CANARY));
    let errors = errors_of(&body);
    for path in [
        "/template/name",
        "/template/labels/apiKey",
        "/variables/topic",
        "/secrets/mcpServers/ghost",
        "/limits/maxDurationSeconds",
        "/idempotencyKey",
    ] {
        assert!(errors.has_path(path), "{path} missing from {errors:#?}");
    }
    assert_no_canary(&errors);
}

#[test]
fn debug_output_of_an_accepted_submission_hides_secrets_and_the_prompt() {
    let accepted = validate_submission(&submission()).expect("valid");
    let debug = format!("{accepted:?}");
    assert!(
        !debug.contains(API_KEY_CANARY) && !debug.contains(BEARER_CANARY),
        "{debug}"
    );
    assert!(
        !debug.contains("rate limits"),
        "prompt or variable value leaked: {debug}"
    );
    assert!(debug.contains("[redacted]"));
    let serialised = serde_json::to_string(accepted.secrets()).expect("serialise");
    assert!(!serialised.contains(API_KEY_CANARY) && !serialised.contains(BEARER_CANARY));
}

#[test]
fn the_plaintext_secrets_are_reachable_only_through_the_named_function() {
    let accepted = validate_submission(&submission()).expect("valid");
    let plaintext = accepted.secrets().to_plaintext_json();
    assert!(!format!("{plaintext:?}").contains(API_KEY_CANARY));
    let json: Value = serde_json::from_str(plaintext.expose_secret()).expect("json");
    assert_eq!(json["anthropic"]["apiKey"], json!(API_KEY_CANARY));
    assert_eq!(
        json["mcpServers"]["docs"]["bearerToken"],
        json!(BEARER_CANARY)
    );
}
