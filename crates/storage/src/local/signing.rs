//! Signed download links of the local store, served by the bff.
//!
//! The signature covers the key, the expiry and the download filename, each on its own line
//! after a version tag. None of the three can contain a line break (keys reject control
//! characters, filenames are sanitised, the expiry is digits), so the signed message is
//! unambiguous and no field can be shifted into another.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::LocalStore;
use crate::key::percent_encode;
use crate::store::check_ttl;
use crate::{GetObject, ObjectKey, StorageError, content_disposition};

/// Path of the bff route that serves local links, below the public base URL; the key follows.
pub const LINK_PATH: &str = "/v1/storage/";

/// Tag opening every signed message, so a signature made here is useless anywhere else.
const SIGNATURE_CONTEXT: &str = "antpath-storage-link-v1";

/// The query string of a local signed link, as the bff deserialises it.
#[derive(Debug, Clone, Deserialize)]
pub struct SignedLinkQuery {
    /// Unix time in seconds after which the link is refused.
    pub expires: u64,
    /// Name the browser should save the download as.
    pub filename: String,
    /// Hex HMAC-SHA256 of the key, `expires` and `filename`.
    pub sig: String,
}

/// An object opened through a verified signed link.
#[derive(Debug)]
pub struct SignedDownload {
    /// The object's info and body.
    pub object: GetObject,
    /// Value for the response's `Content-Disposition` header.
    pub content_disposition: String,
}

impl LocalStore {
    /// See [`crate::ObjectStore::signed_get_url_at`]. Signing needs no disk access, so this is
    /// synchronous; the object is not checked to exist.
    pub fn signed_get_url_at(
        &self,
        key: &ObjectKey,
        ttl: Duration,
        filename: &str,
        now: SystemTime,
    ) -> Result<String, StorageError> {
        check_ttl(ttl)?;
        let expires = unix_seconds(now) + ttl.as_secs();
        let filename = crate::sanitize_filename(filename);
        let sig = hex::encode(self.mac(key, expires, &filename).finalize().into_bytes());
        Ok(format!(
            "{base}{LINK_PATH}{path}?expires={expires}&filename={name}&sig={sig}",
            base = self.inner.public_base_url,
            path = percent_encode(key.as_str(), true),
            name = percent_encode(&filename, false),
        ))
    }

    /// [`Self::signed_get_url_at`] signed now.
    pub fn signed_get_url(
        &self,
        key: &ObjectKey,
        ttl: Duration,
        filename: &str,
    ) -> Result<String, StorageError> {
        self.signed_get_url_at(key, ttl, filename, SystemTime::now())
    }

    /// Checks a link's signature (in constant time), then its expiry against `now`.
    ///
    /// A forged or altered link is [`StorageError::LinkInvalid`] whatever its expiry; a genuine
    /// but stale one is [`StorageError::LinkExpired`].
    pub fn verify_signed(
        &self,
        key: &ObjectKey,
        expires: u64,
        filename: &str,
        sig: &str,
        now: SystemTime,
    ) -> Result<(), StorageError> {
        let sig = hex::decode(sig).map_err(|_| StorageError::LinkInvalid)?;
        self.mac(key, expires, filename)
            .verify_slice(&sig)
            .map_err(|_| StorageError::LinkInvalid)?;
        if unix_seconds(now) > expires {
            return Err(StorageError::LinkExpired);
        }
        Ok(())
    }

    /// Everything the bff's link route needs: parses the (percent-decoded) key from the path,
    /// verifies the link and opens the object.
    pub async fn open_signed(
        &self,
        raw_key: &str,
        query: &SignedLinkQuery,
        now: SystemTime,
    ) -> Result<SignedDownload, StorageError> {
        let key = ObjectKey::parse(raw_key)?;
        self.verify_signed(&key, query.expires, &query.filename, &query.sig, now)?;
        let object = self.get_stream(&key).await?;
        Ok(SignedDownload {
            object,
            content_disposition: content_disposition(&query.filename),
        })
    }

    fn mac(&self, key: &ObjectKey, expires: u64, filename: &str) -> Hmac<Sha256> {
        let secret = self.inner.signing_key.expose_secret().as_bytes();
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
        mac.update(format!("{SIGNATURE_CONTEXT}\n{key}\n{expires}\n{filename}").as_bytes());
        mac
    }
}

/// Whole seconds since the Unix epoch; times before it count as zero.
fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}
