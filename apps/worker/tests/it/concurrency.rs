//! Leases under contention: one holder per run, fairness and caps, and stale holders fenced off.

use std::collections::BTreeSet;
use std::sync::Arc;

use antpath_db::lifecycle::{self, Advance, Fence};
use antpath_db::{DbError, observation};
use antpath_types::RunStatus;
use antpath_worker::FaultHook;
use sqlx::PgPool;
use tokio::sync::Barrier;

use crate::support::Harness;

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn racing_claimers_never_lease_one_run_twice(pool: PgPool) {
    let h = Harness::new(pool).await;
    for _ in 0..40 {
        h.submit("x").await;
    }
    const CLAIMERS: usize = 8;
    let barrier = Arc::new(Barrier::new(CLAIMERS));
    let mut tasks = Vec::new();
    for i in 0..CLAIMERS {
        let pool = h.pool.clone();
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            // Skipped (locked) rows make a round come back short; claim until nothing is left.
            let mut mine = Vec::new();
            loop {
                let got = lifecycle::claim_due(&pool, &format!("c{i}"), 5, 30.0)
                    .await
                    .expect("claim");
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got);
            }
        }));
    }
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for task in tasks {
        for claimed in task.await.expect("task") {
            total += 1;
            assert!(
                seen.insert(claimed.run_id),
                "{} claimed twice",
                claimed.run_id
            );
        }
    }
    assert_eq!(total, 40);
    assert!(
        lifecycle::claim_due(&h.pool, "late", 10, 30.0)
            .await
            .expect("claim")
            .is_empty()
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn claims_are_fair_across_workspaces_and_honour_active_run_caps(pool: PgPool) {
    let h = Harness::new(pool).await;
    let capped = h.another_workspace(1).await;
    for _ in 0..10 {
        h.submit("x").await;
    }
    let mut small = Vec::new();
    for _ in 0..3 {
        small.push(
            h.submit_with(capped, h.template(), "x", "delete", Default::default())
                .await,
        );
    }
    let claimed = lifecycle::claim_due(&h.pool, "c", 4, 30.0)
        .await
        .expect("claim");
    let from_capped = claimed.iter().filter(|c| small.contains(&c.run_id)).count();
    assert_eq!(claimed.len(), 4);
    assert_eq!(
        from_capped, 1,
        "the capped workspace starts one run, and is not starved"
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_stale_lease_holders_writes_are_rejected(pool: PgPool) {
    let h = Harness::new(pool).await;
    let run = h.submit("x").await;
    let stale = lifecycle::claim_due(&h.pool, "a", 1, 30.0)
        .await
        .expect("claim")[0];
    h.expire_leases().await;
    let fresh = lifecycle::claim_due(&h.pool, "b", 1, 30.0)
        .await
        .expect("claim")[0];
    assert_eq!(stale.run_id, fresh.run_id);
    let old = Fence {
        run_id: run,
        token: stale.token,
    };
    let advance = Advance {
        status: RunStatus::Provisioning,
        phase: antpath_types::Phase::Session,
        delay_seconds: 0.0,
        release: true,
    };
    assert!(matches!(
        lifecycle::advance(&h.pool, old, advance).await,
        Err(DbError::LeaseLost)
    ));
    assert!(
        lifecycle::renew(&h.pool, old, 30.0)
            .await
            .expect("renew")
            .is_none()
    );
    assert!(matches!(
        lifecycle::load(&h.pool, old).await,
        Err(DbError::LeaseLost)
    ));
    let mut tx = h.pool.begin().await.expect("begin");
    assert!(matches!(
        lifecycle::fence(&mut tx, old).await,
        Err(DbError::LeaseLost)
    ));
    let progress = observation::Progress {
        status: RunStatus::ProviderRunning,
        cursor: None,
        poll_interval_ms: 1,
        delay_seconds: 0.0,
    };
    assert!(matches!(
        observation::save_progress(&mut tx, old, progress).await,
        Err(DbError::LeaseLost)
    ));
    drop(tx);
    let new = Fence {
        run_id: run,
        token: fresh.token,
    };
    lifecycle::advance(
        &h.pool,
        new,
        Advance {
            status: RunStatus::Provisioning,
            phase: antpath_types::Phase::Provision,
            delay_seconds: 0.0,
            release: false,
        },
    )
    .await
    .expect("the current holder writes");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn many_workers_finish_many_runs_each_exactly_once(pool: PgPool) {
    let h = Harness::new(pool).await;
    let workers: Vec<_> = (0..4)
        .map(|i| h.start(&format!("w{i}"), FaultHook::none()))
        .collect();
    let mut runs = Vec::new();
    for _ in 0..16 {
        runs.push(
            h.submit("antpath-sim: scenario=happy files=1 size=64")
                .await,
        );
    }
    for run in &runs {
        assert_eq!(h.wait_terminal(*run).await, RunStatus::Succeeded);
    }
    for worker in workers {
        worker.shutdown().await;
    }
    let counts = h.create_counts().await;
    for kind in ["environments", "agents", "sessions", "events"] {
        assert_eq!(
            counts.get(kind).copied().unwrap_or(0),
            runs.len(),
            "{kind}: {counts:?}"
        );
    }
    assert!(h.live_resources().await.is_empty());
}
