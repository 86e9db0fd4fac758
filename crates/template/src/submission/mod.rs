//! The run-submission contract: the body of `POST /v1/runs`.
//!
//! ```json
//! {"template": {…}, "variables": {"topic": "x"},
//!  "secrets": {"anthropic": {"apiKey": "sk-ant-…"}, "mcpServers": {"docs": {"bearerToken": "…"}}},
//!  "cleanup": {"claudeSession": "retain"}, "limits": {"maxDurationSeconds": 600},
//!  "idempotencyKey": "optional"}
//! ```
//!
//! [`validate_submission`] checks the whole body and lists every problem with its JSON pointer
//! (`/template/…`, `/variables/…`, `/secrets/…`). `secrets` is the only place a credential may
//! be: any key elsewhere that looks secret-bearing is rejected (see [`secret_keys`]). No error
//! message ever contains a value from `secrets`.
//!
//! A submission's `cleanup` replaces the template's; its `limits` replace the template's field
//! by field. Clamping to the plan's caps happens later, in the bff.

mod accepted;
mod inputs;
pub mod secret_keys;
pub mod secrets;

use antpath_types::{CleanupPolicy, RunLimits};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use accepted::ValidatedSubmission;
pub use inputs::RunInputs;
pub use secrets::{AnthropicSecrets, McpServerSecret, SecretBundle, SecretBundleFormatError};

use crate::error::{Issues, ValidationErrors, child};
use crate::parse::template_from_value;
use crate::render::{Prompt, PromptError};
use crate::schema::{CLEANUP, LIMITS, SECRETS, SUBMISSION_PARTS, VARIABLE_VALUES};
use crate::shape::{Shape, walk};
use crate::validate::check_limits;
use crate::variables::values::check_values;
use secret_keys::{is_secret_key, reject_secret_keys};

/// Longest accepted idempotency key, in characters.
pub(crate) const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// Longest prompt once its variables are filled in, in characters. The template's prompt and
/// each value are bounded on their own, but a placeholder repeated thousands of times could
/// still multiply a value into gigabytes.
const MAX_RENDERED_PROMPT_CHARS: usize = 1_000_000;

/// Validates a `POST /v1/runs` body, reporting every problem at once.
pub fn validate_submission(body: &Value) -> Result<ValidatedSubmission, ValidationErrors> {
    let mut issues = Issues::default();
    let Value::Object(fields) = body else {
        issues.push("", "The request body must be a JSON object.");
        return Err(issues.into_errors());
    };
    reject_misplaced_secrets(fields, &mut issues);
    for key in fields.keys() {
        if !SUBMISSION_PARTS
            .iter()
            .any(|part| part.name == key.as_str())
        {
            let names: Vec<&str> = SUBMISSION_PARTS.iter().map(|part| part.name).collect();
            let expected = names.join("`, `");
            issues.push(
                child("", key),
                format!("Unknown field `{key}`; expected one of: `{expected}`."),
            );
        }
    }

    let template = match fields.get("template") {
        Some(value) => template_from_value(value, "/template", &mut issues),
        None => {
            issues.push("/template", "This field is required.");
            None
        }
    };
    let values: Option<Map<String, Value>> =
        read_part(fields, "variables", &VARIABLE_VALUES, &mut issues).or_else(|| {
            // Absent means no values; a malformed one was already reported.
            (!fields.contains_key("variables")).then(Map::new)
        });
    let secrets: Option<SecretBundle> = match fields.get("secrets") {
        Some(_) => read_part(fields, "secrets", &SECRETS, &mut issues),
        None => {
            issues.push("/secrets", "This field is required.");
            None
        }
    };
    let cleanup: Option<CleanupPolicy> = read_part(fields, "cleanup", &CLEANUP, &mut issues);
    let limits: Option<RunLimits> = read_part(fields, "limits", &LIMITS, &mut issues);
    if let Some(limits) = &limits {
        check_limits(limits, "/limits", &mut issues);
    }
    let idempotency_key = read_idempotency_key(fields, &mut issues);

    if let Some(secrets) = &secrets {
        secrets::check_secrets(secrets, template.as_ref(), &mut issues);
    }
    let (Some(template), Some(values), Some(secrets)) = (template, values, secrets) else {
        return Err(issues.into_errors());
    };
    let resolved = check_values(&template.variables, &values, "/variables", &mut issues);
    let prompt = render_checked(&template.prompt, &resolved, &mut issues);
    if !issues.is_empty() {
        return Err(issues.into_errors());
    }
    let effective_limits = RunLimits {
        max_duration_seconds: limits
            .and_then(|l| l.max_duration_seconds)
            .or(template.limits.max_duration_seconds),
        max_spend_usd: limits
            .and_then(|l| l.max_spend_usd)
            .or(template.limits.max_spend_usd),
    };
    // The template's cleanup counts as said only when the template spelled it out; otherwise
    // the deployment's default applies (see `ValidatedSubmission::cleanup`).
    let template_said_cleanup = fields
        .get("template")
        .and_then(|t| t.get("cleanup"))
        .is_some();
    Ok(ValidatedSubmission::new(accepted::Parts {
        cleanup: cleanup.or(template_said_cleanup.then_some(template.cleanup)),
        limits: effective_limits,
        requested_limits: limits.unwrap_or_default(),
        template,
        variables: resolved,
        prompt: prompt.unwrap_or_default(),
        secrets,
        idempotency_key,
    }))
}

