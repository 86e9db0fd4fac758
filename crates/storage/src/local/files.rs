//! Reading and writing object files: the atomic write path and the object header.

use std::io;
use std::path::{Path, PathBuf};

use tokio::fs;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};

use super::LocalStore;
use crate::digest::{CappedDigest, MAX_CONTENT_TYPE_BYTES, validate_content_type};
use crate::key::TEMP_PREFIX;
use crate::{GetObject, KeyPrefix, ObjectInfo, ObjectKey, PutResult, StorageError};

/// First line of every object file; a version bump here would let a later format coexist.
const MAGIC_LINE: &[u8] = b"antpath-object-v1\n";

/// Bytes moved per read and write: large enough to keep syscalls few, small enough to hold
/// many concurrent uploads in memory.
const CHUNK_BYTES: usize = 64 * 1024;

/// Removes an in-flight temp file unless the upload completed, including when the upload's
/// future is dropped half-way.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: the file is unreachable through any key either way.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes the temp files an earlier upload into `dir` left when its process died mid-write
/// (a drop guard cannot run after SIGKILL). Output keys are deterministic, so the retried upload
/// lands in the same folder and clears what was left there: any temp file last written before
/// this upload `started`. An upload still writing would be newer. Best effort.
async fn remove_stale_temps(dir: &Path, started: std::time::SystemTime) {
    let Ok(mut entries) = fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let stale = entry
            .metadata()
            .await
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified < started);
        if stale {
            let _ = fs::remove_file(entry.path()).await;
        }
    }
}

impl LocalStore {
    /// See [`crate::ObjectStore::put_stream`].
    #[tracing::instrument(skip_all, fields(storage.backend = "local"))]
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
        let started = std::time::SystemTime::now();
        let path = self.path_of(key);
        let dir = path.parent().unwrap_or(self.root()).to_path_buf();
        fs::create_dir_all(&dir).await.map_err(StorageError::Io)?;
        let mut temp = TempFile {
            path: dir.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple())),
            armed: true,
        };

        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp.path)
            .await
            .map_err(StorageError::Io)?;
        let header = [MAGIC_LINE, content_type.as_bytes(), b"\n"].concat();
        file.write_all(&header).await.map_err(StorageError::Io)?;

        let mut digest = CappedDigest::new(max_bytes);
        let mut buf = vec![0u8; CHUNK_BYTES];
        loop {
            let filled = digest.fill(&mut body, &mut buf).await?;
            file.write_all(&buf[..filled])
                .await
                .map_err(StorageError::Io)?;
            if filled < buf.len() {
                break;
            }
        }
        file.flush().await.map_err(StorageError::Io)?;
        file.sync_all().await.map_err(StorageError::Io)?;
        drop(file);

        fs::rename(&temp.path, &path)
            .await
            .map_err(StorageError::Io)?;
        temp.armed = false;
        remove_stale_temps(&dir, started).await;
        sync_dir(dir).await.map_err(StorageError::Io)?;
        tracing::debug!(storage.size_bytes = digest.size_bytes(), "stored object");
        Ok(digest.finish())
    }

    /// See [`crate::ObjectStore::get_stream`].
    #[tracing::instrument(skip_all, fields(storage.backend = "local"))]
    pub async fn get_stream(&self, key: &ObjectKey) -> Result<GetObject, StorageError> {
        let (info, body) = self.open(key).await?;
        Ok(GetObject {
            info,
            body: Box::pin(body),
        })
    }

    /// See [`crate::ObjectStore::head`].
    #[tracing::instrument(skip_all, fields(storage.backend = "local"))]
    pub async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, StorageError> {
        match self.open(key).await {
            Ok((info, _)) => Ok(Some(info)),
            Err(StorageError::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// See [`crate::ObjectStore::delete`].
    #[tracing::instrument(skip_all, fields(storage.backend = "local"))]
    pub async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match fs::remove_file(self.path_of(key)).await {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(StorageError::Io(err)),
            _ => Ok(()),
        }
    }

    /// See [`crate::ObjectStore::delete_prefix`]. Removes the prefix's whole directory,
    /// including temp files of uploads that died half-way.
    #[tracing::instrument(skip_all, fields(storage.backend = "local"))]
    pub async fn delete_prefix(&self, prefix: &KeyPrefix) -> Result<(), StorageError> {
        match fs::remove_dir_all(self.dir_of(prefix)).await {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(StorageError::Io(err)),
            _ => Ok(()),
        }
    }

    /// Opens an object file and reads past its header, returning the reader at the body.
    pub(super) async fn open(
        &self,
        key: &ObjectKey,
    ) -> Result<(ObjectInfo, BufReader<fs::File>), StorageError> {
        let file = match fs::File::open(self.path_of(key)).await {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound);
            }
            Err(err) => return Err(StorageError::Io(err)),
        };
        let metadata = file.metadata().await.map_err(StorageError::Io)?;
        if !metadata.is_file() {
            // A key that names a directory of other keys is not an object.
            return Err(StorageError::NotFound);
        }
        let mut reader = BufReader::with_capacity(CHUNK_BYTES, file);
        let magic = read_line(&mut reader, MAGIC_LINE.len()).await?;
        let content_type = read_line(&mut reader, MAX_CONTENT_TYPE_BYTES + 1).await?;
        if magic != MAGIC_LINE {
            return Err(corrupt("object file lacks the antpath header"));
        }
        let header_len = (magic.len() + content_type.len()) as u64;
        let content_type = String::from_utf8(content_type[..content_type.len() - 1].to_vec())
            .map_err(|_| corrupt("object header is not UTF-8"))?;
        let size_bytes = metadata
            .len()
            .checked_sub(header_len)
            .ok_or_else(|| corrupt("object file shorter than its header"))?;
        Ok((
            ObjectInfo {
                size_bytes,
                content_type: Some(content_type),
            },
            reader,
        ))
    }
}

/// Reads one `\n`-terminated line of at most `limit` bytes (newline included).
async fn read_line(
    reader: &mut BufReader<fs::File>,
    limit: usize,
) -> Result<Vec<u8>, StorageError> {
    let mut line = Vec::new();
    reader
        .take(limit as u64)
        .read_until(b'\n', &mut line)
        .await
        .map_err(StorageError::Io)?;
    if line.last() != Some(&b'\n') {
        return Err(corrupt("object header line is unterminated or too long"));
    }
    Ok(line)
}

fn corrupt(message: &'static str) -> StorageError {
    StorageError::Io(io::Error::new(io::ErrorKind::InvalidData, message))
}

/// Makes a rename durable: the new directory entry is only on disk once the directory is synced.
async fn sync_dir(dir: PathBuf) -> io::Result<()> {
    tokio::task::spawn_blocking(move || std::fs::File::open(Path::new(&dir))?.sync_all())
        .await
        .map_err(io::Error::other)?
}
