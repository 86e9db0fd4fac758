//! Two sweepers started at the same instant purge every deleted run and every deleted
//! workspace exactly once, and repair a drifted counter once.

use antpath_db::workspace_deletion::{self, Requester};
use antpath_sweeper::Report;
use sqlx::PgPool;
use tokio::sync::Barrier;

use crate::fixtures::{output, place, request_run_delete, run, set_used_bytes, tenant, used_bytes};

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn two_racing_sweepers_never_purge_or_repair_anything_twice(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let store = crate::store(&dir);

    let runs_owner = tenant(&pool).await;
    let mut deleted_runs = Vec::new();
    for _ in 0..6 {
        let run = run(&pool, &runs_owner).await;
        output(&pool, &store, &runs_owner, run, b"12345").await;
        place(&pool, run, "succeeded", "done").await;
        request_run_delete(&pool, run).await;
        deleted_runs.push(run);
    }

    let leaving = tenant(&pool).await;
    for _ in 0..4 {
        let run = run(&pool, &leaving).await;
        output(&pool, &store, &leaving, run, b"abc").await;
        place(&pool, run, "succeeded", "done").await;
    }
    let mut tx = pool.begin().await.expect("begin");
    workspace_deletion::request(&mut tx, leaving.workspace, Requester::Operator)
        .await
        .expect("request");
    tx.commit().await.expect("commit");

    let drifted = tenant(&pool).await;
    set_used_bytes(&pool, drifted.workspace, 77).await;

    // Batches of two make each pass leave work for the next, so the sweepers meet over the
    // same rows round after round until a round finds nothing left.
    let barrier = Barrier::new(2);
    let racer = || async {
        barrier.wait().await;
        antpath_sweeper::sweep_once(&pool, &store, 2).await
    };
    let mut total = Report::default();
    let mut quiet = false;
    for _ in 0..10 {
        let (first, second) = tokio::join!(racer(), racer());
        let mut round = first.expect("first sweeper");
        round.add(&second.expect("second sweeper"));
        total.add(&round);
        if round.runs_purged + round.workspace_runs_purged + round.workspaces_deleted == 0 {
            quiet = true;
            break;
        }
    }
    assert!(
        quiet,
        "the sweepers were still purging after ten rounds: {total}"
    );

    assert_eq!(total.runs_purged, 6, "{total}");
    assert_eq!(total.run_bytes_purged, 30, "{total}");
    assert_eq!(total.workspaces_deleted, 1, "{total}");
    assert_eq!(total.workspace_runs_purged, 4, "{total}");
    assert_eq!(total.workspace_bytes_purged, 12, "{total}");
    assert_eq!(total.storage_drift_workspaces, 1, "{total}");
    assert_eq!(total.storage_drift_bytes, 77, "{total}");
    assert_eq!(used_bytes(&pool, runs_owner.workspace).await, 0);
    assert_eq!(used_bytes(&pool, drifted.workspace).await, 0);
    let completions: i64 = sqlx::query_scalar(
        "select count(*) from audit_logs where action = 'workspace.delete_completed'",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(completions, 1);
    let purged_secrets: i64 = sqlx::query_scalar(
        "select count(*) from cleanup_attempts where action = 'destroy_secrets'",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(
        purged_secrets, 6,
        "each purged run's secrets destroyed once"
    );
}
