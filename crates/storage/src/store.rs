//! [`ObjectStore`], the one interface the worker, sweeper and bff use, and
//! [`StorageConfig`], which picks its backend.
//!
//! The config crate can embed [`StorageConfig`] directly: it is internally tagged by `backend`,
//! so `ANTPATH_STORAGE__BACKEND=s3` plus the S3 fields selects S3, and `backend = "local"` the
//! embedded directory store.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tokio::io::AsyncRead;

use crate::{
    GetObject, KeyPrefix, LocalStore, LocalStoreConfig, MAX_SIGNED_URL_TTL, ObjectInfo, ObjectKey,
    PutResult, S3Store, S3StoreConfig, StorageError,
};

/// Object storage over one of the two backends.
///
/// An enum rather than a trait object: there are exactly two backends, the methods are async
/// and generic over the body, and a `match` keeps both call paths visible.
#[derive(Debug, Clone)]
pub enum ObjectStore {
    /// The local-directory store.
    Local(LocalStore),
    /// The S3 store.
    S3(S3Store),
}

impl ObjectStore {
    /// Streams `body` into the object at `key`, replacing any object already there.
    ///
    /// Holds at most one chunk (local) or one multipart part (S3) in memory. If the body passes
    /// `max_bytes`, fails with [`StorageError::TooLarge`] and stores nothing under `key` (an
    /// object already there is left untouched).
    pub async fn put_stream<R>(
        &self,
        key: &ObjectKey,
        body: R,
        content_type: &str,
        max_bytes: u64,
    ) -> Result<PutResult, StorageError>
    where
        R: AsyncRead + Unpin + Send,
    {
        match self {
            Self::Local(store) => store.put_stream(key, body, content_type, max_bytes).await,
            Self::S3(store) => store.put_stream(key, body, content_type, max_bytes).await,
        }
    }

    /// Opens the object at `key` for streaming; [`StorageError::NotFound`] if there is none.
    pub async fn get_stream(&self, key: &ObjectKey) -> Result<GetObject, StorageError> {
        match self {
            Self::Local(store) => store.get_stream(key).await,
            Self::S3(store) => store.get_stream(key).await,
        }
    }

    /// Size and media type of the object at `key`, or `None` if there is none.
    pub async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, StorageError> {
        match self {
            Self::Local(store) => store.head(key).await,
            Self::S3(store) => store.head(key).await,
        }
    }

    /// Deletes the object at `key`; deleting a missing object succeeds.
    pub async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match self {
            Self::Local(store) => store.delete(key).await,
            Self::S3(store) => store.delete(key).await,
        }
    }

    /// Deletes every object under `prefix` (see [`crate::run_prefix`] and
    /// [`crate::workspace_prefix`]); an empty prefix succeeds.
    pub async fn delete_prefix(&self, prefix: &KeyPrefix) -> Result<(), StorageError> {
        match self {
            Self::Local(store) => store.delete_prefix(prefix).await,
            Self::S3(store) => store.delete_prefix(prefix).await,
        }
    }

    /// A download link for `key` valid for `ttl`, which saves the file as `filename`.
    ///
    /// The link is a bearer capability: never log or store it.
    pub async fn signed_get_url(
        &self,
        key: &ObjectKey,
        ttl: Duration,
        filename: &str,
    ) -> Result<String, StorageError> {
        self.signed_get_url_at(key, ttl, filename, SystemTime::now())
            .await
    }

    /// [`Self::signed_get_url`] as if signed at `now`; lets tests make already-expired links.
    pub async fn signed_get_url_at(
        &self,
        key: &ObjectKey,
        ttl: Duration,
        filename: &str,
        now: SystemTime,
    ) -> Result<String, StorageError> {
        match self {
            Self::Local(store) => store.signed_get_url_at(key, ttl, filename, now),
            Self::S3(store) => store.signed_get_url_at(key, ttl, filename, now).await,
        }
    }
}

/// Which backend stores outputs, and its settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase")]
pub enum StorageConfig {
    /// A directory on local disk, served through signed bff links.
    Local(LocalStoreConfig),
    /// An S3-compatible service.
    S3(S3StoreConfig),
}

impl StorageConfig {
    /// Validates the settings and builds the store (creating the local root if needed).
    pub fn build(self) -> Result<ObjectStore, StorageError> {
        Ok(match self {
            Self::Local(config) => ObjectStore::Local(LocalStore::new(config)?),
            Self::S3(config) => ObjectStore::S3(S3Store::new(config)?),
        })
    }
}

/// Refuses link lifetimes that are zero or longer than [`MAX_SIGNED_URL_TTL`], for both backends.
pub(crate) fn check_ttl(ttl: Duration) -> Result<(), StorageError> {
    if ttl.is_zero() {
        return Err(StorageError::InvalidTtl("zero"));
    }
    if ttl > MAX_SIGNED_URL_TTL {
        return Err(StorageError::InvalidTtl("longer than seven days"));
    }
    Ok(())
}
