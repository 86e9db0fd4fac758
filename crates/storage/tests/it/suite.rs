//! The behaviour both backends must share, written once and instantiated per backend.

use std::time::{Duration, SystemTime};

use antpath_storage::{ObjectKey, StorageError, output_key, run_prefix, workspace_prefix};
use antpath_types::{OutputId, RunId, WorkspaceId};

use crate::support::{Fixture, Generated, hash_body, read_all, sha256};

/// Size of the "large" upload: more than one 8 MiB part, with a ragged last part.
const LARGE_BYTES: u64 = 12 * 1024 * 1024;

/// Generous cap for uploads that are not about the cap.
const NO_CAP: u64 = 1 << 40;

/// How long test links live.
const LINK_TTL: Duration = Duration::from_secs(300);

fn new_key(filename: &str) -> ObjectKey {
    output_key(WorkspaceId::new(), RunId::new(), OutputId::new(), filename)
}

macro_rules! backend_suite {
    ($backend:ident, $fixture:path) => {
        mod $backend {
            use super::*;

            #[tokio::test]
            async fn a_streamed_object_reads_back_with_its_size_sha256_and_type() {
                round_trip(&$fixture().await).await;
            }

            #[tokio::test]
            async fn a_body_over_the_cap_fails_and_leaves_nothing_behind() {
                cap_on_a_small_body(&$fixture().await).await;
            }

            #[tokio::test]
            async fn a_large_body_over_the_cap_aborts_its_multipart_upload() {
                cap_on_a_large_body(&$fixture().await).await;
            }

            #[tokio::test]
            async fn putting_twice_replaces_the_object_and_a_failed_put_keeps_it() {
                overwrite(&$fixture().await).await;
            }

            #[tokio::test]
            async fn deleting_is_idempotent_and_missing_objects_are_not_found() {
                delete_idempotency(&$fixture().await).await;
            }

            #[tokio::test]
            async fn deleting_a_prefix_removes_one_run_then_one_workspace_only() {
                delete_prefix(&$fixture().await).await;
            }

            #[tokio::test]
            async fn a_signed_link_serves_the_object_until_it_expires_or_is_altered() {
                signed_link(&$fixture().await).await;
            }

            #[tokio::test]
            async fn a_twelve_mebibyte_stream_round_trips_through_parts() {
                large_round_trip(&$fixture().await).await;
            }

            #[tokio::test]
            async fn a_hostile_filename_is_stored_under_a_safe_key_and_downloads() {
                hostile_filename(&$fixture().await).await;
            }
        }
    };
}

backend_suite!(local, Fixture::local);
backend_suite!(s3, Fixture::s3);

async fn round_trip(fx: &Fixture) {
    let key = new_key("report.md");
    let body = b"# Results\n\nall green\n".to_vec();
    let put = fx
        .store
        .put_stream(&key, &body[..], "text/markdown", NO_CAP)
        .await
        .expect("put");
    assert_eq!(put.size_bytes, body.len() as u64);
    assert_eq!(put.sha256, sha256(&body));
    assert_eq!(put.sha256_hex().len(), 64);

    let head = fx
        .store
        .head(&key)
        .await
        .expect("head")
        .expect("object exists");
    assert_eq!(head.size_bytes, body.len() as u64);
    assert_eq!(head.content_type.as_deref(), Some("text/markdown"));

    let got = fx.store.get_stream(&key).await.expect("get");
    assert_eq!(got.info.size_bytes, body.len() as u64);
    assert_eq!(read_all(got.body).await, body);

    let empty = new_key("empty.txt");
    let put = fx
        .store
        .put_stream(&empty, &b""[..], "text/plain", 0)
        .await
        .expect("empty put");
    assert_eq!(put.size_bytes, 0);
    assert!(
        read_all(fx.store.get_stream(&empty).await.expect("get").body)
            .await
            .is_empty()
    );
}

