//! A submission that passed every check, with everything the bff and worker need from it.

use std::fmt;

use antpath_types::{CleanupPolicy, RunLimits};
use serde_json::{Value, json};

use super::secrets::SecretBundle;
use crate::hash::ContentHash;
use crate::model::Template;
use crate::variables::ResolvedVariables;

/// The pieces [`ValidatedSubmission::new`] assembles.
pub(super) struct Parts {
    pub(super) template: Template,
    pub(super) variables: ResolvedVariables,
    pub(super) prompt: String,
    pub(super) secrets: SecretBundle,
    pub(super) cleanup: Option<CleanupPolicy>,
    pub(super) limits: RunLimits,
    pub(super) requested_limits: RunLimits,
    pub(super) idempotency_key: Option<String>,
}

/// A valid run submission. Only [`super::validate_submission`] makes one.
#[derive(Clone)]
pub struct ValidatedSubmission {
    template: Template,
    template_hash: ContentHash,
    variables: ResolvedVariables,
    prompt: String,
    secrets: SecretBundle,
    cleanup: Option<CleanupPolicy>,
    limits: RunLimits,
    requested_limits: RunLimits,
    idempotency_key: Option<String>,
}

impl ValidatedSubmission {
    pub(super) fn new(parts: Parts) -> Self {
        Self {
            template_hash: parts.template.hash(),
            template: parts.template,
            variables: parts.variables,
            prompt: parts.prompt,
            secrets: parts.secrets,
            cleanup: parts.cleanup,
            limits: parts.limits,
            requested_limits: parts.requested_limits,
            idempotency_key: parts.idempotency_key,
        }
    }

    /// The normalised template.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// The hash of the normalised template.
    pub fn template_hash(&self) -> &ContentHash {
        &self.template_hash
    }

    /// The variable values with defaults applied.
    pub fn variables(&self) -> &ResolvedVariables {
        &self.variables
    }

    /// The first user message, placeholders filled in. Never log it.
    pub fn rendered_prompt(&self) -> &str {
        &self.prompt
    }

    /// The credentials; encrypt them with [`SecretBundle::to_plaintext_json`].
    pub fn secrets(&self) -> &SecretBundle {
        &self.secrets
    }

    /// The cleanup policy: the submission's if given, else the template's if it spelled one
    /// out, else `deployment_default`.
    pub fn cleanup(&self, deployment_default: CleanupPolicy) -> CleanupPolicy {
        self.cleanup.unwrap_or(deployment_default)
    }

    /// The limits: each field from the submission if given, else from the template. Not yet
    /// clamped to the plan.
    pub fn limits(&self) -> RunLimits {
        self.limits
    }

    /// The limits the submission itself asked for (its `limits`, without the template's), so a
    /// request beyond the plan can be refused where a template's own limit is only clamped.
    pub fn requested_limits(&self) -> RunLimits {
        self.requested_limits
    }

    /// The client's idempotency key, if any.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// Everything the request hash covers: the normalised template, the resolved variables
    /// and the effective cleanup and limits. Not the secrets (a rotated key is the same
    /// request) and not the idempotency key (it is what the hash is compared under).
    pub fn hashed_content(&self) -> Value {
        json!({
            "template": self.template.to_normalised_value(),
            "variables": self.variables,
            "cleanup": self.cleanup.unwrap_or_default(),
            "limits": self.limits,
        })
    }

    /// The hash the bff stores with an idempotency key, to tell a retry of the same request
    /// from a different request under a reused key.
    pub fn request_hash(&self) -> ContentHash {
        ContentHash::of_value(&self.hashed_content())
    }

    /// Gives up the secrets, for the code path that encrypts them.
    pub fn into_secrets(self) -> SecretBundle {
        self.secrets
    }
}

/// Shows ids and hashes only: the prompt and variable values are user content and stay out
/// of logs; the secrets print redacted.
impl fmt::Debug for ValidatedSubmission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatedSubmission")
            .field("template_name", &self.template.name)
            .field("template_hash", &self.template_hash)
            .field("variables", &self.variables.keys().collect::<Vec<_>>())
            .field("prompt_bytes", &self.prompt.len())
            .field("secrets", &self.secrets)
            .field("cleanup", &self.cleanup)
            .field("limits", &self.limits)
            .field("idempotency_key", &self.idempotency_key)
            .finish()
    }
}
