//! The shared vocabulary of antpath.
//!
//! Everything here is plain data shared by the bff, the worker, the sweeper, the SDK and the
//! CLI: prefixed typed ids ([`ids`]), who may do what ([`access`]), the run state machine ([`status`]) and the lifecycle's other words ([`lifecycle`]), the error classes a
//! failure is sorted into ([`ErrorClass`]), the per-run policy ([`policy`]) and the single error
//! body every HTTP failure uses ([`api_error`]).

pub mod access;
pub mod api_error;
mod error_class;
pub mod filename;
pub mod ids;
pub mod lifecycle;
pub mod policy;
pub mod status;
mod text_enum;

pub use access::{Permission, Role};
pub use api_error::{ApiError, ApiErrorBody, ApiErrorType, ErrorDetail};
pub use error_class::ErrorClass;
pub use ids::*;
pub use lifecycle::{CacheState, CleanupState, Phase, ResourceKind, ResourceState};
pub use policy::{ClaudeSessionCleanup, CleanupPolicy, RunLimits, RunPolicy};
pub use status::RunStatus;
pub use text_enum::UnknownWord;