/// Rejects secret-bearing keys everywhere except inside `secrets` (the template walks its own).
fn reject_misplaced_secrets(fields: &Map<String, Value>, issues: &mut Issues) {
    for (key, value) in fields {
        let path = child("", key);
        if key == "secrets" || key == "template" {
            continue;
        }
        if is_secret_key(key) {
            issues.push_and_silence(
                path,
                format!(
                    "`{key}` looks like it holds a credential; credentials go only in `secrets`."
                ),
            );
        } else {
            reject_secret_keys(value, &path, issues);
        }
    }
}

/// Walks and deserialises one optional top-level part. `None` when it is absent or broken.
fn read_part<T: DeserializeOwned>(
    fields: &Map<String, Value>,
    key: &str,
    shape: &Shape,
    issues: &mut Issues,
) -> Option<T> {
    let mut value = fields.get(key)?.clone();
    let path = child("", key);
    if !walk(&mut value, shape, &path, issues) {
        return None;
    }
    match serde_json::from_value(value) {
        Ok(part) => Some(part),
        Err(_) => {
            // Unreachable while the shapes match the model; the serde text is dropped because
            // this part may be `secrets`.
            issues.push(
                path,
                "This part could not be read; its structure is not supported.",
            );
            None
        }
    }
}

fn read_idempotency_key(fields: &Map<String, Value>, issues: &mut Issues) -> Option<String> {
    match fields.get("idempotencyKey")? {
        Value::String(key) => {
            let len = key.chars().count();
            if len == 0 || len > MAX_IDEMPOTENCY_KEY_CHARS || key.chars().any(char::is_control) {
                issues.push(
                    "/idempotencyKey",
                    "The idempotency key must be 1 to 255 characters without control characters.",
                );
            }
            Some(key.clone())
        }
        _ => {
            issues.push("/idempotencyKey", "Expected a string.");
            None
        }
    }
}

/// Renders the prompt, reporting a missing value at the variable it needs.
fn render_checked(
    prompt: &str,
    resolved: &crate::variables::ResolvedVariables,
    issues: &mut Issues,
) -> Option<String> {
    // Parse errors were already reported at `/template/prompt` by the template check.
    let parsed = Prompt::parse(prompt).ok()?;
    if parsed.rendered_chars(resolved) > MAX_RENDERED_PROMPT_CHARS {
        issues.push(
            "/template/prompt",
            format!(
                "With its variable values filled in, the prompt would be longer than {MAX_RENDERED_PROMPT_CHARS} characters."
            ),
        );
        return None;
    }
    match parsed.render(resolved) {
        Ok(text) => Some(text),
        Err(errors) => {
            for error in errors {
                if let PromptError::MissingValue { name } = &error {
                    let path = child("/variables", name);
                    if !issues.has_path(&path) {
                        issues.push(path, "The prompt uses this variable, so it needs a value.");
                    }
                }
            }
            None
        }
    }
}
