//! Streaming uploads: one `PutObject` for bodies smaller than a part, a multipart upload for
//! the rest.
//!
//! At most one part is held in memory. A multipart upload that fails, or whose body passes the
//! cap, is aborted before `put_stream` returns, so its parts do not linger as billed, invisible
//! storage; if the future is dropped half-way, the abort is sent from a spawned task instead.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use tokio::io::AsyncRead;

use super::S3Store;
use crate::digest::{CappedDigest, validate_content_type};
use crate::{ObjectKey, PutResult, StorageError};

/// Size of each multipart part: above S3's 5 MiB minimum for every part but the last, and the
/// most memory one upload holds.
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// Most parts S3 allows in one multipart upload.
const MAX_PARTS: usize = 10_000;

/// Aborts a multipart upload that was neither completed nor aborted when it goes out of scope.
struct AbortOnDrop {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    armed: bool,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                "multipart upload dropped outside a runtime; left to the lifecycle rule"
            );
            return;
        };
        let request = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id);
        runtime.spawn(async move {
            if let Err(err) = request.send().await {
                tracing::warn!(error.message = %err, "aborting a dropped multipart upload failed");
            }
        });
    }
}

impl S3Store {
    /// See [`crate::ObjectStore::put_stream`].
    #[tracing::instrument(skip_all, fields(storage.backend = "s3"))]
    pub async fn put_stream<R>(
        &self,
        key: &ObjectKey,
        mut body: R,
        content_type: &str,
        max_bytes: u64,
    ) -> Result<PutResult, StorageError>
    where
        R: AsyncRead + Unpin + Send,
    {
        validate_content_type(content_type)?;
        let mut digest = CappedDigest::new(max_bytes);
        let first = read_part(&mut digest, &mut body).await?;
        if first.len() < PART_BYTES {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key.as_str())
                .content_type(content_type)
                .content_length(first.len() as i64)
                .body(ByteStream::from(first))
                .send()
                .await
                .map_err(|err| StorageError::s3("PutObject", err))?;
            return Ok(digest.finish());
        }

        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .send()
            .await
            .map_err(|err| StorageError::s3("CreateMultipartUpload", err))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| StorageError::s3("CreateMultipartUpload", "answer had no upload id"))?
            .to_owned();
        let mut guard = AbortOnDrop {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.as_str().to_owned(),
            upload_id: upload_id.clone(),
            armed: true,
        };

        let outcome = self
            .upload_parts(key, &upload_id, &mut body, &mut digest, first)
            .await;
        guard.armed = false;
        if let Err(err) = outcome {
            let abort = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(&upload_id)
                .send()
                .await;
            if let Err(abort_err) = abort {
                tracing::warn!(error.message = %abort_err, "aborting a failed multipart upload failed");
            }
            return Err(err);
        }
        Ok(digest.finish())
    }

    /// Uploads `first` and every following part, then completes the upload.
    async fn upload_parts<R>(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        body: &mut R,
        digest: &mut CappedDigest,
        first: Bytes,
    ) -> Result<(), StorageError>
    where
        R: AsyncRead + Unpin + Send,
    {
        let mut completed = Vec::new();
        let mut part = first;
        while !part.is_empty() {
            if completed.len() == MAX_PARTS {
                return Err(StorageError::s3(
                    "UploadPart",
                    "body needs more than 10000 parts",
                ));
            }
            let number = completed.len() as i32 + 1;
            let is_last = part.len() < PART_BYTES;
            let uploaded = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(upload_id)
                .part_number(number)
                .content_length(part.len() as i64)
                .body(ByteStream::from(part))
                .send()
                .await
                .map_err(|err| StorageError::s3("UploadPart", err))?;
            completed.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(uploaded.e_tag().map(str::to_owned))
                    .build(),
            );
            part = if is_last {
                Bytes::new()
            } else {
                read_part(digest, body).await?
            };
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .map_err(|err| StorageError::s3("CompleteMultipartUpload", err))?;
        Ok(())
    }
}

/// Reads up to one part; shorter than [`PART_BYTES`] means the body has ended.
async fn read_part<R>(digest: &mut CappedDigest, body: &mut R) -> Result<Bytes, StorageError>
where
    R: AsyncRead + Unpin + Send,
{
    let mut buf = vec![0u8; PART_BYTES];
    let filled = digest.fill(body, &mut buf).await?;
    buf.truncate(filled);
    if filled < PART_BYTES {
        // Small bodies are common; don't keep a whole part's allocation alive for them.
        buf.shrink_to_fit();
    }
    Ok(Bytes::from(buf))
}
