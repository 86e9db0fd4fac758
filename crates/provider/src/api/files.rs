//! `/v1/files`: list a session's files, download one as a stream, delete one.
//!
//! The SDK sends no beta header on files routes. The scope-filtered list also carries the
//! Managed Agents beta, which older documentation required for `scope_id` and which is
//! harmless otherwise.

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use reqwest::Method;
use tracing::instrument;

use super::deleted;
use crate::error::ProviderError;
use crate::pagination::{Page, collect_all};
use crate::transport::{Call, ProviderClient};
use crate::types::Deleted;
use crate::types::file::{FileListParams, FileMetadata};

/// A file download in progress: the headers are read, the body is a stream of chunks.
pub struct FileDownload {
    /// The `content-type` header.
    pub content_type: Option<String>,
    /// The `content-length` header.
    pub content_length: Option<u64>,
    /// The body. A broken connection surfaces as a transient error item.
    pub stream: BoxStream<'static, Result<Bytes, ProviderError>>,
}

impl std::fmt::Debug for FileDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDownload")
            .field("content_type", &self.content_type)
            .field("content_length", &self.content_length)
            .finish_non_exhaustive()
    }
}

impl FileDownload {
    /// Reads the whole body into memory (tests and small files only).
    pub async fn bytes(self) -> Result<Bytes, ProviderError> {
        let chunks: Vec<Bytes> = self.stream.try_collect().await?;
        Ok(Bytes::from(chunks.concat()))
    }
}

impl ProviderClient {
    /// `GET /v1/files`, one page.
    #[instrument(skip_all, fields(file.scope_id = params.scope_id.as_deref().unwrap_or("")))]
    pub async fn list_files(
        &self,
        params: &FileListParams,
    ) -> Result<Page<FileMetadata>, ProviderError> {
        let mut call =
            Call::new(Method::GET, "/v1/files", &["v1", "files"]).query(params.to_query());
        if params.scope_id.is_none() {
            call = call.without_beta();
        }
        self.json(call).await
    }

    /// Every file of a session, following `next_page`.
    pub async fn list_session_files(
        &self,
        session_id: &str,
    ) -> Result<Vec<FileMetadata>, ProviderError> {
        collect_all(None, |page| {
            let params = FileListParams {
                page,
                ..FileListParams::for_session(session_id)
            };
            async move { self.list_files(&params).await }
        })
        .await
    }

    /// `GET /v1/files/{id}/content` as a stream of chunks. Opening the download is retried
    /// like any GET; a failure mid-stream is returned to the caller, who restarts the file.
    #[instrument(skip_all, fields(file.id = %file_id))]
    pub async fn download_file(&self, file_id: &str) -> Result<FileDownload, ProviderError> {
        let mut call = Call::new(
            Method::GET,
            "/v1/files/{id}/content",
            &["v1", "files", file_id, "content"],
        )
        .without_beta();
        call.accept = Some("application/binary");
        let response = self.stream(call).await?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
        };
        let content_type = header(reqwest::header::CONTENT_TYPE).map(str::to_owned);
        let content_length = header(reqwest::header::CONTENT_LENGTH).and_then(|v| v.parse().ok());
        let stream = response
            .bytes_stream()
            .map_err(|e| ProviderError::from_reqwest(&e))
            .boxed();
        Ok(FileDownload {
            content_type,
            content_length,
            stream,
        })
    }

    /// `DELETE /v1/files/{id}`.
    #[instrument(skip_all, fields(file.id = %file_id))]
    pub async fn delete_file(&self, file_id: &str) -> Result<Deleted, ProviderError> {
        let call =
            Call::new(Method::DELETE, "/v1/files/{id}", &["v1", "files", file_id]).without_beta();
        deleted(self.json(call).await?, file_id)
    }
}
