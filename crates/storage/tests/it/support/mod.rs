//! Fixtures shared by the suite: a store per backend, a deterministic body generator, and a
//! way to follow a signed link on either backend.

pub mod s3s;

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use antpath_redact::Secret;
use antpath_storage::{
    LocalStore, LocalStoreConfig, ObjectBody, ObjectStore, S3Store, S3StoreConfig, SignedLinkQuery,
};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

/// Public base URL the local store builds links under.
pub const LOCAL_BASE_URL: &str = "http://bff.test";

/// A store under test and whatever keeps its backend alive.
pub struct Fixture {
    /// The store.
    pub store: ObjectStore,
    /// Directory whose files are the backend's whole on-disk state.
    pub data_dir: PathBuf,
    _keep: Keep,
}

enum Keep {
    Local(#[expect(dead_code, reason = "held for its Drop")] TempDir),
    S3(#[expect(dead_code, reason = "held for its Drop")] Box<s3s::S3sServer>),
}

/// What following a link returned.
pub struct Fetched {
    /// The body.
    pub body: Vec<u8>,
    /// The `Content-Disposition` the download would carry, if any.
    pub content_disposition: Option<String>,
}

impl Fixture {
    /// A local-directory store in a fresh temp directory.
    pub async fn local() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("objects");
        let store = LocalStore::new(local_config(&root)).expect("valid local config");
        Self {
            store: ObjectStore::Local(store),
            data_dir: root,
            _keep: Keep::Local(dir),
        }
    }

    /// An S3 store on a fresh `s3s-fs` server with its bucket created.
    pub async fn s3() -> Self {
        let server = s3s::S3sServer::start().await;
        let store = S3Store::new(S3StoreConfig {
            endpoint: Some(server.endpoint.clone()),
            region: "us-east-1".to_owned(),
            // Short on purpose: s3s-fs names its metadata files after the base64 of bucket and
            // key, and a long bucket pushes multipart metadata past the 255-byte name limit.
            bucket: "out".to_owned(),
            force_path_style: true,
            access_key_id: Secret::new(s3s::ACCESS_KEY.to_owned()),
            secret_access_key: Secret::new(s3s::SECRET_KEY.to_owned()),
        })
        .expect("valid S3 config");
        store.ensure_bucket().await.expect("bucket created");
        store
            .ensure_bucket()
            .await
            .expect("creating an existing bucket is fine");
        Self {
            store: ObjectStore::S3(store),
            data_dir: server.root.clone(),
            _keep: Keep::S3(Box::new(server)),
        }
    }

    /// Follows a signed link as a browser would; `None` when the backend refuses it.
    pub async fn fetch_link(&self, url: &str) -> Option<Fetched> {
        match &self.store {
            ObjectStore::Local(store) => fetch_local(store, url).await,
            ObjectStore::S3(_) => {
                let response = reqwest::get(url).await.expect("request reaches s3s-fs");
                if !response.status().is_success() {
                    return None;
                }
                let content_disposition = response
                    .headers()
                    .get("content-disposition")
                    .map(|value| value.to_str().expect("ASCII header").to_owned());
                let body = response.bytes().await.expect("body").to_vec();
                Some(Fetched {
                    body,
                    content_disposition,
                })
            }
        }
    }

    /// Every file under the backend's data directory (objects, temp files, parts).
    pub fn files_on_disk(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        walk(&self.data_dir, &mut files);
        files
    }
}

/// Settings of a local store rooted at `root`.
pub fn local_config(root: &Path) -> LocalStoreConfig {
    LocalStoreConfig {
        root: root.to_owned(),
        public_base_url: format!("{LOCAL_BASE_URL}/"),
        signing_key: Secret::new("test-signing-key-of-at-least-32-bytes!".to_owned()),
    }
}

/// Does what the bff's link route does: split the URL, decode it, and open the object.
async fn fetch_local(store: &LocalStore, url: &str) -> Option<Fetched> {
    let (path, query) = parse_local_link(url);
    let download = store
        .open_signed(&path, &query, SystemTime::now())
        .await
        .ok()?;
    let body = read_all(download.object.body).await;
    Some(Fetched {
        body,
        content_disposition: Some(download.content_disposition),
    })
}

/// The decoded key path and query of a local signed link.
pub fn parse_local_link(url: &str) -> (String, SignedLinkQuery) {
    let rest = url
        .strip_prefix(&format!("{LOCAL_BASE_URL}/v1/storage/"))
        .expect("link points at the bff storage route");
    let (path, query) = rest.split_once('?').expect("link has a query");
    let mut fields = std::collections::HashMap::new();
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').expect("name=value");
        fields.insert(name.to_owned(), percent_decode(value));
    }
    let query = SignedLinkQuery {
        expires: fields["expires"].parse().expect("numeric expiry"),
        filename: fields["filename"].clone(),
        sig: fields["sig"].clone(),
    };
    (percent_decode(path), query)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ASCII escape");
            out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8 after decoding")
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// Reads a whole (small) body into memory.
pub async fn read_all(mut body: ObjectBody) -> Vec<u8> {
    let mut out = Vec::new();
    body.read_to_end(&mut out).await.expect("body reads");
    out
}

/// Streams a body through SHA-256 without keeping it: (size, hash).
pub async fn hash_body(mut body: ObjectBody) -> (u64, [u8; 32]) {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let read = body.read(&mut buf).await.expect("body reads");
        if read == 0 {
            return (size, hasher.finalize().into());
        }
        size += read as u64;
        hasher.update(&buf[..read]);
    }
}

/// SHA-256 of a byte slice.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A body of `len` pseudo-random bytes produced on the fly (xorshift), so multi-megabyte
/// uploads never exist in memory as a whole.
pub struct Generated {
    remaining: u64,
    state: u64,
}

impl Generated {
    /// A generator of `len` bytes from `seed` (non-zero).
    pub fn new(len: u64, seed: u64) -> Self {
        Self {
            remaining: len,
            state: seed | 1,
        }
    }

    /// Size and SHA-256 the generator will produce, computed by running a twin.
    pub fn expected(len: u64, seed: u64) -> (u64, [u8; 32]) {
        let mut twin = Self::new(len, seed);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = twin.produce(&mut buf);
            if n == 0 {
                return (len, hasher.finalize().into());
            }
            hasher.update(&buf[..n]);
        }
    }

    fn produce(&mut self, buf: &mut [u8]) -> usize {
        let n = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        for byte in &mut buf[..n] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *byte = self.state as u8;
        }
        self.remaining -= n as u64;
        n
    }
}

impl AsyncRead for Generated {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        // Odd-sized chunks exercise part boundaries that do not line up with reads.
        let mut chunk = [0u8; 40_000];
        let want = buf.remaining().min(chunk.len());
        let n = this.produce(&mut chunk[..want]);
        buf.put_slice(&chunk[..n]);
        Poll::Ready(Ok(()))
    }
}
