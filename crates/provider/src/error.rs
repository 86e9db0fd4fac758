//! The one error type of the provider boundary and the rule that sorts it into an
//! [`ErrorClass`].
//!
//! Classification rule (also in `docs/provider.md`):
//!
//! | Cause | Class |
//! |---|---|
//! | 401, 402, 403 (key invalid, billing, permission) | tenant_permanent |
//! | 400/422 whose code or message points at what the user chose (model, MCP server or URL, skill, tool, budget, file or repository input) or at the tenant's organization (quota, on hold) | tenant_permanent |
//! | 413 (an input too large) | tenant_permanent |
//! | 429 carrying a spend-limit code (no `retry-after`) | tenant_permanent |
//! | other 400/422, 404, 409, other 4xx | provider_permanent |
//! | 408, 429, 5xx (500, 502, 503, 504, 529), timeouts, connection failures and resets | transient_provider |
//! | a success body we cannot decode, an invalid configuration | antpath_bug |
//!
//! Every message is passed through [`antpath_redact::scrub`] before it is stored, so neither
//! `Display` nor `Debug` can echo a key that the provider or a library put in a message.

use std::time::Duration;

use antpath_redact::scrub;
use antpath_types::ErrorClass;
use serde::Deserialize;

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The request or a body read exceeded its time limit.
    Timeout,
    /// No connection could be opened.
    Connect,
    /// The connection broke while sending or receiving.
    Reset,
}

/// A failed provider call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// The provider answered with an error status.
    #[error(
        "provider returned {status} {}: {message} (request {}, class {class})",
        error_type.as_deref().unwrap_or("unknown_error"),
        request_id.as_deref().unwrap_or("none")
    )]
    Api {
        /// HTTP status.
        status: u16,
        /// `error.type` of the envelope (`invalid_request_error`, `rate_limit_error`, …).
        error_type: Option<String>,
        /// `error.details.error_code`, the stable cause when present.
        error_code: Option<String>,
        /// The provider's message, scrubbed of anything credential-shaped.
        message: String,
        /// The `request-id` header, or the envelope's `request_id`.
        request_id: Option<String>,
        /// The parsed `retry-after`.
        retry_after: Option<Duration>,
        /// How antpath treats the failure.
        class: ErrorClass,
    },
    /// The request never got an HTTP answer.
    #[error("provider transport failure ({kind:?}): {message}")]
    Transport {
        /// Which kind of failure.
        kind: TransportKind,
        /// A scrubbed description.
        message: String,
    },
    /// A success response whose body does not match the expected shape.
    #[error("could not decode provider response (request {}): {message}", request_id.as_deref().unwrap_or("none"))]
    Decode {
        /// The `request-id` header.
        request_id: Option<String>,
        /// A scrubbed description.
        message: String,
    },
    /// The client could not build the request (a bad base URL or header value).
    #[error("invalid provider client configuration: {0}")]
    Config(String),
}

impl ProviderError {
    /// The class that decides whether to retry, fail or blame the tenant.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Api { class, .. } => *class,
            Self::Transport { .. } => ErrorClass::TransientProvider,
            Self::Decode { .. } | Self::Config(_) => ErrorClass::AntpathBug,
        }
    }

    /// The HTTP status, when there was a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The provider's `error.type`.
    pub fn provider_error_type(&self) -> Option<&str> {
        match self {
            Self::Api { error_type, .. } => error_type.as_deref(),
            _ => None,
        }
    }

    /// The provider's `error.details.error_code`.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Api { error_code, .. } => error_code.as_deref(),
            _ => None,
        }
    }

    /// The scrubbed message.
    pub fn message(&self) -> &str {
        match self {
            Self::Api { message, .. }
            | Self::Transport { message, .. }
            | Self::Decode { message, .. }
            | Self::Config(message) => message,
        }
    }

    /// The provider's request id, for support tickets and log correlation.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api { request_id, .. } | Self::Decode { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// How long the provider asked us to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// True for a 404: the resource is gone, which cleanup treats as done.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True for a 409 or for a 400 that says the session is still running: cleanup should
    /// interrupt, wait for idle and try again.
    pub fn is_conflict(&self) -> bool {
        match self.status() {
            Some(409) => true,
            Some(400) => self.message().to_ascii_lowercase().contains("running"),
            _ => false,
        }
    }

    /// Builds an API error from a status, the `request-id` and `retry-after` headers and the raw
    /// body (the error envelope, or anything else).
    pub fn from_response(
        status: u16,
        request_id: Option<String>,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Self {
        let envelope = serde_json::from_slice::<Envelope>(body).ok();
        let (error_type, error_code, message, body_request_id) = match envelope {
            Some(envelope) => (
                envelope.error.error_type,
                envelope.error.details.and_then(|d| d.error_code),
                envelope.error.message.unwrap_or_default(),
                envelope.request_id,
            ),
            None => {
                let text = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
                (None, None, text, None)
            }
        };
        let message = scrub(&message);
        let class = classify(
            status,
            error_type.as_deref(),
            error_code.as_deref(),
            &message,
        );
        Self::Api {
            status,
            error_type,
            error_code,
            message,
            request_id: request_id.or(body_request_id),
            retry_after,
            class,
        }
    }

    /// Builds a transport error from a reqwest failure, keeping only a scrubbed description.
    pub(crate) fn from_reqwest(err: &reqwest::Error) -> Self {
        let kind = if err.is_timeout() {
            TransportKind::Timeout
        } else if err.is_connect() {
            TransportKind::Connect
        } else if err.is_builder() {
            return Self::Config(scrub(&error_chain(err)));
        } else {
            TransportKind::Reset
        };
        Self::Transport {
            kind,
            message: scrub(&error_chain(err)),
        }
    }
}

