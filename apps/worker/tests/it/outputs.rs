//! Outputs as the provider really lists them: nested, unicode, duplicate, empty, large,
//! not-downloadable and hostile names, and an uploaded input mounted into the session; on the
//! local store and on S3 (`s3s-fs`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use antpath_db::run_outputs;
use antpath_storage::{ObjectKey, ObjectStore, S3Store, S3StoreConfig, run_prefix};
use antpath_types::{RunId, RunStatus};
use antpath_worker::FaultHook;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::io::AsyncReadExt;

use crate::support::{Harness, eventually};

/// A key the simulator accepts for the test's own calls (not the run's canary key).
const TEST_KEY: &str = "sk-ant-test-outputs-1";

async fn run_to_end(h: &Harness, directive: &str) -> (RunId, RunStatus) {
    let worker = h.start("w1", FaultHook::none());
    let run = h.submit(directive).await;
    let status = h.wait_terminal(run).await;
    worker.shutdown().await;
    (run, status)
}

/// The simulator's own view of every file it listed: id → (filename, size, sha256,
/// downloadable).
async fn sim_files(h: &Harness) -> BTreeMap<String, Value> {
    h.sim_resources()
        .await
        .into_iter()
        .filter(|r| r["kind"] == "file")
        .map(|r| (r["id"].as_str().unwrap_or_default().to_owned(), r))
        .collect()
}

/// Streams an object out of the store, returning (size, sha256) without holding it whole.
async fn stored_digest(store: &ObjectStore, key: &str) -> (u64, String) {
    let key = ObjectKey::parse(key).expect("a valid key");
    let mut object = store.get_stream(&key).await.expect("stored");
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = object.body.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        size += n as u64;
        hash.update(&buf[..n]);
    }
    (size, hex::encode(hash.finalize()))
}

/// Every captured output matches the simulator's bytes, lies under the run's prefix and is
/// shown under the provider's name; returns the display names, sorted.
async fn check_captured(h: &Harness, run: RunId) -> Vec<String> {
    let files = sim_files(h).await;
    let rows: Vec<(String, String, String, i64, String)> = sqlx::query_as(
        "select provider_file_id, display_name, storage_key, size_bytes, sha256
           from output_objects where run_id = $1",
    )
    .bind(run.as_uuid())
    .fetch_all(&h.pool)
    .await
    .expect("outputs");
    let prefix = run_prefix(h.workspace, run);
    for (file_id, display, key, size, sha) in &rows {
        let listed = &files[file_id];
        assert_eq!(
            *display,
            antpath_db::storable::display_name(listed["filename"].as_str().expect("name"))
        );
        assert_eq!(listed["sha256"].as_str(), Some(sha.as_str()), "{display}");
        assert_eq!(listed["size_bytes"].as_i64(), Some(*size), "{display}");
        let parsed = ObjectKey::parse(key).expect("a traversal-free key");
        assert!(prefix.contains(&parsed), "{key} is outside {prefix:?}");
        assert_eq!(key.split('/').count(), 4, "one segment per level: {key}");
        let (stored_size, stored_sha) = stored_digest(&h.store, key).await;
        assert_eq!((stored_size, &stored_sha), (*size as u64, sha), "{display}");
    }
    let mut names: Vec<String> = rows.into_iter().map(|r| r.1).collect();
    names.sort();
    names
}

async fn skipped(h: &Harness, run: RunId) -> Vec<(String, String)> {
    sqlx::query_as(
        "select display_name, reason from output_capture_failures where run_id = $1 order by 1",
    )
    .bind(run.as_uuid())
    .fetch_all(&h.pool)
    .await
    .expect("capture records")
}

