//! Admission: the active-run counts stay cheap when many runs of the workspace have ended
//! since the last vacuum, and the durable read-back returns only after the admission's
//! unflushed commit is on disk.

use std::time::{Duration, Instant};

use antpath_db::runs::insert_idempotent;
use sqlx::PgPool;

use crate::fixtures::{new_run, sealed, tenant};

/// Runs that end before the counts are read; enough that visiting each one's page on every
/// count shows.
const ENDED: usize = 1_500;

/// Heap pages of `runs` this transaction has read so far.
async fn pages_read(tx: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar("select pg_stat_get_xact_blocks_fetched('runs'::regclass)")
        .fetch_one(&mut *tx)
        .await
        .expect("pages")
}

async fn counts(tx: &mut sqlx::PgConnection, tenant: &crate::fixtures::Tenant) -> (i64, i64) {
    sqlx::query_as(
        "select workspace_active, token_active from lock_workspace_and_count_active($1, $2)",
    )
    .bind(tenant.workspace.as_uuid())
    .bind(tenant.token.as_uuid())
    .fetch_one(&mut *tx)
    .await
    .expect("counts")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_active_counts_skip_ended_runs_after_seeing_them_once(pool: PgPool) {
    let tenant = tenant(&pool).await;
    let mut tx = pool.begin().await.expect("begin");
    for _ in 0..ENDED {
        insert_idempotent(&mut tx, &new_run(&tenant, None, "h"), &sealed())
            .await
            .expect("insert");
    }
    tx.commit().await.expect("commit");
    // Statistics taken while they were active, as autovacuum's last analyze of a busy
    // workspace leaves them: the planner expects many active runs.
    sqlx::query("analyze runs")
        .execute(&pool)
        .await
        .expect("analyze");
    sqlx::query("update runs set status = 'succeeded', phase = 'done', ended_at = now()")
        .execute(&pool)
        .await
        .expect("end them");
    let live = new_run(&tenant, None, "h");
    let mut tx = pool.begin().await.expect("begin");
    insert_idempotent(&mut tx, &live, &sealed())
        .await
        .expect("insert");
    tx.commit().await.expect("commit");

    // An entry can be marked dead only once no transaction anywhere in the cluster might still
    // see its row (other tests run beside this one), so give that a few seconds; a bitmap scan
    // never gets there.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut tx = pool.begin().await.expect("begin");
        assert_eq!(
            counts(&mut tx, &tenant).await,
            (1, 1),
            "only the live run is active"
        );
        let before = pages_read(&mut tx).await;
        assert_eq!(counts(&mut tx, &tenant).await, (1, 1));
        let again = pages_read(&mut tx).await - before;
        tx.commit().await.expect("commit");
        if again < 20 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a count still read {again} pages of runs after 10 s; the ended runs' index \
             entries should have been marked dead by an earlier count"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The WAL position the server has written up to and the one it has flushed to disk.
async fn wal_positions(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "select (pg_current_wal_insert_lsn() - '0/0')::int8, (pg_current_wal_flush_lsn() - '0/0')::int8",
    )
    .fetch_one(pool)
    .await
    .expect("wal positions")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_durable_read_back_returns_after_the_admission_is_flushed(pool: PgPool) {
    let tenant = tenant(&pool).await;
    let run = new_run(&tenant, None, "h");
    // Committed as the admission commits: without waiting for its flush.
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("set local synchronous_commit = off")
        .execute(&mut *tx)
        .await
        .expect("async commit");
    insert_idempotent(&mut tx, &run, &sealed())
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    let (written, _) = wal_positions(&pool).await;

    let found = antpath_db::run_reads::get_once_durable(&pool, tenant.workspace, run.id)
        .await
        .expect("read back");
    assert!(found.is_some(), "the run is read back");
    let (_, flushed) = wal_positions(&pool).await;
    assert!(
        flushed >= written,
        "the read-back returned with WAL flushed to {flushed}, before the admission's commit \
         (written up to {written})"
    );
}
