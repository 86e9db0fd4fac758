//! Purging deleted runs: once a run is finished (`phase = 'done'`) its deletion goes ahead
//! whatever became of its cleanup.

use antpath_types::RunId;
use sqlx::PgPool;

use crate::fixtures::{count, output, place, request_run_delete, run, status, tenant, used_bytes};

async fn cleanup_state(pool: &PgPool, run: RunId, state: &str) {
    sqlx::query("update runs set cleanup_state = $2 where id = $1")
        .bind(run.as_uuid())
        .bind(state)
        .execute(pool)
        .await
        .expect("cleanup state");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_deleted_run_whose_cleanup_was_abandoned_is_purged_with_its_objects(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let store = crate::store(&dir);
    let tenant = tenant(&pool).await;
    let abandoned = run(&pool, &tenant).await;
    let key = output(&pool, &store, &tenant, abandoned, b"report").await;
    // The worker gave up on the provider side: the run is finished, its cleanup abandoned.
    place(&pool, abandoned, "failed", "done").await;
    cleanup_state(&pool, abandoned, "abandoned").await;
    request_run_delete(&pool, abandoned).await;
    assert_eq!(used_bytes(&pool, tenant.workspace).await, 6);

    let report = antpath_sweeper::sweep_once(&pool, &store, 10)
        .await
        .expect("sweep");

    assert_eq!(report.runs_purged, 1, "{report}");
    assert_eq!(report.run_bytes_purged, 6, "{report}");
    assert_eq!(status(&pool, abandoned).await, "deleted");
    assert!(
        store.head(&key).await.expect("head").is_none(),
        "object gone"
    );
    assert_eq!(used_bytes(&pool, tenant.workspace).await, 0);
    let id = abandoned.as_uuid();
    assert_eq!(count(&pool, "output_objects", "run_id", id).await, 0);
    assert_eq!(
        count(&pool, "run_secrets", "run_id", id).await,
        0,
        "secrets go with it"
    );
    assert_eq!(
        antpath_sweeper::sweep_once(&pool, &store, 10)
            .await
            .expect("again")
            .runs_purged,
        0
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_deleted_run_still_being_cleaned_up_is_left_to_its_worker(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let store = crate::store(&dir);
    let tenant = tenant(&pool).await;
    let busy = run(&pool, &tenant).await;
    let key = output(&pool, &store, &tenant, busy, b"report").await;
    place(&pool, busy, "cancelled", "cleanup").await;
    cleanup_state(&pool, busy, "retrying").await;
    request_run_delete(&pool, busy).await;

    let report = antpath_sweeper::sweep_once(&pool, &store, 10)
        .await
        .expect("sweep");

    assert_eq!(report.runs_purged, 0, "{report}");
    assert_ne!(status(&pool, busy).await, "deleted");
    assert!(store.head(&key).await.expect("head").is_some());
    assert_eq!(used_bytes(&pool, tenant.workspace).await, 6);
}