/// Every regular file under `root`, relative to it.
fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn nested_unicode_duplicate_and_empty_outputs_are_all_kept_under_their_own_names(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    let (run, status) = run_to_end(
        &h,
        "antpath-sim: scenario=happy files=0 outputs=nested,unicode,duplicates,empty,undownloadable",
    )
    .await;
    assert_eq!(status, RunStatus::Succeeded);
    assert_eq!(
        check_captured(&h, run).await,
        [
            "empty.txt",
            "notes.txt",
            "notes.txt",
            "reports/2026/q1.md",
            "résumé – 東京.txt"
        ]
    );
    let notes: Vec<String> = sqlx::query_scalar(
        "select sha256 from output_objects where run_id = $1 and display_name = 'notes.txt'",
    )
    .bind(run.as_uuid())
    .fetch_all(&h.pool)
    .await
    .expect("notes");
    assert_ne!(notes[0], notes[1], "two files, two contents");
    assert_eq!(
        skipped(&h, run).await,
        [("input.csv".to_owned(), "not_downloadable".to_owned())]
    );
    // The API view shows the provider's names.
    let view = run_outputs::list_outputs(&h.pool, h.workspace, run)
        .await
        .expect("view");
    assert!(view.iter().any(|o| o.display_name == "résumé – 東京.txt"));
    assert!(view.iter().any(|o| o.display_name == "reports/2026/q1.md"));
}

/// Peak resident memory of this process, in bytes (Linux `VmHWM`).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_large_output_is_streamed_through_and_its_hash_matches(pool: PgPool) {
    const SIZE: u64 = 48 << 20;
    let h = Harness::new(pool).await;
    let before = peak_rss();
    let (run, status) = run_to_end(
        &h,
        &format!("antpath-sim: scenario=happy files=0 outputs=large large={SIZE}"),
    )
    .await;
    assert_eq!(status, RunStatus::Succeeded);
    assert_eq!(check_captured(&h, run).await, ["large.bin"]);
    let size = h
        .scalar_i64(
            "select size_bytes from output_objects where run_id = $1",
            run,
        )
        .await;
    assert_eq!(size as u64, SIZE);
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        let grew = after.saturating_sub(before);
        eprintln!(
            "peak RSS grew by {} KiB for a {} KiB file",
            grew >> 10,
            SIZE >> 10
        );
        assert!(
            grew < SIZE / 2,
            "peak memory grew by {grew} bytes for {SIZE}"
        );
    }
}

