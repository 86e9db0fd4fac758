//! The shared provider throttle under a crowd: many runs on one key that allows only a few
//! reads a second queue for their turns instead of re-stepping on every refill tick (found by
//! the scale proof: 9,311 Postgres transactions per run when a hot key was shared).

use std::time::Duration;

use antpath_worker::FaultHook;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::support::Harness;

/// Commits and rollbacks of the test's database so far, read once every other connection is
/// gone (a backend flushes its statistics when it exits).
async fn transactions(h: &Harness) -> i64 {
    let options = h.pool.connect_options();
    h.pool.close().await;
    let probe = PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*options).clone())
        .await
        .expect("probe");
    let mut last = -1;
    for _ in 0..50 {
        sqlx::query("select pg_stat_clear_snapshot()")
            .execute(&probe)
            .await
            .expect("clear");
        let now: i64 = sqlx::query_scalar(
            "select (xact_commit + xact_rollback)::bigint from pg_stat_database
             where datname = current_database()",
        )
        .fetch_one(&probe)
        .await
        .expect("stats");
        if now == last {
            return now;
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    last
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn runs_crowding_one_throttled_key_wait_in_turn_without_spinning(pool: PgPool) {
    let h = Harness::new(pool).await;
    let mut config = h.config("w1");
    // Eight runs on one key allowed 4 reads a second: they must queue.
    config.limits.provider_reads_per_second = 4;
    let worker = h.start_with(config, FaultHook::none());
    let mut runs = Vec::new();
    for n in 0..8 {
        runs.push(
            h.submit(&format!("antpath-sim: scenario=happy files=1 n={n}"))
                .await,
        );
    }
    // One query a second for all of them, so the test's own transactions stay few and known.
    let ids: Vec<uuid::Uuid> = runs.iter().map(|r| r.as_uuid()).collect();
    let mut own = 0;
    let mut finished = false;
    for _ in 0..90 {
        own += 1;
        let done: i64 = sqlx::query_scalar(
            "select count(*) from runs where id = any($1) and phase = 'done' and status = 'succeeded'",
        )
        .bind(&ids)
        .fetch_one(&h.pool)
        .await
        .expect("done");
        if done == ids.len() as i64 {
            finished = true;
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    worker.shutdown().await;
    assert!(finished, "the crowd did not finish within 90 s");
    let per_run = (transactions(&h).await - own) as f64 / runs.len() as f64;
    // Here a happy run takes about 85 on an unthrottled key and 98 on this one; re-stepping on
    // every refill tick took thousands and starved the crowd.
    assert!(
        per_run < 150.0,
        "{per_run:.0} Postgres transactions per run"
    );
}
