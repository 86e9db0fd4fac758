//! Behaviour specific to the local-directory store: link verification, atomic writes and
//! configuration checks.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use antpath_redact::Secret;
use antpath_storage::{LocalStore, ObjectStore, StorageError, output_key};
use antpath_types::{OutputId, RunId, WorkspaceId};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::oneshot;

use crate::support::{Fixture, LOCAL_BASE_URL, local_config, parse_local_link, read_all};

fn local(fx: &Fixture) -> &LocalStore {
    match &fx.store {
        ObjectStore::Local(store) => store,
        ObjectStore::S3(_) => unreachable!("a local fixture"),
    }
}

fn key() -> antpath_storage::ObjectKey {
    output_key(
        WorkspaceId::new(),
        RunId::new(),
        OutputId::new(),
        "notes.txt",
    )
}

#[tokio::test]
async fn verify_signed_accepts_a_genuine_link_and_names_each_way_it_can_fail() {
    let fx = Fixture::local().await;
    let store = local(&fx);
    let key = key();
    let now = SystemTime::now();
    let url = store
        .signed_get_url_at(&key, Duration::from_secs(60), "notes.txt", now)
        .expect("sign");
    assert!(
        url.starts_with(&format!("{LOCAL_BASE_URL}/v1/storage/{key}?expires=")),
        "{url}"
    );
    let (path, q) = parse_local_link(&url);
    assert_eq!(path, key.as_str());

    let at_expiry = UNIX_EPOCH + Duration::from_secs(q.expires);
    store
        .verify_signed(&key, q.expires, &q.filename, &q.sig, now)
        .expect("fresh link");
    store
        .verify_signed(&key, q.expires, &q.filename, &q.sig, at_expiry)
        .expect("last second");

    let later = at_expiry + Duration::from_secs(1);
    let expired = store.verify_signed(&key, q.expires, &q.filename, &q.sig, later);
    assert!(matches!(expired, Err(StorageError::LinkExpired)));

    let other_key = self::key();
    let cases = [
        store.verify_signed(&other_key, q.expires, &q.filename, &q.sig, now),
        store.verify_signed(&key, q.expires + 3600, &q.filename, &q.sig, now),
        store.verify_signed(&key, q.expires, "other.txt", &q.sig, now),
        store.verify_signed(&key, q.expires, &q.filename, "zz-not-hex", now),
        store.verify_signed(&key, q.expires, &q.filename, &q.sig[..62], now),
    ];
    for outcome in cases {
        assert!(
            matches!(outcome, Err(StorageError::LinkInvalid)),
            "{outcome:?}"
        );
    }
}

#[tokio::test]
async fn a_forged_link_is_invalid_even_when_it_has_also_expired() {
    let fx = Fixture::local().await;
    let store = local(&fx);
    let key = key();
    let url = store
        .signed_get_url(&key, Duration::from_secs(60), "notes.txt")
        .expect("sign");
    let (_, q) = parse_local_link(&url);
    let far_future = SystemTime::now() + Duration::from_secs(86_400);
    let outcome = store.verify_signed(&key, q.expires, "forged.txt", &q.sig, far_future);
    assert!(matches!(outcome, Err(StorageError::LinkInvalid)));
}

#[tokio::test]
async fn rotating_the_signing_key_revokes_every_link() {
    let fx = Fixture::local().await;
    let store = local(&fx);
    let key = key();
    store
        .put_stream(&key, &b"x"[..], "text/plain", 10)
        .await
        .expect("put");
    let url = store
        .signed_get_url(&key, Duration::from_secs(60), "notes.txt")
        .expect("sign");

    let mut config = local_config(store.root());
    config.signing_key = Secret::new("a-completely-different-signing-key-0001".to_owned());
    let rotated = LocalStore::new(config).expect("valid");
    let (path, q) = parse_local_link(&url);
    let outcome = rotated.open_signed(&path, &q, SystemTime::now()).await;
    assert!(matches!(outcome, Err(StorageError::LinkInvalid)));

    let download = store
        .open_signed(&path, &q, SystemTime::now())
        .await
        .expect("original key");
    assert_eq!(
        download.object.info.content_type.as_deref(),
        Some("text/plain")
    );
    assert_eq!(read_all(download.object.body).await, b"x");
}

#[tokio::test]
async fn a_link_path_that_climbs_out_of_the_store_is_refused_before_any_disk_access() {
    let fx = Fixture::local().await;
    let store = local(&fx);
    let url = store
        .signed_get_url(&key(), Duration::from_secs(60), "notes.txt")
        .expect("sign");
    let (_, q) = parse_local_link(&url);
    let outcome = store
        .open_signed("../../etc/passwd", &q, SystemTime::now())
        .await;
    assert!(matches!(outcome, Err(StorageError::InvalidKey(_))));
}

