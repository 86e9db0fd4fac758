//! Behaviour specific to the S3 store: configuration checks and the shape of presigned links.

use std::time::Duration;

use antpath_redact::Secret;
use antpath_storage::{ObjectStore, S3Store, S3StoreConfig, StorageError, output_key};
use antpath_types::{OutputId, RunId, WorkspaceId};

use crate::support::Fixture;

fn config() -> S3StoreConfig {
    S3StoreConfig {
        endpoint: Some("http://127.0.0.1:9".to_owned()),
        region: "us-east-1".to_owned(),
        bucket: "outputs".to_owned(),
        force_path_style: true,
        access_key_id: Secret::new("AKIDEXAMPLE".to_owned()),
        secret_access_key: Secret::new("very-secret-value".to_owned()),
    }
}

#[test]
fn an_unusable_s3_configuration_lists_every_problem() {
    let mut bad = config();
    bad.endpoint = Some("ftp://example".to_owned());
    bad.bucket.clear();
    bad.secret_access_key = Secret::new(String::new());
    let message = S3Store::new(bad).expect_err("invalid").to_string();
    for field in ["endpoint", "bucket", "secret_access_key"] {
        assert!(message.contains(field), "{field} missing from: {message}");
    }
}

#[test]
fn the_s3_configuration_never_prints_its_credentials() {
    let config = config();
    let printed = format!(
        "{config:?} {:?}",
        S3Store::new(config.clone()).expect("valid")
    );
    assert!(!printed.contains("very-secret-value"), "{printed}");
    assert!(!printed.contains("AKIDEXAMPLE"), "{printed}");
}

#[tokio::test]
async fn a_presigned_link_carries_its_lifetime_and_download_name() {
    let store = ObjectStore::S3(S3Store::new(config()).expect("valid"));
    let key = output_key(WorkspaceId::new(), RunId::new(), OutputId::new(), "a b.txt");
    let url = store
        .signed_get_url(&key, Duration::from_secs(300), "a b.txt")
        .await
        .expect("sign");
    assert!(url.starts_with("http://127.0.0.1:9/outputs/ws_"), "{url}");
    assert!(url.contains("X-Amz-Expires=300"), "{url}");
    assert!(
        url.contains("response-content-disposition=attachment"),
        "{url}"
    );
    assert!(!url.contains("very-secret-value"));
}

#[tokio::test]
async fn a_missing_object_on_s3_is_not_found_for_get_head_and_delete() {
    let fx = Fixture::s3().await;
    let key = output_key(
        WorkspaceId::new(),
        RunId::new(),
        OutputId::new(),
        "none.txt",
    );
    assert!(matches!(
        fx.store.get_stream(&key).await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(fx.store.head(&key).await.expect("head"), None);
    fx.store
        .delete(&key)
        .await
        .expect("delete of a missing object");
}

#[test]
fn a_storage_config_selects_its_backend_by_tag() {
    let s3: antpath_storage::StorageConfig = serde_json::from_value(serde_json::json!({
        "backend": "s3",
        "endpoint": "http://127.0.0.1:9000",
        "region": "us-east-1",
        "bucket": "outputs",
        "force_path_style": true,
        "access_key_id": "AKIDEXAMPLE",
        "secret_access_key": "very-secret-value",
    }))
    .expect("parses");
    assert!(matches!(s3.build().expect("valid"), ObjectStore::S3(_)));

    let dir = tempfile::tempdir().expect("temp dir");
    let local: antpath_storage::StorageConfig = serde_json::from_value(serde_json::json!({
        "backend": "local",
        "root": dir.path().join("objects"),
        "public_base_url": "https://antpath.example.com",
        "signing_key": "0123456789abcdef0123456789abcdef",
    }))
    .expect("parses");
    assert!(matches!(
        local.build().expect("valid"),
        ObjectStore::Local(_)
    ));
}
