//! [`RunRequest`]: the body of `POST /v1/runs`, built in code.
//!
//! The request holds the template as a JSON document, variable values, the secrets (each a
//! [`Secret`]) and the optional cleanup, limits and idempotency key. Its `Debug` shows names,
//! never values or secrets. The wire body, secrets included, exists only through
//! [`RunRequest::to_body_exposing_secrets`], which the client calls when sending.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use antpath_redact::Secret;
use antpath_template::{Template, ValidatedSubmission, ValidationErrors, validate_submission};
use antpath_types::ClaudeSessionCleanup;
use serde_json::{Map, Value, json};

/// A run submission.
#[derive(Clone)]
pub struct RunRequest {
    template: Value,
    variables: Map<String, Value>,
    anthropic_api_key: Option<Secret<String>>,
    mcp_bearers: BTreeMap<String, Secret<String>>,
    cleanup: Option<ClaudeSessionCleanup>,
    max_duration_seconds: Option<u64>,
    max_spend_usd: Option<f64>,
    idempotency_key: Option<String>,
}

impl RunRequest {
    /// A request for `template` (normalised, as it is hashed).
    pub fn new(template: &Template) -> Self {
        Self::from_template_document(template.to_normalised_value())
    }

    /// A request for a template held as a JSON document (for example read from a file),
    /// sent as it is; the server validates it.
    pub fn from_template_document(template: Value) -> Self {
        Self {
            template,
            variables: Map::new(),
            anthropic_api_key: None,
            mcp_bearers: BTreeMap::new(),
            cleanup: None,
            max_duration_seconds: None,
            max_spend_usd: None,
            idempotency_key: None,
        }
    }

    /// Sets one variable; the value's JSON type must match the declaration
    /// (`"text"`, `3`, `true`).
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.variables.insert(name.into(), value.into());
        self
    }

    /// Sets several variables, replacing earlier values of the same names.
    pub fn variables(mut self, values: impl IntoIterator<Item = (String, Value)>) -> Self {
        self.variables.extend(values);
        self
    }

    /// The Anthropic API key the run uses (required).
    pub fn anthropic_api_key(mut self, key: impl Into<String>) -> Self {
        self.anthropic_api_key = Some(Secret::new(key.into()));
        self
    }

    /// The bearer token of the template's `static_bearer` MCP server `name`.
    pub fn mcp_bearer(mut self, name: impl Into<String>, token: impl Into<String>) -> Self {
        self.mcp_bearers
            .insert(name.into(), Secret::new(token.into()));
        self
    }

    /// Keeps the provider session, agent and environment after the run, for inspection.
    pub fn retain(self) -> Self {
        self.cleanup(ClaudeSessionCleanup::Retain)
    }

    /// Sets what happens to the provider resources; absent means the template's choice.
    pub fn cleanup(mut self, cleanup: ClaudeSessionCleanup) -> Self {
        self.cleanup = Some(cleanup);
        self
    }

    /// Overrides the template's wall-clock limit (whole seconds; clamped by the plan).
    pub fn max_duration(mut self, limit: Duration) -> Self {
        self.max_duration_seconds = Some(limit.as_secs());
        self
    }

    /// Overrides the template's spend budget in US dollars.
    pub fn max_spend_usd(mut self, budget: f64) -> Self {
        self.max_spend_usd = Some(budget);
        self
    }

    /// Makes the submission idempotent: a repeat with the same key and the same request
    /// returns the run created first, so the client may safely retry it.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The idempotency key, if set.
    pub fn idempotency_key_value(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// The template document that will be sent.
    pub fn template_document(&self) -> &Value {
        &self.template
    }

    /// The exact JSON body of `POST /v1/runs`, **with the secrets in plain text**. Only the
    /// client should call this, to send it; never log the result.
    pub fn to_body_exposing_secrets(&self) -> Value {
        let mut secrets = Map::new();
        if let Some(key) = &self.anthropic_api_key {
            secrets.insert("anthropic".into(), json!({ "apiKey": key.expose_secret() }));
        }
        if !self.mcp_bearers.is_empty() {
            let servers: Map<String, Value> = self
                .mcp_bearers
                .iter()
                .map(|(name, token)| {
                    (
                        name.clone(),
                        json!({ "bearerToken": token.expose_secret() }),
                    )
                })
                .collect();
            secrets.insert("mcpServers".into(), Value::Object(servers));
        }
        let mut body = Map::new();
        body.insert("template".into(), self.template.clone());
        body.insert("variables".into(), Value::Object(self.variables.clone()));
        body.insert("secrets".into(), Value::Object(secrets));
        if let Some(cleanup) = self.cleanup {
            body.insert("cleanup".into(), json!({ "claudeSession": cleanup }));
        }
        let mut limits = Map::new();
        if let Some(seconds) = self.max_duration_seconds {
            limits.insert("maxDurationSeconds".into(), json!(seconds));
        }
        if let Some(budget) = self.max_spend_usd {
            limits.insert("maxSpendUsd".into(), json!(budget));
        }
        if !limits.is_empty() {
            body.insert("limits".into(), Value::Object(limits));
        }
        if let Some(key) = &self.idempotency_key {
            body.insert("idempotencyKey".into(), json!(key));
        }
        Value::Object(body)
    }

    /// Runs the server's own checks locally: every problem, located by JSON pointer, before
    /// anything is sent.
    pub fn validate(&self) -> Result<ValidatedSubmission, ValidationErrors> {
        validate_submission(&self.to_body_exposing_secrets())
    }
}

