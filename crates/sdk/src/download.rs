//! Downloading outputs: to a file (streamed, verified, atomic) or as a verified byte stream.
//!
//! Both ask the API for a signed link and fetch it **without** the API token: the signature is
//! the permission, and the link may point at another host (object storage), which must never
//! see the token. Bytes are hashed as they arrive and compared with the output's `sha256`.
//!
//! A file download writes `<name>.antpath-partial` next to the destination and renames it into
//! place only after the digest matched and the data was flushed to disk, so the destination is
//! either absent, the old file, or the complete verified new one.
//!
//! [`Client::download_all`] names the files with [`crate::local_file_names`]: every output
//! gets its own safe name, so none overwrites another.

use std::path::{Path, PathBuf};

use antpath_types::RunId;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::client::{Client, error_from_response};
use crate::error::{Error, Result};
use crate::file_names::local_file_names;
use crate::model::Output;

/// A verified file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadedFile {
    /// Where it was written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// Its lowercase hex SHA-256 (equal to the output's).
    pub sha256: String,
}

impl Client {
    /// Downloads `output` of run `id` to `destination`, verifying its SHA-256. Parent folders
    /// are created.
    pub async fn download_to_file(
        &self,
        id: RunId,
        output: &Output,
        destination: &Path,
    ) -> Result<DownloadedFile> {
        let io = |source| Error::Io {
            path: destination.to_path_buf(),
            source,
        };
        if let Some(parent) = destination.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let mut partial = destination.as_os_str().to_owned();
        partial.push(".antpath-partial");
        let partial = PathBuf::from(partial);
        let result = self.write_verified(id, output, &partial).await;
        match result {
            Ok(size_bytes) => {
                tokio::fs::rename(&partial, destination).await.map_err(io)?;
                Ok(DownloadedFile {
                    path: destination.to_path_buf(),
                    size_bytes,
                    sha256: output.sha256.to_ascii_lowercase(),
                })
            }
            Err(error) => {
                // Best effort: the partial file may not exist if the link request failed.
                let _ = tokio::fs::remove_file(&partial).await;
                Err(error)
            }
        }
    }

    /// Downloads every output of run `id` into `directory`, each under its own safe file
    /// name ([`crate::local_file_names`]), stopping at the first failure. The files are in
    /// the order of [`Client::outputs`].
    pub async fn download_all(&self, id: RunId, directory: &Path) -> Result<Vec<DownloadedFile>> {
        let outputs = self.outputs(id).await?;
        let names = local_file_names(&outputs.outputs);
        let mut files = Vec::with_capacity(outputs.outputs.len());
        for (output, name) in outputs.outputs.iter().zip(names) {
            let destination = directory.join(name);
            files.push(self.download_to_file(id, output, &destination).await?);
        }
        Ok(files)
    }

    /// The content of `output` as a stream of chunks. The digest is checked at the end: if it
    /// does not match, the last item is [`Error::ChecksumMismatch`], so a consumer must treat
    /// the data as untrusted until the stream has ended without error.
    pub async fn download_stream(
        &self,
        id: RunId,
        output: &Output,
    ) -> Result<impl Stream<Item = Result<Bytes>> + Send + 'static> {
        let link = self.output_link(id, output.id).await?;
        // Not `send()`: that would attach the token. Downloads get no overall time-out (large
        // files take long); the connect time-out still applies.
        let response = self
            .inner
            .http
            .get(&link.url)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        if !response.status().is_success() {
            return Err(error_from_response(response).await);
        }
        let client = self.clone();
        let expected = output.sha256.to_ascii_lowercase();
        let filename = output.filename.clone();
        let chunks = response.bytes_stream();
        let state = (chunks, Some(Sha256::new()), client, expected, filename);
        Ok(futures_util::stream::unfold(
            state,
            |(mut chunks, mut hasher, client, expected, filename)| async move {
                let digest = hasher.as_mut()?;
                match chunks.next().await {
                    Some(Ok(chunk)) => {
                        digest.update(&chunk);
                        Some((Ok(chunk), (chunks, hasher, client, expected, filename)))
                    }
                    Some(Err(error)) => {
                        let error = client.transport_error(&error);
                        Some((Err(error), (chunks, None, client, expected, filename)))
                    }
                    None => {
                        let actual = hex::encode(hasher.take()?.finalize());
                        if actual == expected {
                            return None;
                        }
                        let error = Error::ChecksumMismatch {
                            filename: filename.clone(),
                            expected: expected.clone(),
                            actual,
                        };
                        Some((Err(error), (chunks, None, client, expected, filename)))
                    }
                }
            },
        ))
    }

    /// Streams the output into `partial`, returning its size once verified and synced.
    async fn write_verified(&self, id: RunId, output: &Output, partial: &Path) -> Result<u64> {
        let io = |source| Error::Io {
            path: partial.to_path_buf(),
            source,
        };
        let stream = self.download_stream(id, output).await?;
        let mut stream = std::pin::pin!(stream);
        let mut file = tokio::fs::File::create(partial).await.map_err(io)?;
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        Ok(size)
    }
}
