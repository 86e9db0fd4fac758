//! Unique constraints hold when many connections insert at once.

use std::sync::Arc;

use antpath_db::DbError;
use antpath_db::events::{NewEvent, insert_attempt, insert_event_once};
use antpath_db::runs::{Inserted, insert_idempotent};
use antpath_types::{AttemptId, RunId};
use sqlx::PgPool;
use tokio::sync::Barrier;

use crate::fixtures::{new_run, sealed, tenant};

/// Concurrent inserters; within the test pool's connection limit.
const RACERS: usize = 8;

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn concurrent_submissions_with_one_idempotency_key_create_exactly_one_run(pool: PgPool) {
    let tenant = Arc::new(tenant(&pool).await);
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut handles = Vec::new();
    for _ in 0..RACERS {
        let (pool, tenant, barrier) = (pool.clone(), Arc::clone(&tenant), Arc::clone(&barrier));
        handles.push(tokio::spawn(async move {
            // Wait first, then open the transaction: the pool may hold fewer connections than
            // there are racers, and a racer must not hold one while it waits.
            barrier.wait().await;
            let mut tx = pool.begin().await.expect("begin");
            let run = new_run(&tenant, Some("key-1"), "hash-a");
            let outcome = insert_idempotent(&mut tx, &run, &sealed())
                .await
                .expect("insert");
            tx.commit().await.expect("commit");
            outcome
        }));
    }
    let mut created = Vec::new();
    let mut existing = Vec::new();
    for handle in handles {
        match handle.await.expect("task") {
            Inserted::Created(id) => created.push(id),
            Inserted::Existing(id) => existing.push(id),
        }
    }
    assert_eq!(created.len(), 1, "exactly one submission creates the run");
    assert!(
        existing.iter().all(|id| *id == created[0]),
        "the others see the same run"
    );
    let runs: i64 = sqlx::query_scalar("select count(*) from runs")
        .fetch_one(&pool)
        .await
        .expect("count");
    let secrets: i64 = sqlx::query_scalar("select count(*) from run_secrets")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(
        (runs, secrets),
        (1, 1),
        "losers leave no secrets row behind"
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn reusing_an_idempotency_key_for_a_different_request_is_a_conflict(pool: PgPool) {
    let tenant = tenant(&pool).await;
    let mut tx = pool.begin().await.expect("begin");
    insert_idempotent(&mut tx, &new_run(&tenant, Some("k"), "hash-a"), &sealed())
        .await
        .expect("first");
    tx.commit().await.expect("commit");

    let mut tx = pool.begin().await.expect("begin");
    let err = insert_idempotent(&mut tx, &new_run(&tenant, Some("k"), "hash-b"), &sealed())
        .await
        .expect_err("different request");
    assert!(matches!(err, DbError::IdempotencyConflict), "{err:?}");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_same_key_in_two_workspaces_names_two_runs(pool: PgPool) {
    let (a, b) = (tenant(&pool).await, tenant(&pool).await);
    for tenant in [&a, &b] {
        let mut tx = pool.begin().await.expect("begin");
        let outcome = insert_idempotent(&mut tx, &new_run(tenant, Some("k"), "h"), &sealed())
            .await
            .expect("insert");
        assert!(matches!(outcome, Inserted::Created(_)));
        tx.commit().await.expect("commit");
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_provider_event_seen_by_many_observers_is_stored_once(pool: PgPool) {
    let tenant = Arc::new(tenant(&pool).await);
    let mut tx = pool.begin().await.expect("begin");
    let run = new_run(&tenant, None, "h");
    let Inserted::Created(run_id) = insert_idempotent(&mut tx, &run, &sealed())
        .await
        .expect("run")
    else {
        panic!("expected a new run");
    };
    tx.commit().await.expect("commit");
    let attempt = AttemptId::new();
    insert_attempt(&pool, attempt, run_id, 1)
        .await
        .expect("attempt");

    let barrier = Arc::new(Barrier::new(RACERS));
    let mut handles = Vec::new();
    for _ in 0..RACERS {
        let (pool, tenant, barrier) = (pool.clone(), Arc::clone(&tenant), Arc::clone(&barrier));
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            insert_event_once(&pool, &event(run_id, attempt, tenant.workspace))
                .await
                .expect("insert")
        }));
    }
    let mut stored = 0;
    for handle in handles {
        stored += usize::from(handle.await.expect("task").is_some());
    }
    assert_eq!(stored, 1);
    let rows: i64 = sqlx::query_scalar("select count(*) from run_events")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(rows, 1);
}

fn event(
    run_id: RunId,
    attempt_id: AttemptId,
    workspace_id: antpath_types::WorkspaceId,
) -> NewEvent<'static> {
    NewEvent {
        run_id,
        attempt_id,
        workspace_id,
        provider_event_id: "sevt_0001",
        event_type: "session.status_idle",
        processed_at: None,
        summary: serde_json::json!({"stop_reason": "end_turn"}),
    }
}
