//! The storage-accounting repair: a counter that drifted from the output rows is set right and
//! the drift is counted.

use sqlx::PgPool;

use crate::fixtures::{output, run, set_used_bytes, tenant, used_bytes};

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_drifted_storage_counter_is_recomputed_from_the_outputs_and_the_drift_counted(
    pool: PgPool,
) {
    let dir = tempfile::tempdir().expect("dir");
    let store = crate::store(&dir);
    let over = tenant(&pool).await;
    let under = tenant(&pool).await;
    let right = tenant(&pool).await;
    for (tenant, body) in [
        (&over, &b"hello"[..]),
        (&over, b"again!!"),
        (&under, b"abc"),
    ] {
        let run = run(&pool, tenant).await;
        output(&pool, &store, tenant, run, body).await;
    }
    let run_right = run(&pool, &right).await;
    output(&pool, &store, &right, run_right, b"fine").await;
    set_used_bytes(&pool, over.workspace, 100).await;
    set_used_bytes(&pool, under.workspace, 0).await;

    let report = antpath_sweeper::sweep_once(&pool, &store, 2)
        .await
        .expect("sweep");

    assert_eq!(report.storage_drift_workspaces, 2, "{report}");
    assert_eq!(report.storage_drift_bytes, (100 - 12) + 3, "{report}");
    assert_eq!(used_bytes(&pool, over.workspace).await, 12);
    assert_eq!(used_bytes(&pool, under.workspace).await, 3);
    assert_eq!(used_bytes(&pool, right.workspace).await, 4);
    let again = antpath_sweeper::sweep_once(&pool, &store, 2)
        .await
        .expect("sweep again");
    assert_eq!(again.storage_drift_workspaces, 0, "{again}");
    assert_eq!(again.storage_drift_bytes, 0, "{again}");
}
