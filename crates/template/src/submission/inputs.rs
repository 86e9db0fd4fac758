//! [`RunInputs`]: what the bff seals for a run and the worker opens again.
//!
//! The variable values are part of the prompt, so they are user content with the same custody
//! as the credentials: they travel inside the encrypted per-run bundle, never in plain columns.
//! The sealed plaintext is one JSON document, defined here only:
//!
//! ```json
//! {"secrets": {"anthropic": {"apiKey": "…"}, "mcpServers": {"docs": {"bearerToken": "…"}}},
//!  "variables": {"topic": "tide pools"}}
//! ```
//!
//! `secrets` is exactly [`SecretBundle::to_plaintext_json`]; `variables` holds the resolved
//! values (defaults applied). The worker re-renders the prompt from the run's template snapshot
//! and these variables.

use std::fmt;

use antpath_redact::Secret;
use serde::Deserialize;

use super::accepted::ValidatedSubmission;
use super::secrets::{SecretBundle, SecretBundleFormatError};
use crate::variables::ResolvedVariables;

/// The sealed inputs of one run: its credentials and its resolved variable values.
#[derive(Clone, PartialEq)]
pub struct RunInputs {
    /// The credentials.
    pub secrets: SecretBundle,
    /// The variable values with the template's defaults applied.
    pub variables: ResolvedVariables,
}

/// The wire form, read back after decryption.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Plain {
    secrets: SecretBundle,
    variables: ResolvedVariables,
}

impl RunInputs {
    /// The inputs of a validated submission.
    pub fn from_submission(submission: &ValidatedSubmission) -> Self {
        Self {
            secrets: submission.secrets().clone(),
            variables: submission.variables().clone(),
        }
    }

    /// The document to seal, for envelope encryption **only**; still wrapped, so it prints
    /// redacted if it reaches a log by mistake.
    pub fn to_plaintext_json(&self) -> Secret<String> {
        let secrets = self.secrets.to_plaintext_json();
        // Serialising a map of JSON values cannot fail.
        let variables = serde_json::to_string(&self.variables).unwrap_or_else(|_| "{}".into());
        Secret::new(format!(
            "{{\"secrets\":{},\"variables\":{variables}}}",
            secrets.expose_secret()
        ))
    }

    /// Reads back the output of [`RunInputs::to_plaintext_json`] after decryption. The error
    /// carries no detail, because parser messages can quote the decrypted input.
    pub fn from_plaintext_json(plaintext: &str) -> Result<Self, SecretBundleFormatError> {
        let plain: Plain = serde_json::from_str(plaintext).map_err(|_| SecretBundleFormatError)?;
        Ok(Self {
            secrets: plain.secrets,
            variables: plain.variables,
        })
    }
}

/// Names the variables but never prints their values; the secrets print redacted.
impl fmt::Debug for RunInputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunInputs")
            .field("secrets", &self.secrets)
            .field("variables", &self.variables.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const CANARY: &str = "sk-ant-inputs-canary-0000";

    fn inputs() -> RunInputs {
        RunInputs {
            secrets: serde_json::from_value(json!({
                "anthropic": {"apiKey": CANARY},
                "mcpServers": {"docs": {"bearerToken": "bearer-canary"}}
            }))
            .expect("bundle"),
            variables: [("topic".to_owned(), json!("tide pools"))].into(),
        }
    }

    #[test]
    fn the_plaintext_document_round_trips_with_both_parts() {
        let inputs = inputs();
        let plaintext = inputs.to_plaintext_json();
        let value: serde_json::Value =
            serde_json::from_str(plaintext.expose_secret()).expect("json");
        assert_eq!(value["secrets"]["anthropic"]["apiKey"], CANARY);
        assert_eq!(value["variables"]["topic"], "tide pools");
        let back = RunInputs::from_plaintext_json(plaintext.expose_secret()).expect("reads");
        assert!(back == inputs);
    }

    #[test]
    fn debug_shows_neither_secrets_nor_variable_values() {
        let text = format!("{:?}", inputs());
        assert!(
            !text.contains(CANARY) && !text.contains("tide pools"),
            "{text}"
        );
        assert!(text.contains("topic"));
    }

    #[test]
    fn a_malformed_document_is_refused_without_echoing_it() {
        let error = RunInputs::from_plaintext_json(&format!("{{\"secrets\": \"{CANARY}\"}}"))
            .expect_err("malformed");
        assert!(!error.to_string().contains(CANARY));
    }
}
