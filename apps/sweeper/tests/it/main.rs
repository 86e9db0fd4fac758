//! Integration tests of the sweeper's passes against real Postgres and a real local store.

mod binary;
mod drift;
mod fixtures;
mod purge;
mod race;
mod workspace_deletion;

use antpath_redact::Secret;
use antpath_storage::{LocalStore, LocalStoreConfig, ObjectStore, output_key};
use antpath_types::{OutputId, RunId, WorkspaceId};
use sqlx::PgPool;

/// A workspace with one queued run holding a sealed secrets bundle.
async fn seed(pool: &PgPool) -> (WorkspaceId, RunId) {
    let tenant = fixtures::tenant(pool).await;
    let run = fixtures::run(pool, &tenant).await;
    (tenant.workspace, run)
}

fn store(dir: &tempfile::TempDir) -> ObjectStore {
    ObjectStore::Local(
        LocalStore::new(LocalStoreConfig {
            root: dir.path().to_owned(),
            public_base_url: "http://localhost:8080".into(),
            signing_key: Secret::new("k".repeat(32)),
        })
        .expect("store"),
    )
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_deleted_runs_outputs_are_purged_and_its_bytes_given_back(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir);
    let (ws, run) = seed(&pool).await;
    let output = OutputId::new();
    let key = output_key(ws, run, output, "a.txt");
    store
        .put_stream(&key, &b"hello"[..], "text/plain", 100)
        .await
        .expect("put");
    sqlx::query("insert into output_objects (id, run_id, workspace_id, provider_file_id, filename, display_name, storage_key, size_bytes, sha256) values ($1, $2, $3, 'file_1', 'a.txt', 'a.txt', $4, 5, repeat('0', 64))")
        .bind(output.as_uuid()).bind(run.as_uuid()).bind(ws.as_uuid()).bind(key.as_str())
        .execute(&pool).await.expect("output");
    sqlx::query("update workspaces set storage_used_bytes = 5 where id = $1")
        .bind(ws.as_uuid())
        .execute(&pool)
        .await
        .expect("used");
    sqlx::query("update runs set status = 'succeeded', cleanup_state = 'succeeded', phase = 'done', pending_delete_at = now() where id = $1")
        .bind(run.as_uuid()).execute(&pool).await.expect("delete request");

    let report = antpath_sweeper::sweep_once(&pool, &store, 10)
        .await
        .expect("sweep");
    assert_eq!(report.runs_purged, 1);
    let status: String = sqlx::query_scalar("select status from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(&pool)
        .await
        .expect("status");
    assert_eq!(status, "deleted");
    let used: i64 = sqlx::query_scalar("select storage_used_bytes from workspaces where id = $1")
        .bind(ws.as_uuid())
        .fetch_one(&pool)
        .await
        .expect("used");
    assert_eq!(used, 0);
    assert!(store.head(&key).await.expect("head").is_none());
    assert_eq!(
        antpath_sweeper::sweep_once(&pool, &store, 10)
            .await
            .expect("again")
            .runs_purged,
        0
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn expired_leases_are_cleared(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir);
    let (_, run) = seed(&pool).await;
    sqlx::query("update runs set status = 'provisioning', lease_owner = 'dead', lease_token = gen_random_uuid(), lease_expires_at = now() - interval '1 minute' where id = $1")
        .bind(run.as_uuid()).execute(&pool).await.expect("stale");
    let report = antpath_sweeper::sweep_once(&pool, &store, 10)
        .await
        .expect("sweep");
    assert_eq!(report.leases_expired, 1);
    let owner: Option<String> = sqlx::query_scalar("select lease_owner from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(&pool)
        .await
        .expect("owner");
    assert!(owner.is_none());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_finished_run_that_still_holds_its_secrets_loses_them(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir);
    let (_, cleaning) = seed(&pool).await;
    let (_, finished) = seed(&pool).await;
    sqlx::query("update runs set status = 'succeeded', phase = 'cleanup', cleanup_state = 'retrying' where id = $1")
        .bind(cleaning.as_uuid())
        .execute(&pool)
        .await
        .expect("cleaning");
    sqlx::query("update runs set status = 'failed', phase = 'done', cleanup_state = 'abandoned' where id = $1")
        .bind(finished.as_uuid())
        .execute(&pool)
        .await
        .expect("finished");

    let report = antpath_sweeper::sweep_once(&pool, &store, 10)
        .await
        .expect("sweep");
    assert_eq!(report.secrets_destroyed, 1);
    let holds_secret = |run: RunId| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "select execution_secret_id is not null from runs where id = $1",
            )
            .bind(run.as_uuid())
            .fetch_one(&pool)
            .await
            .expect("run")
        }
    };
    assert!(
        holds_secret(cleaning).await,
        "a cleanup still retrying needs the key"
    );
    assert!(!holds_secret(finished).await);
}

/// A bff replica that died leaves its run-feed watches behind; once they are ten minutes
/// without renewal the sweeper deletes them, and leaves a live replica's alone.
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn watches_a_gone_replica_left_are_deleted_and_live_ones_kept(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir);
    let (_, run) = seed(&pool).await;
    let (gone, live) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    sqlx::query(
        "insert into run_watches (run_id, topic, replica, renewed_at)
         values ($1, $2, $2, now() - interval '11 minutes'),
                ($1, $3, $3, now() - interval '9 minutes')",
    )
    .bind(run.as_uuid())
    .bind(gone)
    .bind(live)
    .execute(&pool)
    .await
    .expect("watches");

    let report = antpath_sweeper::sweep_once(&pool, &store, 10)
        .await
        .expect("sweep");
    assert_eq!(report.watches_expired, 1);
    let left: Vec<uuid::Uuid> = sqlx::query_scalar("select replica from run_watches")
        .fetch_all(&pool)
        .await
        .expect("left");
    assert_eq!(left, vec![live]);
}
