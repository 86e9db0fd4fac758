//! The finisher writes several runs' closings in one statement: a closing whose lease is lost
//! writes nothing and is told so, and one that fails in the database is told its error alone;
//! the others commit.

use std::sync::Arc;

use antpath_db::closing::{AttemptsEnd, Closing};
use antpath_db::lifecycle::{self, Fence};
use antpath_types::{CleanupState, RunId};
use antpath_worker::error::StepError;
use antpath_worker::finisher::Finisher;
use sqlx::PgPool;

use crate::support::Harness;

/// A closing with nothing left on the provider, in cleanup round `round`.
fn closing(fence: Fence, round: i32) -> Closing {
    Closing {
        fence,
        round,
        actions: Vec::new(),
        state: CleanupState::Succeeded,
        attempts_end: AttemptsEnd::Succeeded,
    }
}

async fn phase(pool: &PgPool, run: RunId) -> String {
    sqlx::query_scalar("select phase from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(pool)
        .await
        .expect("phase")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_closing_whose_lease_is_lost_or_that_fails_is_told_alone_and_the_others_commit(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    for _ in 0..6 {
        h.submit("x").await;
    }
    let fences: Vec<Fence> = lifecycle::claim_due(&h.pool, "w", 6, 30.0)
        .await
        .expect("claim")
        .into_iter()
        .map(|c| Fence {
            run_id: c.run_id,
            token: c.token,
        })
        .collect();
    assert_eq!(fences.len(), 6);
    // Another replica took the third run over.
    let stolen = fences[2].run_id;
    sqlx::query("update runs set lease_token = gen_random_uuid() where id = $1")
        .bind(stolen.as_uuid())
        .execute(&h.pool)
        .await
        .expect("steal");

    let broken = fences[4];

    let finisher = Arc::new(Finisher::new(h.pool.clone()));
    let endings = fences.iter().map(|fence| {
        let finisher = Arc::clone(&finisher);
        let fence = *fence;
        // The fifth is refused by the database (rounds count from 1).
        let round = if fence == broken { 0 } else { 1 };
        tokio::spawn(async move { finisher.finish(closing(fence, round)).await })
    });
    let results = futures_util::future::join_all(endings).await;

    for (fence, result) in fences.iter().zip(results) {
        let result = result.expect("task");
        if fence.run_id == stolen {
            assert!(matches!(result, Err(StepError::LeaseLost)), "{result:?}");
            assert_eq!(phase(&h.pool, fence.run_id).await, "provision");
        } else if *fence == broken {
            assert!(matches!(result, Err(StepError::Db(_))), "{result:?}");
            assert_eq!(phase(&h.pool, fence.run_id).await, "provision");
        } else {
            assert!(result.is_ok(), "{result:?}");
            assert_eq!(phase(&h.pool, fence.run_id).await, "done");
        }
    }
}
