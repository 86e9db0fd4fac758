//! The local-directory store, antpath's embedded default.
//!
//! An object lives at `<root>/<key>`. Each file starts with a short header (a magic line, then
//! the content type line) followed by the body, so the media type survives without a sidecar
//! file and a write stays one atomic rename: the body streams into a temp file in the object's
//! own directory, the file is fsynced, renamed over the key, and the directory is fsynced.
//! Readers therefore see the old object or the new one, never half of one; a temp file that an
//! aborted upload leaves behind is never reachable through a key (see [`crate::ObjectKey`]).
//!
//! # Serving signed links from the bff
//!
//! [`LocalStore::signed_get_url`] returns
//! `{public_base_url}/v1/storage/{key}?expires={unix seconds}&filename={name}&sig={hex}`, where
//! `sig` is HMAC-SHA256 under the configured signing key over the key, the expiry and the
//! (sanitised) download filename. The bff serves it like this:
//!
//! 1. Route `GET /v1/storage/{*key}` with **no** session check (the signature is the
//!    capability); deserialise the query into [`SignedLinkQuery`]; keep the query string out of
//!    access logs and traces.
//! 2. Call [`LocalStore::open_signed`] with the percent-decoded key path, the query and
//!    `SystemTime::now()`. It parses the key, checks the signature in constant time, checks
//!    the expiry and opens the object.
//! 3. Map errors: [`StorageError::InvalidKey`], [`StorageError::LinkInvalid`] and
//!    [`StorageError::LinkExpired`] to 403, [`StorageError::NotFound`] to 404, anything else to
//!    a logged 500.
//! 4. Answer 200 with `Content-Type` from [`ObjectInfo::content_type`] (falling back to
//!    `application/octet-stream`), `Content-Length` from [`ObjectInfo::size_bytes`],
//!    `Content-Disposition` from [`SignedDownload::content_disposition`],
//!    `X-Content-Type-Options: nosniff`, `Content-Security-Policy: sandbox` (outputs are
//!    untrusted and share the bff's origin) and `Cache-Control: private, no-store`; stream the
//!    body with `tokio_util::io::ReaderStream`.
//!
//! [`StorageError::InvalidKey`]: crate::StorageError::InvalidKey
//! [`StorageError::LinkInvalid`]: crate::StorageError::LinkInvalid
//! [`StorageError::LinkExpired`]: crate::StorageError::LinkExpired
//! [`StorageError::NotFound`]: crate::StorageError::NotFound
//! [`ObjectInfo::content_type`]: crate::ObjectInfo::content_type
//! [`ObjectInfo::size_bytes`]: crate::ObjectInfo::size_bytes

mod files;
mod signing;

pub use signing::{LINK_PATH, SignedDownload, SignedLinkQuery};

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use antpath_redact::Secret;
use serde::Deserialize;

use crate::{KeyPrefix, ObjectKey, StorageError};

/// Shortest accepted link-signing key, in bytes: 256 bits, the HMAC-SHA256 block strength.
const MIN_SIGNING_KEY_BYTES: usize = 32;

/// Settings of the local-directory store.
#[derive(Debug, Clone, Deserialize)]
pub struct LocalStoreConfig {
    /// Directory that holds the objects; created if missing.
    pub root: PathBuf,
    /// Public base URL of the bff, e.g. `https://antpath.example.com`; links point under it.
    pub public_base_url: String,
    /// Key that signs download links (at least 32 bytes); rotating it revokes every link.
    pub signing_key: Secret<String>,
}

/// Objects in a directory on local disk.
///
/// Cheap to clone: the settings are shared.
#[derive(Clone)]
pub struct LocalStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    public_base_url: String,
    signing_key: Secret<String>,
}

impl fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStore")
            .field("root", &self.inner.root)
            .field("public_base_url", &self.inner.public_base_url)
            .finish_non_exhaustive()
    }
}

impl LocalStore {
    /// Validates the settings (reporting every problem at once) and creates the root directory.
    pub fn new(config: LocalStoreConfig) -> Result<Self, StorageError> {
        let mut problems = Vec::new();
        let base = config.public_base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            problems.push("public_base_url must start with http:// or https://".to_owned());
        }
        if config.signing_key.expose_secret().len() < MIN_SIGNING_KEY_BYTES {
            problems.push(format!(
                "signing_key must be at least {MIN_SIGNING_KEY_BYTES} bytes"
            ));
        }
        if config.root.as_os_str().is_empty() {
            problems.push("root must be set".to_owned());
        }
        if !problems.is_empty() {
            return Err(StorageError::Config(problems.join("; ")));
        }
        std::fs::create_dir_all(&config.root).map_err(StorageError::Io)?;
        Ok(Self {
            inner: Arc::new(Inner {
                root: config.root,
                public_base_url: base,
                signing_key: config.signing_key,
            }),
        })
    }

    /// The directory holding the objects.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Where the object at `key` lives; safe because keys are validated to stay below the root.
    fn path_of(&self, key: &ObjectKey) -> PathBuf {
        self.inner.root.join(key.as_str())
    }

    /// The directory holding every object under `prefix`.
    fn dir_of(&self, prefix: &KeyPrefix) -> PathBuf {
        self.inner.root.join(prefix.as_dir())
    }
}
