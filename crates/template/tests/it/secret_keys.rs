//! Secret-bearing keys anywhere outside `secrets` are rejected at their exact paths.

use antpath_template::validate_submission;
use serde_json::{Value, json};

use super::support::{API_KEY_CANARY, set, submission};

/// Every name the contract promises to refuse, in the spellings people use.
const REFUSED: &[&str] = &[
    "apiKey",
    "api_key",
    "API-KEY",
    "x-api-key",
    "token",
    "accessToken",
    "access_token",
    "refreshToken",
    "password",
    "passwd",
    "secret",
    "clientSecret",
    "client_secret",
    "authorization",
    "Authorization",
    "bearer",
    "bearerToken",
    "credentials",
    "privateKey",
    "private_key",
    "cookie",
    "headers",
    "githubToken",
    "sessionCookie",
];

fn rejected_paths(body: &Value) -> Vec<String> {
    let errors = validate_submission(body).expect_err("should be rejected");
    errors
        .details()
        .iter()
        .filter(|d| d.message.contains("credentials go only in `secrets`"))
        .map(|d| d.path.clone())
        .collect()
}

#[test]
fn each_refused_name_is_rejected_in_template_labels() {
    for key in REFUSED {
        let mut body = submission();
        body["template"]["labels"][key] = json!(API_KEY_CANARY);
        let escaped = key.replace('~', "~0").replace('/', "~1");
        assert_eq!(
            rejected_paths(&body),
            [format!("/template/labels/{escaped}")],
            "{key}"
        );
    }
}

#[test]
fn headers_on_an_mcp_server_are_rejected_once_at_their_path() {
    let mut body = submission();
    set(
        &mut body,
        "/template/agent/mcpServers/0/headers",
        json!({"Authorization": "Bearer x"}),
    );
    let errors = validate_submission(&body).expect_err("rejected");
    let at_headers: Vec<_> = errors
        .details()
        .iter()
        .filter(|d| d.path == "/template/agent/mcpServers/0/headers")
        .collect();
    assert_eq!(
        at_headers.len(),
        1,
        "not also reported as an unknown field: {errors:#?}"
    );
    assert!(at_headers[0].message.contains("credential"));
}

#[test]
fn secret_keys_nested_in_arrays_and_objects_are_found_at_their_paths() {
    let mut body = submission();
    set(
        &mut body,
        "/template/agent/tools/0/configs/0/extra",
        json!({"deep": [{"ok": 1}, {"inner": {"password": "x"}}]}),
    );
    set(&mut body, "/template/agent/tools/1/apiKey", json!("x"));
    set(&mut body, "/variables/access_token", json!("x"));
    set(&mut body, "/limits/token", json!("x"));
    set(&mut body, "/cleanup/secret", json!("x"));
    set(&mut body, "/bearer", json!("x"));
    let mut found = rejected_paths(&body);
    found.sort();
    assert_eq!(
        found,
        [
            "/bearer",
            "/cleanup/secret",
            "/limits/token",
            "/template/agent/tools/0/configs/0/extra/deep/1/inner/password",
            "/template/agent/tools/1/apiKey",
            "/variables/access_token",
        ]
    );
}

#[test]
fn a_variable_declared_with_a_secret_name_is_rejected() {
    let mut body = submission();
    set(
        &mut body,
        "/template/variables/apiKey",
        json!({"type": "string", "required": false}),
    );
    assert_eq!(rejected_paths(&body), ["/template/variables/apiKey"]);
}

#[test]
fn legitimate_names_that_mention_tokens_or_auth_are_accepted() {
    let mut body = submission();
    set(&mut body, "/template/labels/maxTokens", json!("4096"));
    set(&mut body, "/template/labels/max_tokens", json!("4096"));
    set(&mut body, "/template/labels/tokenizer", json!("x"));
    set(&mut body, "/template/labels/author", json!("x"));
    set(
        &mut body,
        "/template/variables/max_tokens",
        json!({"type": "number", "default": 10}),
    );
    set(&mut body, "/variables/max_tokens", json!(20));
    let accepted = validate_submission(&body).expect("legitimate names pass");
    assert_eq!(
        accepted.template().agent.mcp_servers[0].name,
        "docs",
        "`auth` was accepted"
    );
}

#[test]
fn secret_names_inside_secrets_are_of_course_allowed() {
    validate_submission(&submission()).expect("apiKey and bearerToken live in secrets");
}
