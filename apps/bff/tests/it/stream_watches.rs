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

/// Opens a stream on `run` while `writer` holds an uncommitted change of it, commits the
/// change once the stream's watch waits for it (or after a moment, if nothing waits), and
/// returns the stream with its first run message. The writer looked for watches before the
/// stream's existed, so it notified no one: the stream sees its change only because its first
/// read waited for the writer's commit.
async fn open_while_uncommitted(
    app: &TestApp,
    server: &antpath_bff::Server,
    token: &str,
    run: &Driver,
    writer: sqlx::Transaction<'static, sqlx::Postgres>,
) -> (Sse, serde_json::Value) {
    let (base, token, id) = (server.base_url(), token.to_owned(), run.run);
    let opening = tokio::spawn(async move {
        let mut stream = Sse::open(&base, id, &token, None).await;
        let first = stream.run("run").await;
        (stream, first)
    });
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
    opening.await.expect("open")
}

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
    let (mut stream, first) =
        open_while_uncommitted(&app, &server, &tenant.token, &run, writer).await;
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

/// The same for an event stored without any change of the run row.
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_event_committed_while_its_stream_opens_reaches_the_stream(pool: PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let server = app.serve().await;
    let run = Driver::start(&app, &tenant).await;

    let mut writer = app.pool.begin().await.expect("begin");
    run.event_in(&mut writer, 1).await;
    let (mut stream, first) =
        open_while_uncommitted(&app, &server, &tenant.token, &run, writer).await;
    assert_eq!(first["status"], "provider_running");
    assert_eq!(stream.event().await.1, "sevt_1");
    server.shutdown().await.expect("shutdown");
}
