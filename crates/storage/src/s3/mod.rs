//! The S3 store: any S3-compatible service through `aws-sdk-s3`.
//!
//! Uploads of up to one part go out as a single `PutObject`; larger ones as a multipart upload
//! that is aborted if the body fails or passes its cap (see `upload.rs`). Download links are
//! presigned `GetObject` URLs carrying a `response-content-disposition` for the filename.
//!
//! Request checksums are only sent where S3 requires them: newer SDKs otherwise add CRC
//! trailers that several S3-compatible servers reject, and every body is already hashed with
//! SHA-256 by this crate.

mod upload;

pub use upload::PART_BYTES;

use std::fmt;
use std::time::{Duration, SystemTime};

use antpath_redact::Secret;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use serde::Deserialize;

use crate::store::check_ttl;
use crate::{GetObject, KeyPrefix, ObjectInfo, ObjectKey, StorageError, content_disposition};

/// Most keys one `DeleteObjects` request may name.
const DELETE_BATCH: usize = 1000;

/// Settings of the S3 store.
#[derive(Debug, Clone, Deserialize)]
pub struct S3StoreConfig {
    /// Endpoint of an S3-compatible service, e.g. `http://127.0.0.1:9000`; unset means AWS.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Region to sign requests for (`us-east-1` for most S3-compatible services).
    pub region: String,
    /// Bucket holding the outputs; it should block public access and abort incomplete
    /// multipart uploads after a day as a lifecycle rule.
    pub bucket: String,
    /// Address the bucket in the path (`endpoint/bucket/key`) instead of the host name, as
    /// most self-hosted services need.
    #[serde(default)]
    pub force_path_style: bool,
    /// Access key id of the static credentials.
    pub access_key_id: Secret<String>,
    /// Secret access key of the static credentials.
    pub secret_access_key: Secret<String>,
}

/// Objects in an S3 bucket.
///
/// Cheap to clone: the SDK client is reference-counted.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// Validates the settings (reporting every problem at once) and builds the client; makes no
    /// request.
    pub fn new(config: S3StoreConfig) -> Result<Self, StorageError> {
        let mut problems = Vec::new();
        for (name, empty) in [
            ("region", config.region.is_empty()),
            ("bucket", config.bucket.is_empty()),
            ("access_key_id", config.access_key_id.is_empty()),
            ("secret_access_key", config.secret_access_key.is_empty()),
        ] {
            if empty {
                problems.push(format!("{name} must be set"));
            }
        }
        if let Some(endpoint) = &config.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            problems.push("endpoint must start with http:// or https://".to_owned());
        }
        if !problems.is_empty() {
            return Err(StorageError::Config(problems.join("; ")));
        }

        let credentials = Credentials::new(
            config.access_key_id.expose_secret(),
            config.secret_access_key.expose_secret(),
            None,
            None,
            "antpath-config",
        );
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region))
            .credentials_provider(credentials)
            .force_path_style(config.force_path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Ok(Self {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket,
        })
    }

    /// Creates the bucket if it does not exist yet (for development set-ups and tests; in
    /// production the bucket is provisioned with its lifecycle rules).
    pub async fn ensure_bucket(&self) -> Result<(), StorageError> {
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => {
                let service = err.as_service_error();
                if service.is_some_and(|e| {
                    e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
                }) {
                    Ok(())
                } else {
                    Err(StorageError::s3("CreateBucket", err))
                }
            }
        }
    }

    /// See [`crate::ObjectStore::get_stream`].
    #[tracing::instrument(skip_all, fields(storage.backend = "s3"))]
    pub async fn get_stream(&self, key: &ObjectKey) -> Result<GetObject, StorageError> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|err| not_found_or(err, "GetObject"))?;
        let info = ObjectInfo {
            size_bytes: output.content_length().map_or(0, |len| len.max(0) as u64),
            content_type: output.content_type().map(str::to_owned),
        };
        Ok(GetObject {
            info,
            body: Box::pin(output.body.into_async_read()),
        })
    }

    /// See [`crate::ObjectStore::head`].
    #[tracing::instrument(skip_all, fields(storage.backend = "s3"))]
    pub async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, StorageError> {
        let request = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str());
        match request
            .send()
            .await
            .map_err(|err| not_found_or(err, "HeadObject"))
        {
            Ok(output) => Ok(Some(ObjectInfo {
                size_bytes: output.content_length().map_or(0, |len| len.max(0) as u64),
                content_type: output.content_type().map(str::to_owned),
            })),
            Err(StorageError::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// See [`crate::ObjectStore::delete`].
    #[tracing::instrument(skip_all, fields(storage.backend = "s3"))]
    pub async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        let request = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str());
        match request
            .send()
            .await
            .map_err(|err| not_found_or(err, "DeleteObject"))
        {
            Ok(_) | Err(StorageError::NotFound) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// See [`crate::ObjectStore::delete_prefix`]: lists the prefix page by page and deletes
    /// each page with one `DeleteObjects` request.
    #[tracing::instrument(skip_all, fields(storage.backend = "s3"))]
    pub async fn delete_prefix(&self, prefix: &KeyPrefix) -> Result<(), StorageError> {
        loop {
            // Always list from the start: the previous page is gone, so no continuation token
            // is needed and objects added meanwhile are caught too.
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix.as_str())
                .max_keys(DELETE_BATCH as i32)
                .send()
                .await
                .map_err(|err| StorageError::s3("ListObjectsV2", err))?;
            let identifiers = page
                .contents()
                .iter()
                .filter_map(|object| object.key())
                .map(|key| ObjectIdentifier::builder().key(key).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| StorageError::s3("DeleteObjects", err))?;
            if identifiers.is_empty() {
                return Ok(());
            }
            let delete = Delete::builder()
                .set_objects(Some(identifiers))
                .quiet(true)
                .build()
                .map_err(|err| StorageError::s3("DeleteObjects", err))?;
            let output = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|err| StorageError::s3("DeleteObjects", err))?;
            if let Some(first) = output.errors().first() {
                let code = first.code().unwrap_or("unknown").to_owned();
                return Err(StorageError::s3(
                    "DeleteObjects",
                    format!(
                        "{} keys not deleted, first with code {code}",
                        output.errors().len()
                    ),
                ));
            }
        }
    }

    /// See [`crate::ObjectStore::signed_get_url_at`].
    pub async fn signed_get_url_at(
        &self,
        key: &ObjectKey,
        ttl: Duration,
        filename: &str,
        now: SystemTime,
    ) -> Result<String, StorageError> {
        check_ttl(ttl)?;
        let presigning = PresigningConfig::builder()
            .start_time(now)
            .expires_in(ttl)
            .build()
            .map_err(|_| StorageError::InvalidTtl("rejected by the S3 presigner"))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .response_content_disposition(content_disposition(filename))
            .presigned(presigning)
            .await
            .map_err(|err| StorageError::s3("presign GetObject", err))?;
        Ok(request.uri().to_owned())
    }
}

/// Turns a 404 into [`StorageError::NotFound`] and anything else into an S3 error; by status
/// because `HeadObject` answers without a body, hence without an error code.
fn not_found_or<E>(err: SdkError<E, HttpResponse>, operation: &'static str) -> StorageError
where
    E: std::error::Error + Send + Sync + 'static,
{
    if err
        .raw_response()
        .is_some_and(|response| response.status().as_u16() == 404)
    {
        StorageError::NotFound
    } else {
        StorageError::s3(operation, err)
    }
}
