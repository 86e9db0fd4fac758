//! The `secrets` of a run submission: the only place a credential may appear.
//!
//! Every value is an [`antpath_redact::Secret`], so `Debug` and the ordinary `Serialize` print
//! `[redacted]`. The plaintext form exists only through [`SecretBundle::to_plaintext_json`],
//! whose sole caller should be envelope encryption, and is read back by
//! [`SecretBundle::from_plaintext_json`] after decryption.

use std::collections::BTreeMap;

use antpath_redact::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::{Issues, child};
use crate::model::{McpAuth, Template};

/// Every credential one run needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretBundle {
    /// Credentials for the provider.
    pub anthropic: AnthropicSecrets,
    /// Bearer tokens of the template's `static_bearer` MCP servers, by server name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mcp_servers: BTreeMap<String, McpServerSecret>,
}

/// Provider credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnthropicSecrets {
    /// The user's Anthropic API key.
    pub api_key: Secret<String>,
}

/// The credential of one MCP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpServerSecret {
    /// Sent as `Authorization: Bearer …` to the server.
    pub bearer_token: Secret<String>,
}

/// The plaintext secrets could not be read back. Carries no detail on purpose: the input is
/// decrypted secret material, and parser messages can quote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the decrypted secrets bundle is not in the expected format")]
pub struct SecretBundleFormatError;

impl SecretBundle {
    /// The bundle as plaintext JSON, for envelope encryption **only**. The result stays wrapped
    /// so that it is still redacted if it ends up in a log by mistake.
    pub fn to_plaintext_json(&self) -> Secret<String> {
        let servers: Map<String, Value> = self
            .mcp_servers
            .iter()
            .map(|(name, secret)| {
                let token = secret.bearer_token.expose_secret().clone();
                (name.clone(), json!({ "bearerToken": token }))
            })
            .collect();
        let mut body = json!({ "anthropic": { "apiKey": self.anthropic.api_key.expose_secret() } });
        if !servers.is_empty() {
            body["mcpServers"] = Value::Object(servers);
        }
        Secret::new(body.to_string())
    }

    /// Reads back the output of [`SecretBundle::to_plaintext_json`] after decryption.
    pub fn from_plaintext_json(plaintext: &str) -> Result<Self, SecretBundleFormatError> {
        serde_json::from_str(plaintext).map_err(|_| SecretBundleFormatError)
    }

    /// The bearer token for the MCP server `name`, if one was given.
    pub fn bearer_token(&self, name: &str) -> Option<&Secret<String>> {
        self.mcp_servers.get(name).map(|s| &s.bearer_token)
    }
}

/// Checks the bundle against the template, at `/secrets/...`. Messages never include a value.
pub(crate) fn check_secrets(
    secrets: &SecretBundle,
    template: Option<&Template>,
    issues: &mut Issues,
) {
    if secrets.anthropic.api_key.expose_secret().trim().is_empty() {
        issues.push(
            "/secrets/anthropic/apiKey",
            "The Anthropic API key must not be empty.",
        );
    }
    let servers_path = "/secrets/mcpServers";
    for (name, secret) in &secrets.mcp_servers {
        if secret.bearer_token.expose_secret().trim().is_empty() {
            let path = child(&child(servers_path, name), "bearerToken");
            issues.push(path, "The bearer token must not be empty.");
        }
    }
    // Without a readable template the cross-checks would only produce noise.
    let Some(template) = template else { return };
    for name in secrets.mcp_servers.keys() {
        let declared = template.agent.mcp_servers.iter().find(|s| &s.name == name);
        let path = child(servers_path, name);
        match declared.map(|s| s.auth) {
            None => issues.push(path, "The template declares no MCP server of this name."),
            Some(McpAuth::None) => issues.push(
                path,
                "This MCP server has `auth: none` in the template, so it takes no token.",
            ),
            Some(McpAuth::StaticBearer) => {}
        }
    }
    for server in &template.agent.mcp_servers {
        if server.auth == McpAuth::StaticBearer && !secrets.mcp_servers.contains_key(&server.name) {
            issues.push(
                child(servers_path, &server.name),
                "This MCP server uses `static_bearer` auth and needs a `bearerToken` here.",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "sk-ant-canary-0000";

    fn bundle() -> SecretBundle {
        serde_json::from_value(json!({
            "anthropic": {"apiKey": CANARY},
            "mcpServers": {"docs": {"bearerToken": "bearer-canary"}}
        }))
        .expect("bundle")
    }

    #[test]
    fn ordinary_serialisation_and_debug_are_redacted() {
        let bundle = bundle();
        let serialised = serde_json::to_string(&bundle).expect("serialise");
        let debugged = format!("{bundle:?}");
        for text in [serialised, debugged] {
            assert!(
                !text.contains(CANARY) && !text.contains("bearer-canary"),
                "{text}"
            );
            assert!(text.contains("[redacted]"));
        }
    }

    #[test]
    fn the_plaintext_form_round_trips() {
        let bundle = bundle();
        let plaintext = bundle.to_plaintext_json();
        assert!(plaintext.expose_secret().contains(CANARY));
        let back = SecretBundle::from_plaintext_json(plaintext.expose_secret()).expect("reads");
        assert_eq!(back, bundle);
    }

    #[test]
    fn a_malformed_plaintext_is_not_echoed_in_the_error() {
        let error = SecretBundle::from_plaintext_json(&format!("{{\"x\": \"{CANARY}\"}}"))
            .expect_err("malformed");
        assert!(!error.to_string().contains(CANARY));
    }
}
