//! The finisher writes several runs' endings in one transaction, a savepoint each: an ending
//! whose lease is lost is rolled back alone and told so, the others commit.

use std::sync::Arc;

use antpath_db::lifecycle::{self, Fence};
use antpath_types::{CleanupState, RunId};
use antpath_worker::error::StepError;
use antpath_worker::finisher::{Ending, Finisher};
use futures_util::future::BoxFuture;
use sqlx::{PgConnection, PgPool};

use crate::support::Harness;

/// Ends one run's cleanup, fenced (the part of the cleanup step's ending that can be lost).
#[derive(Debug)]
struct EndCleanup(Fence);

impl Ending for EndCleanup {
    fn write<'a>(
        &'a self,
        tx: &'a mut PgConnection,
    ) -> BoxFuture<'a, antpath_worker::error::StepResult<()>> {
        Box::pin(async move {
            lifecycle::fence(&mut *tx, self.0).await?;
            lifecycle::finish(&mut *tx, self.0, CleanupState::Succeeded).await?;
            Ok(())
        })
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
async fn an_ending_whose_lease_is_lost_fails_alone_and_the_others_commit(pool: PgPool) {
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

    let finisher = Arc::new(Finisher::new(h.pool.clone()));
    let endings = fences.iter().map(|fence| {
        let finisher = Arc::clone(&finisher);
        let fence = *fence;
        tokio::spawn(async move { finisher.finish(Box::new(EndCleanup(fence))).await })
    });
    let results = futures_util::future::join_all(endings).await;

    for (fence, result) in fences.iter().zip(results) {
        let result = result.expect("task");
        if fence.run_id == stolen {
            assert!(matches!(result, Err(StepError::LeaseLost)), "{result:?}");
            assert_eq!(phase(&h.pool, fence.run_id).await, "provision");
        } else {
            assert!(result.is_ok(), "{result:?}");
            assert_eq!(phase(&h.pool, fence.run_id).await, "done");
        }
    }
}
