//! How a [`ProviderClient`](crate::ProviderClient) is configured: where it talks to, with which
//! key and headers, how long it waits and how it retries.

use std::fmt;
use std::time::Duration;

use antpath_redact::Secret;

use crate::retry::RetryPolicy;

/// The production API origin. Paths are appended with their `/v1` prefix.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The `anthropic-version` the official SDK 2.10.0 sends.
pub const DEFAULT_API_VERSION: &str = "2026-10-21";

/// The beta every Managed Agents route (agents, environments, sessions, events, vaults) needs.
pub const MANAGED_AGENTS_BETA: &str = "managed-agents-2026-04-01";

/// Default time allowed to open a connection; a slow handshake is a transient failure.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time allowed for one JSON request, response body included.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Default time allowed between two chunks of a file download before it is abandoned.
const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// What every client of one [`Transport`](crate::Transport) shares: where it talks to, the
/// headers common to every tenant, how long it waits and how it retries. No key lives here.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Origin of the API without the `/v1` suffix, e.g. `https://api.anthropic.com`.
    pub base_url: String,
    /// Sent as `anthropic-version`.
    pub api_version: String,
    /// Sent as `anthropic-beta` on Managed Agents routes (not on files and skills, matching the
    /// SDK).
    pub beta: String,
    /// Connection establishment limit.
    pub connect_timeout: Duration,
    /// Whole-request limit for JSON calls.
    pub request_timeout: Duration,
    /// Idle limit between chunks of a streamed download.
    pub read_timeout: Duration,
    /// How idempotent calls are retried.
    pub retry: RetryPolicy,
    /// Sent as `user-agent`.
    pub user_agent: String,
}

impl Default for TransportConfig {
    /// The production API with default settings.
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_version: DEFAULT_API_VERSION.to_owned(),
            beta: MANAGED_AGENTS_BETA.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            retry: RetryPolicy::default(),
            user_agent: concat!("antpath-provider/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl TransportConfig {
    /// Points the clients at another origin (the simulator, a proxy).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the whole-request timeout of JSON calls.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
}

/// Everything needed to build a standalone client: the shared settings and one tenant's key.
/// The API key is a [`Secret`], so printing the config is safe.
#[derive(Clone)]
pub struct ClientConfig {
    /// Where and how the client talks.
    pub transport: TransportConfig,
    /// The tenant's API key, sent as `x-api-key` on each request.
    pub api_key: Secret<String>,
    /// Optional `anthropic-workspace-id`, only for keys that span workspaces.
    pub workspace_id: Option<String>,
}

impl ClientConfig {
    /// A configuration for the production API with the given key and default settings.
    pub fn new(api_key: Secret<String>) -> Self {
        Self {
            transport: TransportConfig::default(),
            api_key,
            workspace_id: None,
        }
    }

    /// Points the client at another origin (the simulator, a proxy).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.transport = self.transport.with_base_url(base_url);
        self
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.transport = self.transport.with_retry(retry);
        self
    }

    /// Replaces the whole-request timeout of JSON calls.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.transport = self.transport.with_request_timeout(timeout);
        self
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("transport", &self.transport)
            .field("api_key", &self.api_key)
            .field("workspace_id", &self.workspace_id)
            .finish()
    }
}