/// The error envelope `{"type":"error","error":{type,message,details?},"request_id"}`.
#[derive(Deserialize)]
struct Envelope {
    error: EnvelopeError,
    #[serde(default)]
    request_id: Option<String>,
}

#[derive(Deserialize)]
struct EnvelopeError {
    #[serde(rename = "type", default)]
    error_type: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    details: Option<EnvelopeDetails>,
}

#[derive(Deserialize)]
struct EnvelopeDetails {
    #[serde(default)]
    error_code: Option<String>,
}

/// `error_code`s of a 400 that name something the tenant owns or chose.
const TENANT_400_CODES: &[&str] = &[
    "storage_quota_exceeded",
    "organization_on_hold",
    "model_not_budgetable",
    "agent_model_required",
    "model_does_not_support_mid_conversation_system",
];

/// Words in a 400 message that point at an input the user chose in their template.
const TENANT_400_WORDS: &[&str] = &[
    "model",
    "mcp",
    "url",
    "skill",
    "tool",
    "budget",
    "repository",
    "system prompt",
];

/// `error_code`s of a 429 that mean a spend cap, which waiting will not lift.
const SPEND_LIMIT_CODES: &[&str] = &[
    "enforced_spend_limit_reached",
    "contract_spend_limit_reached",
    "ramp_limit_exceeded",
];

/// Sorts an HTTP failure into a class; see the module documentation for the rule.
pub fn classify(
    status: u16,
    error_type: Option<&str>,
    error_code: Option<&str>,
    message: &str,
) -> ErrorClass {
    match status {
        401..=403 => ErrorClass::TenantPermanent,
        408 | 500..=599 => ErrorClass::TransientProvider,
        413 => ErrorClass::TenantPermanent,
        429 if error_code.is_some_and(|c| SPEND_LIMIT_CODES.contains(&c)) => {
            ErrorClass::TenantPermanent
        }
        429 => ErrorClass::TransientProvider,
        400 | 422 => {
            let lower = message.to_ascii_lowercase();
            let tenant = error_code.is_some_and(|c| TENANT_400_CODES.contains(&c))
                || TENANT_400_WORDS.iter().any(|w| lower.contains(w))
                || error_type == Some("billing_error");
            if tenant {
                ErrorClass::TenantPermanent
            } else {
                ErrorClass::ProviderPermanent
            }
        }
        _ => ErrorClass::ProviderPermanent,
    }
}

/// The error and its sources on one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_by_the_documented_rule() {
        use ErrorClass::*;
        let cases = [
            (401, None, None, "invalid x-api-key", TenantPermanent),
            (403, None, None, "forbidden", TenantPermanent),
            (402, None, None, "billing", TenantPermanent),
            (
                400,
                None,
                None,
                "model: unknown model 'claude-x'",
                TenantPermanent,
            ),
            (
                400,
                None,
                None,
                "mcp_servers[0].url must be https",
                TenantPermanent,
            ),
            (
                400,
                None,
                Some("invalid_metadata"),
                "too many keys",
                ProviderPermanent,
            ),
            (
                400,
                None,
                Some("storage_quota_exceeded"),
                "full",
                TenantPermanent,
            ),
            (422, None, None, "name too long", ProviderPermanent),
            (404, None, None, "no such session", ProviderPermanent),
            (409, None, None, "stale version", ProviderPermanent),
            (413, None, None, "too large", TenantPermanent),
            (408, None, None, "timeout", TransientProvider),
            (429, None, None, "slow down", TransientProvider),
            (
                429,
                None,
                Some("enforced_spend_limit_reached"),
                "cap",
                TenantPermanent,
            ),
            (500, None, None, "", TransientProvider),
            (502, None, None, "", TransientProvider),
            (503, None, None, "", TransientProvider),
            (529, Some("overloaded_error"), None, "", TransientProvider),
        ];
        for (status, error_type, code, message, class) in cases {
            assert_eq!(
                classify(status, error_type, code, message),
                class,
                "{status} {message}"
            );
        }
    }

    #[test]
    fn an_envelope_is_parsed_and_its_message_scrubbed() {
        let body = br#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key: sk-ant-api03-SECRETSECRET"},"request_id":"req_body"}"#;
        let err = ProviderError::from_response(401, None, None, body);
        assert_eq!(err.status(), Some(401));
        assert_eq!(err.provider_error_type(), Some("authentication_error"));
        assert_eq!(err.request_id(), Some("req_body"));
        assert_eq!(err.class(), ErrorClass::TenantPermanent);
        assert!(!err.to_string().contains("SECRETSECRET"));
        assert!(!format!("{err:?}").contains("SECRETSECRET"));
    }

    #[test]
    fn a_body_that_is_not_an_envelope_still_yields_a_classified_error() {
        let err = ProviderError::from_response(
            503,
            Some("req_hdr".into()),
            Some(Duration::from_secs(2)),
            b"<html>bad gateway</html>",
        );
        assert_eq!(err.class(), ErrorClass::TransientProvider);
        assert_eq!(err.request_id(), Some("req_hdr"));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        assert!(err.message().contains("bad gateway"));
    }
}
