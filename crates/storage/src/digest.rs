//! Reading an upload body in bounded chunks while hashing it and enforcing its byte cap.
//!
//! Both backends pull the body through [`CappedDigest::fill`], so the cap and the SHA-256 mean
//! the same thing everywhere and a body larger than the cap is never read much past it.

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::{PutResult, StorageError};

/// Longest content type accepted, in bytes; real media types are far shorter.
pub(crate) const MAX_CONTENT_TYPE_BYTES: usize = 255;

/// Running size and SHA-256 of a body, failing once the size passes the cap.
pub(crate) struct CappedDigest {
    hasher: Sha256,
    size_bytes: u64,
    max_bytes: u64,
}

impl CappedDigest {
    /// Starts an empty digest that allows at most `max_bytes`.
    pub(crate) fn new(max_bytes: u64) -> Self {
        Self {
            hasher: Sha256::new(),
            size_bytes: 0,
            max_bytes,
        }
    }

    /// Reads from `body` into `buf` until `buf` is full or the body ends, hashing as it goes.
    ///
    /// Returns the number of bytes placed in `buf`; fewer than `buf.len()` means the body ended.
    /// Fails with [`StorageError::TooLarge`] as soon as the running total passes the cap.
    pub(crate) async fn fill<R>(
        &mut self,
        body: &mut R,
        buf: &mut [u8],
    ) -> Result<usize, StorageError>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        let mut filled = 0;
        while filled < buf.len() {
            let read = body
                .read(&mut buf[filled..])
                .await
                .map_err(StorageError::Body)?;
            if read == 0 {
                break;
            }
            self.size_bytes += read as u64;
            if self.size_bytes > self.max_bytes {
                return Err(StorageError::TooLarge {
                    max_bytes: self.max_bytes,
                });
            }
            self.hasher.update(&buf[filled..filled + read]);
            filled += read;
        }
        Ok(filled)
    }

    /// Bytes accepted so far.
    pub(crate) fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// The final size and hash.
    pub(crate) fn finish(self) -> PutResult {
        PutResult {
            size_bytes: self.size_bytes,
            sha256: self.hasher.finalize().into(),
        }
    }
}

/// Accepts a content type only if it is one line of printable ASCII, so it can go into an HTTP
/// header and the local store's one-line object header unchanged.
pub(crate) fn validate_content_type(content_type: &str) -> Result<(), StorageError> {
    let printable = content_type.bytes().all(|b| (0x20..0x7f).contains(&b));
    if content_type.is_empty() || content_type.len() > MAX_CONTENT_TYPE_BYTES || !printable {
        return Err(StorageError::InvalidContentType);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_exactly_at_the_cap_is_accepted_and_one_byte_more_is_not() {
        let body = [7u8; 10];
        let mut digest = CappedDigest::new(10);
        let mut buf = [0u8; 4];
        let mut reader = &body[..];
        let mut total = 0;
        loop {
            let n = digest
                .fill(&mut reader, &mut buf)
                .await
                .expect("within the cap");
            total += n;
            if n < buf.len() {
                break;
            }
        }
        assert_eq!(total, 10);
        assert_eq!(digest.finish().size_bytes, 10);

        let mut digest = CappedDigest::new(9);
        let mut reader = &body[..];
        let outcome = async {
            loop {
                if digest.fill(&mut reader, &mut buf).await? < buf.len() {
                    return Ok(());
                }
            }
        };
        let outcome: Result<(), StorageError> = outcome.await;
        assert!(matches!(
            outcome,
            Err(StorageError::TooLarge { max_bytes: 9 })
        ));
    }

    #[test]
    fn content_types_with_line_breaks_are_refused() {
        assert!(validate_content_type("text/plain; charset=utf-8").is_ok());
        assert!(validate_content_type("text/plain\r\nx-evil: 1").is_err());
        assert!(validate_content_type("").is_err());
    }
}
