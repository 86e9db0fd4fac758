//! The run's lifecycle timeline (`run_phase_history`, written by statement-level triggers on
//! `runs`): one row per run whose phase, status or cleanup state a statement changed, none
//! for an update that changed none of them, and none left once the run is deleted.

use antpath_types::RunId;
use sqlx::PgPool;

use crate::fixtures::{submit, tenant};

/// The statuses the timeline shows for `run`, oldest first.
async fn timeline(pool: &PgPool, run: RunId) -> Vec<String> {
    sqlx::query_scalar("select status from run_phase_history where run_id = $1 order by id")
        .bind(run.as_uuid())
        .fetch_all(pool)
        .await
        .expect("timeline")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn one_statement_moving_many_runs_records_each_run_once(pool: PgPool) {
    let tenant = tenant(&pool).await;
    let (a, b, untouched) = (
        submit(&pool, &tenant).await,
        submit(&pool, &tenant).await,
        submit(&pool, &tenant).await,
    );
    sqlx::query("update runs set status = 'provisioning', attempt_count = 1 where id = any($1)")
        .bind(vec![a.as_uuid(), b.as_uuid()])
        .execute(&pool)
        .await
        .expect("move");
    // A write that changes none of the timeline's columns (a lease renewal, say) adds nothing.
    sqlx::query("update runs set updated_at = now(), next_check_at = now() where id = any($1)")
        .bind(vec![a.as_uuid(), b.as_uuid(), untouched.as_uuid()])
        .execute(&pool)
        .await
        .expect("touch");

    for run in [a, b] {
        assert_eq!(timeline(&pool, run).await, ["queued", "provisioning"]);
    }
    assert_eq!(timeline(&pool, untouched).await, ["queued"]);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_deleted_run_leaves_no_timeline_behind(pool: PgPool) {
    let tenant = tenant(&pool).await;
    let (gone, kept) = (submit(&pool, &tenant).await, submit(&pool, &tenant).await);
    sqlx::query("update runs set status = 'provisioning', attempt_count = 1 where id = $1")
        .bind(gone.as_uuid())
        .execute(&pool)
        .await
        .expect("move");
    sqlx::query("delete from runs where id = $1")
        .bind(gone.as_uuid())
        .execute(&pool)
        .await
        .expect("delete");

    assert!(
        timeline(&pool, gone).await.is_empty(),
        "the deleted run's timeline is gone"
    );
    assert_eq!(timeline(&pool, kept).await, ["queued"]);
}
