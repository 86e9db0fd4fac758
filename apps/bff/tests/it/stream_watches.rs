//! The run feed's watches: only runs a stream watches notify, a stream watches its run for as
//! long as it is open, and a change committed while a stream opens is never lost between the
//! watch and the stream's first read.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::stream::{Driver, MESSAGE_WAIT, Sse};
use crate::support::TestApp;

async fn watches(pool: &PgPool, run: &Driver) -> i64 {
    sqlx::query_scalar("select count(*) from run_watches where run_id = $1")
        .bind(run.run.as_uuid())
        .fetch_one(pool)
        .await
        .expect("count watches")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn only_a_run_with_an_open_stream_notifies_and_its_watch_ends_with_the_stream(pool: PgPool) {
    let app = TestApp::with_env(pool, &[("ANTPATH_BFF__STREAM_HEARTBEAT_MS", "50")]);
    let tenant = app.tenant("acme").await;
    let server = app.serve().await;
    let quiet = Driver::start(&app, &tenant).await;
    let streamed = Driver::start(&app, &tenant).await;
    let mut stream = Sse::open(&server.base_url(), streamed.run, &tenant.token, None).await;
    stream.run("run").await;
    assert_eq!(watches(&app.pool, &streamed).await, 1);
    assert_eq!(watches(&app.pool, &quiet).await, 0);

    let mut heard = PgListener::connect_with(&app.pool).await.expect("listener");
    heard
        .listen(antpath_bff::feed::CHANNEL)
        .await
        .expect("listen");
    // Notifications arrive in commit order: if the unwatched run notified, its id would come
    // first.
    quiet.set("succeeded", "running").await;
    streamed.set("succeeded", "running").await;
    let first = tokio::time::timeout(MESSAGE_WAIT, heard.recv())
        .await
        .expect("a notification")
        .expect("listener");
    assert_eq!(first.payload(), streamed.run.as_uuid().to_string());
    assert_eq!(stream.run("run").await["status"], "succeeded");

    drop(stream);
    let started = Instant::now();
    while watches(&app.pool, &streamed).await > 0 {
        assert!(
            started.elapsed() < MESSAGE_WAIT,
            "the watch outlived its stream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.shutdown().await.expect("shutdown");
}

/// A writer that changed the run before the stream's watch existed does not notify; the stream
/// still shows its change, because its first read waits for that writer's commit.
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_change_committed_while_its_stream_opens_reaches_the_stream(pool: PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let server = app.serve().await;
    let run = Driver::start(&app, &tenant).await;

    let mut writer = app.pool.begin().await.expect("begin");
    sqlx::query("update runs set status = 'succeeded', cleanup_state = 'running' where id = $1")
        .bind(run.run.as_uuid())
        .execute(&mut *writer)
        .await
        .expect("update");
    let base = server.base_url();
    let token = tenant.token.clone();
    let id = run.run;
    let opening = tokio::spawn(async move {
        let mut stream = Sse::open(&base, id, &token, None).await;
        let first = stream.run("run").await;
        (stream, first)
    });
    // Give the stream its chance to read before the writer commits: until a backend waits
    // for the writer's row lock, or a moment passes (the wait the fix adds is what is tested).
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'",
        )
        .fetch_one(&app.pool)
        .await
        .expect("waiting backends");
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    writer.commit().await.expect("commit");

    let (mut stream, first) = opening.await.expect("open");
    let status = if first["status"] == "succeeded" {
        first["status"].clone()
    } else {
        // Without the wait the stream read the old run and would need a notification the
        // writer never sent.
        stream.run("run").await["status"].clone()
    };
    assert_eq!(status, "succeeded");
    server.shutdown().await.expect("shutdown");
}
