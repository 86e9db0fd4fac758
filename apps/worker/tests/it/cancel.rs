//! Cancellation at each phase, and the duration cap.

use std::collections::BTreeMap;
use std::time::Duration;

use antpath_types::{RunId, RunStatus};
use antpath_worker::FaultHook;
use sqlx::PgPool;

use crate::support::{Harness, eventually};

async fn cancel(h: &Harness, run: RunId) {
    sqlx::query("update runs set cancel_requested_at = now() where id = $1")
        .bind(run.as_uuid())
        .execute(&h.pool)
        .await
        .expect("cancel");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_run_cancelled_while_queued_ends_cancelled_without_provider_calls(pool: PgPool) {
    let h = Harness::new(pool).await;
    let run = h.submit("antpath-sim: scenario=happy").await;
    cancel(&h, run).await;
    let worker = h.start("w1", FaultHook::none());
    assert_eq!(h.wait_terminal(run).await, RunStatus::Cancelled);
    worker.shutdown().await;
    assert!(h.sim_resources().await.is_empty());
    assert_eq!(
        h.scalar_i64("select count(*) from run_secrets where run_id = $1", run)
            .await,
        0
    );
}

/// Stops a worker right after `point`, cancels, and lets a second worker finish.
async fn cancel_after(h: &Harness, point: &str, directive: &str) -> RunId {
    let hook = FaultHook::crash_once_at(point);
    let first = h.start("w1", hook.clone());
    let run = h.submit(directive).await;
    eventually(
        &format!("the crash at {point}"),
        Duration::from_secs(20),
        || async { hook.crashed() },
    )
    .await;
    first.shutdown().await;
    cancel(h, run).await;
    h.expire_leases().await;
    let second = h.start("w2", FaultHook::none());
    let status = h.wait_terminal(run).await;
    second.shutdown().await;
    assert_eq!(status, RunStatus::Cancelled, "cancelled after {point}");
    run
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_cancel_at_every_phase_ends_cancelled_with_nothing_left_live(pool: PgPool) {
    let h = Harness::new(pool).await;
    for point in [
        "created:environment",
        "phase:session",
        "phase:dispatch",
        "sent:prompt",
        "phase:observe",
    ] {
        cancel_after(&h, point, "antpath-sim: scenario=forever").await;
        assert!(
            h.live_resources().await.is_empty(),
            "after {point}: {:?}",
            h.live_resources().await
        );
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_running_session_is_interrupted_captured_and_cleaned_on_cancel(pool: PgPool) {
    let h = Harness::new(pool).await;
    let worker = h.start("w1", FaultHook::none());
    let run = h.submit("antpath-sim: scenario=forever").await;
    eventually("the session running", Duration::from_secs(20), || async {
        h.status(run).await == RunStatus::ProviderRunning
    })
    .await;
    cancel(&h, run).await;
    assert_eq!(h.wait_terminal(run).await, RunStatus::Cancelled);
    worker.shutdown().await;
    let class: Option<String> = sqlx::query_scalar("select error_class from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("class");
    assert_eq!(class.as_deref(), Some("cancelled_by_user"));
    assert!(h.live_resources().await.is_empty());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_run_past_its_duration_cap_is_interrupted_and_timed_out(pool: PgPool) {
    let h = Harness::new(pool).await;
    let worker = h.start("w1", FaultHook::none());
    let run = h
        .submit_with(
            h.workspace,
            h.template(),
            "antpath-sim: scenario=forever",
            "delete",
            BTreeMap::new(),
        )
        .await;
    sqlx::query("update runs set max_duration_seconds = 1 where id = $1")
        .bind(run.as_uuid())
        .execute(&h.pool)
        .await
        .expect("cap");
    assert_eq!(h.wait_terminal(run).await, RunStatus::TimedOut);
    worker.shutdown().await;
    assert!(h.live_resources().await.is_empty());
}
