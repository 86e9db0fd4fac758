//! The Rust SDK of antpath: run Claude Managed Agents sessions through the antpath API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use antpath_sdk::{Client, RunRequest, TemplateBuilder, Var};
//!
//! let client = Client::new("ant_…")?; // the workspace comes from the token
//! let template = TemplateBuilder::new("quickstart", "claude-sonnet-4-5")
//!     .variable("topic", Var::string().max_length(200))
//!     .prompt("Write two short files about {{topic}}.")
//!     .build()?;
//! let request = RunRequest::new(&template)
//!     .variable("topic", "tide pools")
//!     .anthropic_api_key("sk-ant-…")
//!     .idempotency_key("quickstart-1"); // makes the submission safe to retry
//! let run = client.submit(&request).await?;
//! let run = client.wait(run.id).await?;
//! let files = client.download_all(run.id, "out".as_ref()).await?;
//! # let _ = files; Ok(()) }
//! ```
//!
//! - [`Client`]: every route of the API, with time-outs and retries of safe requests
//!   ([`retry`] says which are safe and why).
//! - [`RunRequest`]: the submission body; its secrets never show in `Debug`.
//! - [`TemplateBuilder`] and [`Var`]: templates in code, equal (and equally hashed) to the
//!   same template written as a file.
//! - [`Client::wait`] and [`Client::follow`]: a run to its end, quietly or step by step
//!   (`follow` listens to the server's live stream of the run when it has one).
//! - [`Client::download_to_file`] and [`Client::download_stream`]: verified downloads;
//!   [`local_file_names`] gives every output its own safe file name.

mod client;
mod download;
mod error;
mod file_names;
mod identity;
mod live;
mod model;
mod request;
pub mod retry;
mod runs;
mod sse;
mod template_builder;
mod wait;

pub use antpath_template::model::PermissionPolicy;
pub use antpath_template::{Template, ValidationErrors};
pub use antpath_types::{
    ApiErrorType, ClaudeSessionCleanup, CleanupState, ErrorDetail, OutputId, RunId, RunStatus,
    TokenId,
};
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_TIMEOUT, new_traceparent};
pub use download::DownloadedFile;
pub use error::{ApiFailure, Error, Result};
pub use file_names::{local_file_name, local_file_names};
pub use model::{
    AbandonedResource, ApiToken, CaptureFailure, Cleanup, CleanupError, CreatedToken, Limits,
    Output, Page, Run, RunEvent, RunOutputs, SignedLink, TokenRef, Usage, UserRef, Whoami,
    WorkspaceRef,
};
pub use request::RunRequest;
pub use retry::RetryPolicy;
pub use runs::{ListEvents, ListRuns};
pub use template_builder::{BooleanVar, EnumVar, NumberVar, StringVar, TemplateBuilder, Var};
pub use wait::{DEFAULT_CLEANUP_GRACE, Progress, WaitOptions};
