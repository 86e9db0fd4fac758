//! Private object storage for the files a run produces.
//!
//! Every output of a session is captured into a bucket-like store under a workspace-scoped key
//! (see [`output_key`]). Two backends sit behind one enum, [`ObjectStore`]:
//!
//! - [`LocalStore`], the embedded default: a directory on disk, written atomically, with
//!   download links that point at the bff and carry an HMAC signature (see [`local`] for how the
//!   bff serves them);
//! - [`S3Store`], any S3-compatible service through `aws-sdk-s3`, with multipart uploads for
//!   large files and presigned download links.
//!
//! Uploads are streamed: a body is read in bounded chunks, hashed with SHA-256 on the way and cut
//! off with [`StorageError::TooLarge`] as soon as it passes the caller's byte cap, in which case
//! nothing is left in the store under the key.

mod digest;
mod key;
pub mod local;
pub mod s3;
mod store;

pub use key::{
    KeyPrefix, MAX_FILENAME_BYTES, ObjectKey, content_disposition, output_key, run_prefix,
    sanitize_filename, workspace_prefix,
};
pub use local::{LocalStore, LocalStoreConfig, SignedDownload, SignedLinkQuery};
pub use s3::{S3Store, S3StoreConfig};
pub use store::{ObjectStore, StorageConfig};

use std::error::Error as StdError;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use tokio::io::AsyncRead;

/// Longest lifetime of a signed download link: seven days, the limit of S3 presigned URLs,
/// applied to the local store too so both backends accept the same requests.
pub const MAX_SIGNED_URL_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// What a successful upload stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    /// Number of bytes of the object's body.
    pub size_bytes: u64,
    /// SHA-256 of the object's body, computed while it streamed in.
    pub sha256: [u8; 32],
}

impl PutResult {
    /// The SHA-256 as 64 lowercase hex digits.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

/// What the store knows about an object without reading its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size of the body in bytes.
    pub size_bytes: u64,
    /// The media type given when the object was stored, if the backend kept it.
    pub content_type: Option<String>,
}

/// An object's body, read as it is streamed from the backend.
pub type ObjectBody = Pin<Box<dyn AsyncRead + Send>>;

/// An object opened for reading.
pub struct GetObject {
    /// Size and media type.
    pub info: ObjectInfo,
    /// The body; read it to the end or drop it.
    pub body: ObjectBody,
}

impl std::fmt::Debug for GetObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetObject")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// Why a storage operation failed.
///
/// Messages name what went wrong but never the object key, a signed link or a credential: keys
/// carry user-chosen filenames, and links are bearer capabilities.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The key or prefix is not a well-formed, traversal-free object key.
    #[error("invalid object key: {0}")]
    InvalidKey(&'static str),

    /// The content type is not a single line of printable ASCII.
    #[error("invalid content type")]
    InvalidContentType,

    /// The upload passed its byte cap; nothing was stored.
    #[error("object exceeds the limit of {max_bytes} bytes")]
    TooLarge {
        /// The cap that was passed.
        max_bytes: u64,
    },

    /// There is no object under the key.
    #[error("object not found")]
    NotFound,

    /// Reading the upload's body failed (the source, not the store, is at fault).
    #[error("reading the upload body failed")]
    Body(#[source] io::Error),

    /// The local directory store could not read or write the disk.
    #[error("local storage i/o failed")]
    Io(#[source] io::Error),

    /// An S3 request failed.
    #[error("S3 {operation} failed")]
    S3 {
        /// The S3 operation, e.g. `PutObject`.
        operation: &'static str,
        /// The SDK's error, with its cause chain.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },

    /// A signed link's signature does not match its key, expiry and filename.
    #[error("signed link is invalid")]
    LinkInvalid,

    /// A signed link was genuine but its expiry time has passed.
    #[error("signed link has expired")]
    LinkExpired,

    /// A signed link was asked for with a lifetime the backend cannot honour.
    #[error("invalid signed link lifetime: {0}")]
    InvalidTtl(&'static str),

    /// The store's configuration is unusable; every problem is listed.
    #[error("invalid storage configuration: {0}")]
    Config(String),
}

impl StorageError {
    /// Wraps an S3 SDK error, keeping its cause chain.
    pub(crate) fn s3(
        operation: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self::S3 {
            operation,
            source: source.into(),
        }
    }

    /// True for a missing object, so callers can treat absence as a normal outcome.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound)
    }
}