async fn cap_on_a_small_body(fx: &Fixture) {
    let key = new_key("big.bin");
    let body = vec![1u8; 1000];
    let err = fx
        .store
        .put_stream(&key, &body[..], "application/octet-stream", 999)
        .await;
    assert!(
        matches!(err, Err(StorageError::TooLarge { max_bytes: 999 })),
        "{err:?}"
    );
    assert_eq!(fx.store.head(&key).await.expect("head"), None);
    assert!(matches!(
        fx.store.get_stream(&key).await,
        Err(StorageError::NotFound)
    ));

    let at_cap = fx
        .store
        .put_stream(&key, &body[..], "application/octet-stream", 1000)
        .await;
    assert_eq!(
        at_cap.expect("a body exactly at the cap fits").size_bytes,
        1000
    );
}

async fn cap_on_a_large_body(fx: &Fixture) {
    let key = new_key("huge.bin");
    let cap = 10 * 1024 * 1024;
    let body = Generated::new(LARGE_BYTES, 7);
    let err = fx
        .store
        .put_stream(&key, body, "application/octet-stream", cap)
        .await;
    assert!(matches!(err, Err(StorageError::TooLarge { .. })), "{err:?}");
    assert_eq!(fx.store.head(&key).await.expect("head"), None);
    let left = fx.files_on_disk();
    assert!(
        left.iter()
            .all(|path| !path.to_string_lossy().contains("huge.bin")),
        "{left:?}"
    );
    if let antpath_storage::ObjectStore::Local(_) = fx.store {
        assert!(left.is_empty(), "temp files left behind: {left:?}");
    }
}

async fn overwrite(fx: &Fixture) {
    let key = new_key("data.csv");
    fx.store
        .put_stream(&key, &b"a,b\n1,2\n"[..], "text/csv", NO_CAP)
        .await
        .expect("first put");
    let second = b"a,b\n3,4\n5,6\n";
    let put = fx
        .store
        .put_stream(&key, &second[..], "text/plain", NO_CAP)
        .await
        .expect("second");
    assert_eq!(put.sha256, sha256(second));
    let got = fx.store.get_stream(&key).await.expect("get");
    assert_eq!(got.info.content_type.as_deref(), Some("text/plain"));
    assert_eq!(read_all(got.body).await, second);

    let too_big = [9u8; 100];
    let err = fx
        .store
        .put_stream(&key, &too_big[..], "text/csv", 50)
        .await;
    assert!(matches!(err, Err(StorageError::TooLarge { .. })));
    let kept = read_all(fx.store.get_stream(&key).await.expect("get").body).await;
    assert_eq!(
        kept, second,
        "a rejected overwrite must keep the previous object"
    );
}

async fn delete_idempotency(fx: &Fixture) {
    let key = new_key("gone.txt");
    fx.store
        .put_stream(&key, &b"bye"[..], "text/plain", NO_CAP)
        .await
        .expect("put");
    fx.store.delete(&key).await.expect("first delete");
    fx.store.delete(&key).await.expect("second delete");
    fx.store
        .delete(&new_key("never.txt"))
        .await
        .expect("delete of a never-stored key");
    assert_eq!(fx.store.head(&key).await.expect("head"), None);
    let err = fx.store.get_stream(&key).await.expect_err("object is gone");
    assert!(err.is_not_found());
}

async fn delete_prefix(fx: &Fixture) {
    let (ws, other_ws) = (WorkspaceId::new(), WorkspaceId::new());
    let (run_a, run_b) = (RunId::new(), RunId::new());
    let keys_a: Vec<_> = (0..3)
        .map(|i| output_key(ws, run_a, OutputId::new(), &format!("a{i}.txt")))
        .collect();
    let key_b = output_key(ws, run_b, OutputId::new(), "b.txt");
    let key_other = output_key(other_ws, RunId::new(), OutputId::new(), "c.txt");
    for key in keys_a.iter().chain([&key_b, &key_other]) {
        fx.store
            .put_stream(key, &b"x"[..], "text/plain", NO_CAP)
            .await
            .expect("put");
    }

    fx.store
        .delete_prefix(&run_prefix(ws, run_a))
        .await
        .expect("delete run a");
    for key in &keys_a {
        assert_eq!(fx.store.head(key).await.expect("head"), None);
    }
    assert!(
        fx.store.head(&key_b).await.expect("head").is_some(),
        "run b untouched"
    );

    fx.store
        .delete_prefix(&workspace_prefix(ws))
        .await
        .expect("delete workspace");
    assert_eq!(fx.store.head(&key_b).await.expect("head"), None);
    assert!(
        fx.store.head(&key_other).await.expect("head").is_some(),
        "other tenant untouched"
    );

    fx.store
        .delete_prefix(&workspace_prefix(ws))
        .await
        .expect("deleting again succeeds");
}