async fn sim_call(h: &Harness, request: reqwest::RequestBuilder) -> Value {
    let response = request
        .header("x-api-key", TEST_KEY)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "managed-agents-2026-04-01")
        .send()
        .await
        .expect("sim");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert!(status.is_success(), "{status}: {body}");
    let _ = h;
    body
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_uploaded_input_mounted_into_the_session_is_listed_but_not_captured(pool: PgPool) {
    let h = Harness::new(pool).await;
    let base = h.sim.base_url();
    let worker = h.start("w1", FaultHook::none());
    let run = h
        .submit("antpath-sim: scenario=slow seconds=1.5 files=1 size=64")
        .await;
    let session_of = || async {
        sqlx::query_scalar::<_, Option<String>>(
            "select provider_session_id from runs where id = $1",
        )
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("run")
    };
    eventually("the session exists", Duration::from_secs(20), || async {
        session_of().await.is_some()
    })
    .await;
    let session = session_of().await.expect("a session");
    let boundary = "antpath-test-boundary";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"dir/data.csv\"\r\n\
         Content-Type: text/csv\r\n\r\na,b\n1,2\n\r\n--{boundary}--\r\n"
    );
    let upload = sim_call(
        &h,
        h.http
            .post(format!("{base}/v1/files"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(form),
    )
    .await;
    assert_eq!(
        upload["filename"], "data.csv",
        "only the last path component"
    );
    assert_eq!(upload["downloadable"], false);
    let mounted = sim_call(
        &h,
        h.http
            .post(format!("{base}/v1/sessions/{session}/resources"))
            .json(&json!({ "type": "file", "file_id": upload["id"] })),
    )
    .await;
    let status = h.wait_terminal(run).await;
    worker.shutdown().await;
    assert_eq!(status, RunStatus::Succeeded);
    assert_eq!(check_captured(&h, run).await, ["output-000.txt"]);
    assert_eq!(
        skipped(&h, run).await,
        [("data.csv".to_owned(), "not_downloadable".to_owned())]
    );
    let copy: String = sqlx::query_scalar(
        "select provider_file_id from output_capture_failures where run_id = $1",
    )
    .bind(run.as_uuid())
    .fetch_one(&h.pool)
    .await
    .expect("copy");
    assert_eq!(mounted["file_id"].as_str(), Some(copy.as_str()));
    assert_ne!(upload["id"].as_str(), Some(copy.as_str()));
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn hostile_names_are_stored_inside_the_run_prefix_of_the_local_store(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (run, status) = run_to_end(&h, "antpath-sim: scenario=happy files=0 outputs=hostile").await;
    assert_eq!(status, RunStatus::Succeeded);
    let names = check_captured(&h, run).await;
    assert_eq!(names.len(), 8);
    assert!(names.contains(&"../../etc/passwd".to_owned()));
    assert!(names.contains(&"nul\\u{0}byte.txt".to_owned()));
    assert!(skipped(&h, run).await.is_empty());
    let run_dir = format!("{}/{run}/", h.workspace);
    let on_disk = files_under(h._dir.path());
    assert_eq!(on_disk.len(), 8, "{on_disk:?}");
    for path in on_disk {
        assert!(path.starts_with(&run_dir), "{path} escaped {run_dir}");
        assert!(!path.split('/').any(|s| s == ".." || s == "."), "{path}");
    }
}

/// A running `s3s-fs` on a temp directory, killed on drop.
struct S3s {
    endpoint: String,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

async fn start_s3s() -> S3s {
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path().join("data");
    std::fs::create_dir(&root).expect("root");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let binary = std::env::var_os("ANTPATH_S3S_FS").unwrap_or_else(|| "s3s-fs".into());
    let child = tokio::process::Command::new(binary)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", "antpath-test-access"])
        .args(["--secret-key", "antpath-test-secret-key-0123456789"])
        .arg(&root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the S3 tests need s3s-fs (scripts/install-s3s-fs)");
    eventually(
        "s3s-fs accepts connections",
        Duration::from_secs(30),
        || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        },
    )
    .await;
    S3s {
        endpoint: format!("http://127.0.0.1:{port}"),
        _child: child,
        _dir: dir,
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn on_s3_every_output_kind_is_captured_inside_the_run_prefix(pool: PgPool) {
    let s3s = start_s3s().await;
    let mut h = Harness::new(pool).await;
    let store = S3Store::new(S3StoreConfig {
        endpoint: Some(s3s.endpoint.clone()),
        region: "us-east-1".to_owned(),
        bucket: "out".to_owned(),
        force_path_style: true,
        access_key_id: antpath_redact::Secret::new("antpath-test-access".to_owned()),
        secret_access_key: antpath_redact::Secret::new(
            "antpath-test-secret-key-0123456789".to_owned(),
        ),
    })
    .expect("S3 config");
    store.ensure_bucket().await.expect("bucket");
    h.store = ObjectStore::S3(store);
    let (run, status) = run_to_end(
        &h,
        "antpath-sim: scenario=happy files=0 \
         outputs=hostile,duplicates,unicode,nested,empty,undownloadable,large large=20971520",
    )
    .await;
    assert_eq!(status, RunStatus::Succeeded);
    let names = check_captured(&h, run).await;
    let not_captured: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select display_name, reason, message from output_capture_failures where run_id = $1",
    )
    .bind(run.as_uuid())
    .fetch_all(&h.pool)
    .await
    .expect("records");
    // `s3s-fs` keeps per-object metadata in a file named after the base64 of the key, which
    // passes the filesystem's 255-byte name limit for the 200-byte cut of the 300-byte name
    // (real S3 allows 1024-byte keys). That one file may be recorded as not stored; it is
    // never lost silently and never stored elsewhere.
    let (skips, others): (Vec<_>, Vec<_>) = not_captured
        .iter()
        .partition(|(_, reason, _)| reason == "not_downloadable");
    assert_eq!(skips.len(), 1, "{not_captured:?}");
    assert_eq!(names.len() + others.len(), 14, "{not_captured:?}");
    assert!(names.len() >= 13, "{not_captured:?}");
    assert!(
        others
            .iter()
            .all(|(name, _, _)| name.starts_with("xxxxxxxx")),
        "{not_captured:?}"
    );
    assert!(names.contains(&"large.bin".to_owned()));
    assert!(names.contains(&"empty.txt".to_owned()));
    assert_eq!(names.iter().filter(|n| *n == "notes.txt").count(), 2);
}
