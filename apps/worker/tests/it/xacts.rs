//! Issue 13: a happy run cost about 75 Postgres transactions (a throttle take per provider
//! call, a load of the run and of its sealed inputs per step, a re-load before each create, one
//! transaction per journal write and per cleanup record). A happy run whose template has one
//! MCP server must stay within [`MOST_PER_RUN`], counted by the database itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use antpath_types::{RunId, RunStatus};
use antpath_worker::{Deps, FaultHook};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

use crate::support::Harness;

/// The budget of one happy run with one MCP server (it takes 19).
const MOST_PER_RUN: i64 = 20;

/// The database's transactions and sessions so far (`xact_commit + xact_rollback`,
/// `sessions`: every session start is a transaction too), read inside the caller's
/// transaction, which counts only when it ends; `pg_stat_clear_snapshot` drops the cached
/// statistics.
async fn tally(conn: &mut PgConnection) -> (i64, i64) {
    sqlx::query("select pg_stat_clear_snapshot()")
        .execute(&mut *conn)
        .await
        .expect("clear");
    sqlx::query_as(
        "select (xact_commit + xact_rollback)::bigint, sessions::bigint from pg_stat_database
         where datname = current_database()",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("tally")
}

/// The tally once every session that worked has reported: `pg_stat_force_next_flush` makes
/// each of `flush` (one-connection pools; one transaction each, counted before the read) report
/// before it answers; the read is on a fresh session, which has nothing unreported and counts
/// (its start and one transaction) after it.
async fn count(flush: &[&PgPool]) -> (i64, i64) {
    for session in flush {
        sqlx::query("select pg_stat_force_next_flush()")
            .execute(*session)
            .await
            .expect("flush");
    }
    let mut conn = PgConnection::connect_with(&flush[0].connect_options())
        .await
        .expect("tally session");
    let mut tx = conn.begin().await.expect("begin");
    let tally = tally(&mut tx).await;
    tx.commit().await.expect("commit");
    conn.close().await.expect("close");
    // The session reports its start and its transaction as it ends, just after the close:
    // give it that time, so it is not counted in a window it was not part of.
    tokio::time::sleep(Duration::from_secs(1)).await;
    tally
}

/// Starts a worker on `session`, sends one happy run with one MCP server, waits for its end and
/// stops the worker; returns the run, the polls for its end and the worker's transactions that
/// depend on time rather than on the run: its idle claim polls and its lease renewals (one per
/// `lease_seconds - lease_renew_seconds` of a step; a loaded machine stretches the steps).
async fn one_run(h: &Harness, session: &PgPool) -> (RunId, i64, i64, i64) {
    let mut config = h.config("w1");
    config.concurrency = 1;
    // The first poll comes after the session ended: one observation.
    config.limits.poll_base_ms = 1500;
    config.limits.poll_max_ms = 1500;
    config.limits.poll_jitter = 0.0;
    config.tuning.listen = false;
    let mut template = h.template();
    template["agent"]["mcpServers"] =
        json!([{"name": "docs", "url": "https://mcp.example.com/sse", "auth": "static_bearer"}]);
    template["agent"]["tools"] = json!([{"type": "agent_toolset_20260401"}, {"type": "mcp_toolset", "mcpServerName": "docs"}]);
    let deps = Deps::new(
        session.clone(),
        h.keys.clone(),
        h.store.clone(),
        config,
        FaultHook::none(),
    )
    .expect("deps");
    let metrics = Arc::clone(&deps.metrics);
    let worker = antpath_worker::start(deps, None).expect("worker");
    let run = h
        .submit_with(
            h.workspace,
            template,
            "antpath-sim: scenario=happy",
            "delete",
            BTreeMap::from([("docs".to_owned(), "mcp-token".to_owned())]),
        )
        .await;
    let mut polls = 0;
    loop {
        polls += 1;
        let done: bool = sqlx::query_scalar("select phase = 'done' from runs where id = $1")
            .bind(run.as_uuid())
            .fetch_one(&h.pool)
            .await
            .expect("phase");
        if done {
            break;
        }
        assert!(polls < 600, "the run did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.shutdown().await;
    let idle = i64::try_from(metrics.empty_claims()).expect("idle claims");
    let renewals = i64::try_from(metrics.lease_renewals()).expect("renewals");
    (run, polls, idle, renewals)
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_happy_run_with_one_mcp_server_takes_at_most_twenty_postgres_transactions(pool: PgPool) {
    // One session for the test's queries and one for the worker, each living through both runs
    // as a worker's would: the first run prepares their statements (preparing one outside a
    // transaction is a transaction of its own) and is not counted.
    let one_session = || {
        PgPoolOptions::new()
            .max_connections(1)
            .connect_with((*pool.connect_options()).clone())
    };
    let h = Harness::new(one_session().await.expect("test session")).await;
    let worker_session = one_session().await.expect("worker session");
    // The pool the test was given migrated the database: its session goes, so all it did is
    // reported before the first count.
    pool.close().await;
    one_run(&h, &worker_session).await;

    let sessions = [&h.pool, &worker_session];
    let before = count(&sessions).await;
    let (run, polls, idle, renewals) = one_run(&h, &worker_session).await;
    let after = count(&sessions).await;

    assert_eq!(h.status(run).await, RunStatus::Succeeded);
    assert!(h.live_resources().await.is_empty());
    let counts = h.create_counts().await;
    assert_eq!(counts.get("vaults"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("credentials"), Some(&2), "{counts:?}");
    // Ours: the first read, two flushes, the submission and the polls; the worker's idle claim
    // polls and lease renewals depend on time, not on the run, and session starts on how
    // long pools live.
    let own = 1 + 2 + 1 + polls;
    let (xacts, sessions) = (after.0 - before.0, after.1 - before.1);
    let per_run = xacts - sessions - own - idle - renewals;
    let told = format!(
        "{per_run} transactions for one happy run ({xacts} in all, {sessions} session starts, \
         {own} of the test's, {idle} idle claim polls, {renewals} lease renewals)"
    );
    println!("{told}");
    assert!(per_run <= MOST_PER_RUN, "{told}");
    // A count this low means the tally missed the worker (a run takes at least a claim, a
    // load and a write per resource).
    assert!(per_run >= 10, "{per_run} transactions is not a real count");
    // Both sessions end before the test does: sqlx drops the test's database as it returns,
    // and a pool dropped without closing can still hold its session open then.
    h.pool.close().await;
    worker_session.close().await;
}
