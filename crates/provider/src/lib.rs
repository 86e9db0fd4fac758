//! A typed client of the Claude Managed Agents API, the provider every antpath run executes on.
//!
//! The control plane creates an environment, an agent, a vault with credentials and a session,
//! sends a prompt, watches status and events, downloads the session's output files and then
//! removes everything again. This crate makes those calls and nothing more:
//!
//! - [`ProviderClient`] sends each request with the key, version and beta headers, logs the
//!   `request-id` of every response and never prints the key ([`config`], [`transport`]).
//! - Idempotent calls (GET, DELETE, archive) are retried with capped exponential backoff and full
//!   jitter, honouring `retry-after`; creates and event sends are never retried ([`retry`]).
//! - Every failure is a [`ProviderError`] sorted into an [`antpath_types::ErrorClass`]
//!   ([`error`]).
//! - The `retry-after` and `anthropic-ratelimit-*` headers of the last response are kept for the
//!   worker's shared throttle ([`rate_limit`]).
//! - Lists page with opaque cursors ([`pagination`]); [`reconcile`] finds leaked resources by
//!   metadata.
//! - Wire types ([`types`]) keep the SDK's field names, accept unknown fields and keep unknown
//!   union variants as raw JSON.
//! - [`mapping`] turns provider session states and stop reasons into antpath's run vocabulary.

pub mod api;
pub mod config;
pub mod error;
pub mod mapping;
pub mod pagination;
pub mod rate_limit;
pub mod reconcile;
pub mod retry;
pub mod transport;
pub mod types;

pub use config::{
    ClientConfig, DEFAULT_API_VERSION, DEFAULT_BASE_URL, MANAGED_AGENTS_BETA, TransportConfig,
};
pub use error::{ProviderError, TransportKind};
pub use pagination::{ListParams, Page};
pub use rate_limit::RateLimitInfo;
pub use retry::RetryPolicy;
pub use transport::{CallObserver, CallerIds, ProviderClient, Transport};