/// Yields `first` once, then reports each later poll on a channel and never finishes.
struct StallsAfter {
    first: Option<Vec<u8>>,
    stalled: Option<oneshot::Sender<()>>,
}

impl AsyncRead for StallsAfter {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            buf.put_slice(&first);
            return Poll::Ready(Ok(()));
        }
        if let Some(stalled) = this.stalled.take() {
            let _ = stalled.send(());
        }
        Poll::Pending
    }
}

#[tokio::test]
async fn an_upload_cancelled_half_way_leaves_no_temp_file() {
    let fx = Fixture::local().await;
    let (tx, rx) = oneshot::channel();
    let body = StallsAfter {
        first: Some(vec![5u8; 1000]),
        stalled: Some(tx),
    };
    let store = fx.store.clone();
    let key = key();
    let upload = {
        let key = key.clone();
        tokio::spawn(async move { store.put_stream(&key, body, "text/plain", 1 << 20).await })
    };
    rx.await.expect("the upload reached its body");
    assert_eq!(
        fx.files_on_disk().len(),
        1,
        "the temp file exists while uploading"
    );
    upload.abort();
    assert!(upload.await.expect_err("aborted").is_cancelled());
    assert!(fx.files_on_disk().is_empty(), "{:?}", fx.files_on_disk());
    assert_eq!(fx.store.head(&key).await.expect("head"), None);
}

/// Regression (issue 9 chaos suite): a worker SIGKILLed mid-upload left its temp file behind
/// for ever, bytes on disk that no workspace counted.
#[tokio::test]
async fn a_retried_upload_clears_the_temp_file_a_killed_upload_left() {
    let fx = Fixture::local().await;
    let key = key();
    fx.store
        .put_stream(&key, &b"first"[..], "text/plain", 1 << 20)
        .await
        .expect("put");
    let folder = fx.files_on_disk()[0]
        .parent()
        .expect("folder")
        .to_path_buf();
    // What a killed process leaves: a temp file next to where its object would go.
    let left = folder.join(".antpath-tmp-0123456789abcdef0123456789abcdef");
    std::fs::write(&left, b"half an upload").expect("leftover");
    std::thread::sleep(Duration::from_millis(20));
    fx.store
        .put_stream(&key, &b"second"[..], "text/plain", 1 << 20)
        .await
        .expect("retried put");
    assert!(!left.exists(), "the leftover temp file is gone");
    assert_eq!(fx.files_on_disk().len(), 1, "{:?}", fx.files_on_disk());
}

/// Fails on its first read, like a download whose connection dropped.
struct Broken;

impl AsyncRead for Broken {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Ready(Err(std::io::Error::other("connection reset")))
    }
}

#[tokio::test]
async fn a_failing_body_is_reported_as_such_and_keeps_the_previous_object() {
    let fx = Fixture::local().await;
    let key = key();
    fx.store
        .put_stream(&key, &b"old"[..], "text/plain", 10)
        .await
        .expect("put");
    let outcome = fx.store.put_stream(&key, Broken, "text/plain", 10).await;
    assert!(matches!(outcome, Err(StorageError::Body(_))), "{outcome:?}");
    assert_eq!(
        read_all(fx.store.get_stream(&key).await.expect("get").body).await,
        b"old"
    );
    assert_eq!(fx.files_on_disk().len(), 1);
}

#[test]
fn an_unusable_local_configuration_lists_every_problem() {
    let err = LocalStore::new(antpath_storage::LocalStoreConfig {
        root: std::path::PathBuf::new(),
        public_base_url: "bff.example.com".to_owned(),
        signing_key: Secret::new("short".to_owned()),
    })
    .expect_err("invalid");
    let message = err.to_string();
    assert!(message.contains("public_base_url"), "{message}");
    assert!(message.contains("signing_key"), "{message}");
    assert!(message.contains("root"), "{message}");
    assert!(
        !message.contains("short"),
        "the key must not be echoed: {message}"
    );
}

#[tokio::test]
async fn a_content_type_that_could_inject_a_header_is_refused() {
    let fx = Fixture::local().await;
    let outcome = fx
        .store
        .put_stream(&key(), &b"x"[..], "text/plain\nx: y", 10)
        .await;
    assert!(matches!(outcome, Err(StorageError::InvalidContentType)));
}