/// Names and settings only: variable values are user content, secrets are secrets.
impl fmt::Debug for RunRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let template_name = self.template.get("name").and_then(Value::as_str);
        f.debug_struct("RunRequest")
            .field("template_name", &template_name)
            .field("variables", &self.variables.keys().collect::<Vec<_>>())
            .field("anthropic_api_key", &self.anthropic_api_key)
            .field("mcp_bearers", &self.mcp_bearers)
            .field("cleanup", &self.cleanup)
            .field("max_duration_seconds", &self.max_duration_seconds)
            .field("max_spend_usd", &self.max_spend_usd)
            .field("idempotency_key", &self.idempotency_key)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use antpath_template::{Format, parse_template};

    use super::*;

    const KEY: &str = "sk-ant-canary-123";
    const BEARER: &str = "bearer-canary-456";

    fn template() -> Template {
        parse_template(
            r#"{"name": "docs", "agent": {"model": "claude-sonnet-4-5",
                "mcpServers": [{"name": "docs", "url": "https://mcp.example.com", "auth": "static_bearer"}],
                "tools": [{"type": "mcp_toolset", "mcpServerName": "docs"}]},
                "prompt": "Summarise {{topic}} in {{n}} lines",
                "variables": {"topic": {"type": "string"}, "n": {"type": "number"}}}"#,
            Format::Json,
        )
        .expect("template")
    }

    fn request() -> RunRequest {
        RunRequest::new(&template())
            .variable("topic", "tide pools")
            .variable("n", 3)
            .anthropic_api_key(KEY)
            .mcp_bearer("docs", BEARER)
            .retain()
            .max_duration(Duration::from_secs(600))
            .idempotency_key("k-1")
    }

    #[test]
    fn the_body_has_the_documented_camel_case_shape() {
        let body = request().to_body_exposing_secrets();
        assert_eq!(body["variables"], json!({"topic": "tide pools", "n": 3}));
        assert_eq!(body["secrets"]["anthropic"]["apiKey"], KEY);
        assert_eq!(body["secrets"]["mcpServers"]["docs"]["bearerToken"], BEARER);
        assert_eq!(body["cleanup"], json!({"claudeSession": "retain"}));
        assert_eq!(body["limits"], json!({"maxDurationSeconds": 600}));
        assert_eq!(body["idempotencyKey"], "k-1");
        assert_eq!(body["template"]["name"], "docs");
    }

    #[test]
    fn the_body_passes_the_servers_submission_checks() {
        let validated = request().validate().expect("valid");
        assert_eq!(
            validated.rendered_prompt(),
            "Summarise tide pools in 3 lines"
        );
        assert_eq!(validated.template_hash(), &template().hash());
    }

    #[test]
    fn debug_output_shows_neither_secrets_nor_variable_values() {
        let debug = format!("{:?}", request());
        for hidden in [KEY, BEARER, "tide pools"] {
            assert!(!debug.contains(hidden), "{debug}");
        }
        assert!(debug.contains("topic") && debug.contains("[redacted]"));
    }

    #[test]
    fn a_missing_bearer_is_reported_at_its_secret_path() {
        let errors = RunRequest::new(&template())
            .variable("topic", "x")
            .variable("n", 1)
            .anthropic_api_key(KEY)
            .validate()
            .expect_err("bearer missing");
        assert!(errors.has_path("/secrets/mcpServers/docs"), "{errors}");
    }
}
