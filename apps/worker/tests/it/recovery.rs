//! Crash recovery: a worker killed between any two lifecycle steps (or right after a provider
//! create returned, before its id was recorded) is replaced by another that finishes the run
//! with no duplicate provider resource.

use std::time::Duration;

use antpath_types::RunStatus;
use antpath_worker::FaultHook;
use sqlx::PgPool;

use crate::support::{Harness, eventually};

const POINTS: [&str; 10] = [
    "created:environment",
    "created:agent",
    "phase:session",
    "created:session",
    "phase:dispatch",
    "sent:prompt",
    "phase:observe",
    "phase:capture",
    "captured:file",
    "phase:cleanup",
];

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_crash_between_any_two_steps_is_finished_by_another_worker_without_duplicates(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    for (index, point) in POINTS.iter().enumerate() {
        let hook = FaultHook::crash_once_at(point);
        let first = h.start("w1", hook.clone());
        let run = h
            .submit("antpath-sim: scenario=happy files=2 size=128")
            .await;
        eventually(
            &format!("the crash at {point}"),
            Duration::from_secs(20),
            || async { hook.crashed() },
        )
        .await;
        first.shutdown().await;
        h.expire_leases().await;
        let second = h.start("w2", FaultHook::none());
        assert_eq!(
            h.wait_terminal(run).await,
            RunStatus::Succeeded,
            "after a crash at {point}"
        );
        second.shutdown().await;

        let runs = index + 1;
        let counts = h.create_counts().await;
        for kind in ["environments", "agents", "sessions"] {
            assert_eq!(
                counts.get(kind).copied().unwrap_or(0),
                runs,
                "{kind} after {point}: {counts:?}"
            );
        }
        assert_eq!(
            counts.get("events").copied().unwrap_or(0),
            runs,
            "prompts after {point}"
        );
        let outputs = h
            .scalar_i64("select count(*) from output_objects where run_id = $1", run)
            .await;
        assert_eq!(outputs, 2, "outputs after {point}");
        let used = h.scalar_i64("select sum(size_bytes)::bigint from output_objects where workspace_id = (select workspace_id from runs where id = $1)", run).await;
        let counted = h.scalar_i64("select storage_used_bytes from workspaces where id = (select workspace_id from runs where id = $1)", run).await;
        assert_eq!(used, counted, "storage counted once after {point}");
        assert!(
            h.live_resources().await.is_empty(),
            "after {point}: {:?}",
            h.live_resources().await
        );
    }
}