async fn signed_link(fx: &Fixture) {
    let key = new_key("summary.txt");
    let body = b"signed bytes";
    fx.store
        .put_stream(&key, &body[..], "text/plain", NO_CAP)
        .await
        .expect("put");

    let url = fx
        .store
        .signed_get_url(&key, LINK_TTL, "Summary final.txt")
        .await
        .expect("sign");
    let fetched = fx.fetch_link(&url).await.expect("a fresh link works");
    assert_eq!(fetched.body, body);
    let disposition = fetched.content_disposition.expect("the download is named");
    assert!(
        disposition.contains("filename*=UTF-8''Summary%20final.txt"),
        "{disposition}"
    );

    let other = key.as_str().replace("summary.txt", "summarx.txt");
    fx.store
        .put_stream(
            &ObjectKey::parse(&other).expect("key"),
            &b"other"[..],
            "text/plain",
            NO_CAP,
        )
        .await
        .expect("put");
    let tampered = url.replacen("summary.txt", "summarx.txt", 1);
    assert_ne!(tampered, url);
    assert!(
        fx.fetch_link(&tampered).await.is_none(),
        "a link for another key is refused"
    );

    let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
    let stale = fx
        .store
        .signed_get_url_at(
            &key,
            Duration::from_secs(3600),
            "summary.txt",
            two_hours_ago,
        )
        .await
        .expect("sign");
    assert!(
        fx.fetch_link(&stale).await.is_none(),
        "an expired link is refused"
    );

    let err = fx
        .store
        .signed_get_url(&key, Duration::from_secs(8 * 24 * 3600), "x")
        .await;
    assert!(matches!(err, Err(StorageError::InvalidTtl(_))));
}

async fn large_round_trip(fx: &Fixture) {
    let key = new_key("model-output.bin");
    let put = fx
        .store
        .put_stream(
            &key,
            Generated::new(LARGE_BYTES, 42),
            "application/octet-stream",
            NO_CAP,
        )
        .await
        .expect("large put");
    let expected = Generated::expected(LARGE_BYTES, 42);
    assert_eq!((put.size_bytes, put.sha256), expected);
    let head = fx.store.head(&key).await.expect("head").expect("exists");
    assert_eq!(head.size_bytes, LARGE_BYTES);
    let got = fx.store.get_stream(&key).await.expect("get");
    assert_eq!(hash_body(got.body).await, expected);
}

async fn hostile_filename(fx: &Fixture) {
    let key = new_key("../../etc/pass\u{0}wd\u{202E}fdp.exe \u{7}");
    assert!(key.file_name().starts_with(".._.._etc_passwd"), "{key}");
    assert_eq!(key.as_str().split('/').count(), 4);
    assert!(!key.as_str().split('/').any(|segment| segment == ".."));
    fx.store
        .put_stream(&key, &b"safe"[..], "text/plain", NO_CAP)
        .await
        .expect("put");

    let unicode = new_key("résumé (final) #2?.pdf");
    fx.store
        .put_stream(&unicode, &b"pdf"[..], "application/pdf", NO_CAP)
        .await
        .expect("put");
    let url = fx
        .store
        .signed_get_url(&unicode, LINK_TTL, unicode.file_name())
        .await
        .expect("sign");
    assert_eq!(fx.fetch_link(&url).await.expect("link works").body, b"pdf");
}
