//! The calls, one module per resource, each an `impl` block on
//! [`ProviderClient`](crate::ProviderClient).
//!
//! Every call is traced with `#[instrument(skip_all)]` and the ids it concerns; the transport
//! span below it records the method, route, status, attempts and `request-id`.

mod agents;
mod environments;
mod events;
mod files;
mod sessions;
mod skills;
mod vaults;

pub use files::FileDownload;

use crate::error::ProviderError;
use crate::types::Deleted;

/// A DELETE answer: the JSON confirmation, or a synthesised one when the provider answered 204.
pub(crate) fn deleted(answer: Option<Deleted>, id: &str) -> Result<Deleted, ProviderError> {
    Ok(answer.unwrap_or_else(|| Deleted {
        id: id.to_owned(),
        kind: None,
    }))
}
