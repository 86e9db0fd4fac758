//! Claiming runs in batches: the claim's count of started runs reads the index made for it.

use antpath_db::lifecycle;
use antpath_types::RunId;
use sqlx::PgPool;

use crate::fixtures::{submit, tenant};

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_claims_count_of_started_runs_uses_its_index(pool: PgPool) {
    let tenant = tenant(&pool).await;
    submit(&pool, &tenant).await;
    // With sequential scans priced out, the plan shows which index the count can use.
    let mut conn = pool.acquire().await.expect("conn");
    sqlx::raw_sql("set enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .expect("set");
    let plan: Vec<String> = sqlx::query_scalar(
        "explain select x.workspace_id, count(*) from runs x
         where x.workspace_id = $1
           and x.status not in ('queued', 'succeeded', 'failed', 'timed_out', 'cancelled',
                                'pending_delete', 'deleted')
         group by x.workspace_id",
    )
    .bind(tenant.workspace.as_uuid())
    .fetch_all(&mut *conn)
    .await
    .expect("explain");
    let plan = plan.join("\n");
    assert!(plan.contains("runs_started_by_workspace"), "{plan}");
}

/// The claim starts a queued run itself (attempt 1, `provisioning`, its attempt row), so the
/// run shows as started one commit after its submission; a queued run already cancelled is
/// claimed but not started (its worker ends it without an attempt).
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_claim_starts_queued_runs_but_not_cancelled_ones(pool: PgPool) {
    let tenant = tenant(&pool).await;
    let started = submit(&pool, &tenant).await;
    let cancelled = submit(&pool, &tenant).await;
    sqlx::query("update runs set cancel_requested_at = now() where id = $1")
        .bind(cancelled.as_uuid())
        .execute(&pool)
        .await
        .expect("cancel");

    let claimed = lifecycle::claim_due(&pool, "w1", 2, 30.0)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);

    let row = |id: RunId| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (String, i32, i64)>(
                "select status, attempt_count,
                        (select count(*) from run_attempts a where a.run_id = r.id)
                 from runs r where id = $1",
            )
            .bind(id.as_uuid())
            .fetch_one(&pool)
            .await
            .expect("run")
        }
    };
    assert_eq!(row(started).await, ("provisioning".to_owned(), 1, 1));
    assert_eq!(row(cancelled).await, ("queued".to_owned(), 0, 0));
    // Claimed again after its lease ran out, a started run is not started twice.
    sqlx::query("update runs set lease_expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .expect("expire");
    lifecycle::claim_due(&pool, "w2", 2, 30.0)
        .await
        .expect("claim again");
    assert_eq!(row(started).await, ("provisioning".to_owned(), 1, 1));
}
