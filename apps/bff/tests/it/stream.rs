//! `GET /v1/runs/{id}/stream` over real HTTP: live events and run changes, resume by
//! `Last-Event-ID`, authorisation, many streams on one replica, a lost `LISTEN` connection,
//! graceful shutdown, and the topic shared by a run's streams. The SDK's `follow` on it is
//! in `stream_sdk`.
//!
//! Runs are driven by writing their rows the way the worker does (an attempt, events through
//! `antpath_db::events`, status and cleanup updates), so every step is deterministic; the
//! database's own triggers raise the notifications.

use std::pin::Pin;
use std::time::Duration;

use antpath_types::{AttemptId, RunId, WorkspaceId};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::TestApp;

/// Longest wait for one message before a test fails instead of hanging.
pub(crate) const MESSAGE_WAIT: Duration = Duration::from_secs(10);

/// One message of a stream as the test reads it.
#[derive(Debug, Clone)]
struct Message {
    event: String,
    id: Option<String>,
    data: Value,
}

/// A test's own minimal event-stream reader (the SDK has the full one).
pub(crate) struct Sse {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buffer: String,
    /// Keep-alive comments seen.
    comments: usize,
}

impl Sse {
    pub(crate) async fn open(base: &str, run: RunId, token: &str, last_id: Option<&str>) -> Self {
        let response = get_stream(base, run, Some(token), last_id).await;
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/event-stream");
        assert_eq!(headers["cache-control"], "no-cache");
        assert_eq!(headers["x-accel-buffering"], "no");
        Self {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
            comments: 0,
        }
    }

    /// The next message, or `None` once the server closed the stream.
    async fn next(&mut self) -> Option<Message> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut message = Message {
                    event: "message".into(),
                    id: None,
                    data: Value::Null,
                };
                let mut data = None;
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                    } else if let Some(value) = line.strip_prefix("event: ") {
                        message.event = value.to_owned();
                    } else if let Some(value) = line.strip_prefix("id: ") {
                        message.id = Some(value.to_owned());
                    } else if let Some(value) = line.strip_prefix("data: ") {
                        data = Some(value.to_owned());
                    }
                }
                match data {
                    Some(data) => {
                        message.data = serde_json::from_str(&data).expect("data is JSON");
                        return Some(message);
                    }
                    None => continue,
                }
            }
            let chunk = tokio::time::timeout(MESSAGE_WAIT, self.body.next())
                .await
                .expect("a message or the end within the wait");
            match chunk {
                Some(Ok(bytes)) => self
                    .buffer
                    .push_str(std::str::from_utf8(&bytes).expect("utf-8")),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next message, which must be an `event:`; returns its id and provider event id.
    pub(crate) async fn event(&mut self) -> (String, String) {
        let message = self.next().await.expect("an event");
        assert_eq!(message.event, "event", "{message:?}");
        let id = message.id.clone().expect("an event has an id");
        assert_eq!(message.data["seq"].to_string(), id, "the id is the seq");
        let provider = message.data["provider_event_id"]
            .as_str()
            .expect("provider event id")
            .to_owned();
        (id, provider)
    }

    /// The next message, which must be `name` (`run` or `end`); returns the run object.
    pub(crate) async fn run(&mut self, name: &str) -> Value {
        let message = self.next().await.expect("a run message");
        assert_eq!(message.event, name, "{message:?}");
        assert_eq!(message.id, None, "run messages carry no id");
        message.data
    }
}

async fn get_stream(
    base: &str,
    run: RunId,
    token: Option<&str>,
    last_id: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .get(format!("{base}/v1/runs/{run}/stream"))
        .header("accept", "text/event-stream");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(id) = last_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.expect("request")
}

/// Drives one run's rows as the worker would.
pub(crate) struct Driver {
    pool: PgPool,
    workspace: WorkspaceId,
    pub(crate) run: RunId,
    attempt: AttemptId,
}

impl Driver {
    /// Submits a run and starts its first provider attempt.
    pub(crate) async fn start(app: &TestApp, tenant: &crate::support::Tenant) -> Self {
        let run = app.submit_run(tenant).await;
        let attempt = AttemptId::new();
        antpath_db::events::insert_attempt(&app.pool, attempt, run, 1)
            .await
            .expect("attempt");
        let driver = Self {
            pool: app.pool.clone(),
            workspace: tenant.workspace,
            run,
            attempt,
        };
        driver.set("provider_running", "pending").await;
        driver
    }

    pub(crate) async fn set(&self, status: &str, cleanup: &str) {
        sqlx::query(
            "update runs set status = $2, cleanup_state = $3, updated_at = now() where id = $1",
        )
        .bind(self.run.as_uuid())
        .bind(status)
        .bind(cleanup)
        .execute(&self.pool)
        .await
        .expect("update run");
    }

    /// Stores provider events `sevt_{n}` for each `n`, each in its own transaction.
    pub(crate) async fn events(&self, numbers: impl IntoIterator<Item = u32>) {
        let mut db = self.pool.acquire().await.expect("connection");
        for n in numbers {
            self.event_in(&mut db, n).await;
        }
    }

    /// Stores provider events `sevt_{n}` for each `n` in one transaction: one notification.
    async fn events_at_once(&self, numbers: impl IntoIterator<Item = u32>) {
        let mut tx = self.pool.begin().await.expect("begin");
        for n in numbers {
            self.event_in(&mut tx, n).await;
        }
        tx.commit().await.expect("commit");
    }

    /// Stores provider event `sevt_{n}` in the caller's transaction.
    pub(crate) async fn event_in(&self, db: &mut sqlx::PgConnection, n: u32) {
        let provider_event_id = format!("sevt_{n}");
        antpath_db::events::insert_event_once(
            db,
            &antpath_db::events::NewEvent {
                run_id: self.run,
                attempt_id: self.attempt,
                workspace_id: self.workspace,
                provider_event_id: &provider_event_id,
                event_type: "agent.message",
                processed_at: None,
                summary: json!({"n": n}),
            },
        )
        .await
        .expect("event")
        .expect("a new event");
    }

    /// Marks the run succeeded with its cleanup done.
    pub(crate) async fn finish(&self) {
        self.set("succeeded", "succeeded").await;
    }
}

/// The backends listening for run changes, once there is at least one (the feed starts its
/// `LISTEN` connection with its first stream, without waiting for it).
async fn listening_backends(pool: &PgPool) -> Vec<i32> {
    let started = std::time::Instant::now();
    loop {
        let pids: Vec<i32> = sqlx::query_scalar(
            "select pid from pg_stat_activity
             where datname = current_database() and query ilike 'listen %antpath_run_changes%'",
        )
        .fetch_all(pool)
        .await
        .expect("listening backends");
        if !pids.is_empty() {
            return pids;
        }
        assert!(started.elapsed() < MESSAGE_WAIT, "nothing listens");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The value of an unlabelled metric of the bff at `base`.
async fn metric(base: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} "))?.parse().ok())
        .unwrap_or_else(|| panic!("{name} in {text}"))
}

fn providers(numbers: impl IntoIterator<Item = u32>) -> Vec<String> {
    numbers.into_iter().map(|n| format!("sevt_{n}")).collect()
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_stream_on_a_running_run_gets_its_events_and_changes_live_and_ends_with_end(
    pool: PgPool,
) {
    let app = TestApp::with_env(pool, &[("ANTPATH_BFF__STREAM_HEARTBEAT_MS", "100")]);
    let tenant = app.tenant("acme").await;
    let server = app.serve().await;
    let run = Driver::start(&app, &tenant).await;
    run.events([1]).await;

    let mut stream = Sse::open(&server.base_url(), run.run, &tenant.token, None).await;
    let first = stream.run("run").await;
    assert_eq!(first["id"], run.run.to_string());
    assert_eq!(first["object"], "run");
    assert_eq!(first["status"], "provider_running");
    assert_eq!(stream.event().await.1, "sevt_1", "history comes first");

    run.events([2, 3]).await;
    assert_eq!(stream.event().await.1, "sevt_2");
    assert_eq!(stream.event().await.1, "sevt_3");

    run.set("succeeded", "running").await;
    let changed = stream.run("run").await;
    assert_eq!(changed["status"], "succeeded");
    assert_eq!(changed["cleanup"]["state"], "running");

    // Idle for a while: keep-alive comments, nothing else.
    tokio::time::sleep(Duration::from_millis(350)).await;
    run.finish().await;
    let end = stream.run("end").await;
    assert_eq!(end["status"], "succeeded");
    assert_eq!(end["cleanup"]["state"], "succeeded");
    assert!(stream.comments >= 2, "keep-alives: {}", stream.comments);
    assert!(stream.next().await.is_none(), "the stream closes after end");

    // A finished run's stream is the whole story at once.
    let mut again = Sse::open(&server.base_url(), run.run, &tenant.token, None).await;
    assert_eq!(again.run("run").await["status"], "succeeded");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(again.event().await.1);
    }
    assert_eq!(seen, providers(1..=3));
    assert_eq!(again.run("end").await["cleanup"]["state"], "succeeded");
    assert!(again.next().await.is_none());
    server.shutdown().await.expect("shutdown");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_stream_resumed_by_last_event_id_misses_and_repeats_nothing(pool: PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let server = app.serve().await;
    let run = Driver::start(&app, &tenant).await;
    run.events(1..=3).await;

    let mut stream = Sse::open(&server.base_url(), run.run, &tenant.token, None).await;
    stream.run("run").await;
    stream.event().await;
    let (last_id, provider) = stream.event().await;
    assert_eq!(provider, "sevt_2");
    drop(stream);

    run.events(4..=6).await;
    let mut resumed = Sse::open(&server.base_url(), run.run, &tenant.token, Some(&last_id)).await;
    assert_eq!(resumed.run("run").await["status"], "provider_running");
    let mut rest = Vec::new();
    for _ in 0..4 {
        rest.push(resumed.event().await.1);
    }
    assert_eq!(rest, providers(3..=6), "exactly the rest, in order");
    run.events([7]).await;
    assert_eq!(resumed.event().await.1, "sevt_7");
    run.finish().await;
    assert_eq!(resumed.run("end").await["status"], "succeeded");
    assert!(resumed.next().await.is_none());

    // Resuming past a long history pages through it (more than the topic keeps in memory).
    let many = Driver::start(&app, &tenant).await;
    many.events(1..=300).await;
    let mut history = Sse::open(&server.base_url(), many.run, &tenant.token, Some("0")).await;
    history.run("run").await;
    let mut ids = Vec::new();
    for _ in 0..300 {
        ids.push(history.event().await.1);
    }
    assert_eq!(ids, providers(1..=300));

    // A burst larger than the topic keeps in memory reaches a live stream whole, in order.
    many.events_at_once(301..=700).await;
    let mut burst = Vec::new();
    for _ in 301..=700 {
        burst.push(history.event().await.1);
    }
    assert_eq!(burst, providers(301..=700));
    server.shutdown().await.expect("shutdown");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_stream_is_authorised_like_the_json_routes_and_refuses_a_malformed_last_event_id(
    pool: PgPool,
) {
    let app = TestApp::new(pool);
    let owner = app.tenant("acme").await;
    let intruder = app.tenant("evil").await;
    let (_, read_less) = app
        .token(owner.workspace, owner.user, &["runs:write"])
        .await;
    let server = app.serve().await;
    let base = server.base_url();
    let run = Driver::start(&app, &owner).await;

    let cases = [
        (Some(intruder.token.as_str()), None, 404, "not_found"),
        (None, None, 401, "authentication_error"),
        (Some(read_less.as_str()), None, 403, "permission_denied"),
        (
            Some(owner.token.as_str()),
            Some("seven"),
            400,
            "invalid_request",
        ),
        (
            Some(owner.token.as_str()),
            Some("-1"),
            400,
            "invalid_request",
        ),
    ];
    for (token, last_id, status, error_type) in cases {
        let response = get_stream(&base, run.run, token, last_id).await;
        assert_eq!(response.status(), status, "{token:?} {last_id:?}");
        let body: Value = response.json().await.expect("a JSON error body");
        assert_eq!(body["error"]["type"], error_type, "{body}");
    }
    let unknown = get_stream(&base, RunId::new(), Some(&owner.token), None).await;
    assert_eq!(unknown.status(), 404);
    let malformed = reqwest::Client::new()
        .get(format!("{base}/v1/runs/run_nope/stream"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .expect("request");
    assert_eq!(malformed.status(), 404);

    // The intruder's attempt did not disturb the owner's stream.
    let mut stream = Sse::open(&base, run.run, &owner.token, None).await;
    stream.run("run").await;
    run.events([1]).await;
    assert_eq!(stream.event().await.1, "sevt_1");
    server.shutdown().await.expect("shutdown");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn two_hundred_streams_on_one_replica_all_get_every_event_and_the_end_from_one_listen(
    pool: PgPool,
) {
    const STREAMS: usize = 200;
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let server = app.serve().await;
    let run = Driver::start(&app, &tenant).await;
    let base = server.base_url();

    let (opened, mut all_open) = tokio::sync::mpsc::channel::<()>(STREAMS);
    let mut readers = Vec::new();
    for _ in 0..STREAMS {
        let (base, token, opened) = (base.clone(), tenant.token.clone(), opened.clone());
        let id = run.run;
        readers.push(tokio::spawn(async move {
            let mut stream = Sse::open(&base, id, &token, None).await;
            stream.run("run").await;
            opened.send(()).await.expect("test alive");
            let mut seen = Vec::new();
            loop {
                let message = stream.next().await.expect("the stream runs to its end");
                match message.event.as_str() {
                    "event" => seen.push(message.data["provider_event_id"].clone()),
                    "run" => {}
                    "end" => return (seen, message.data["status"].clone()),
                    other => panic!("unexpected message {other}"),
                }
            }
        }));
    }
    drop(opened);
    for _ in 0..STREAMS {
        all_open.recv().await.expect("every stream opened");
    }
    assert_eq!(
        listening_backends(&app.pool).await.len(),
        1,
        "one LISTEN connection for every stream"
    );
    assert_eq!(
        metric(&base, "antpath_bff_run_streams").await,
        STREAMS as u64
    );
    assert_eq!(metric(&base, "antpath_bff_run_feed_topics").await, 1);
    let reads_before = metric(&base, "antpath_bff_run_feed_reads_total").await;

    // Eight changes, each its own transaction and notification.
    run.events(1..=5).await;
    run.set("succeeded", "running").await;
    run.events([6]).await;
    run.finish().await;
    let expected: Vec<Value> = providers(1..=6).into_iter().map(Value::from).collect();
    for reader in readers {
        let (seen, status) = reader.await.expect("reader");
        assert_eq!(seen, expected);
        assert_eq!(status, "succeeded");
    }
    let reads = metric(&base, "antpath_bff_run_feed_reads_total").await - reads_before;
    assert!(
        (1..=10).contains(&reads),
        "about one read per change (eight) for all {STREAMS} streams together, not one each: {reads}"
    );
    server.shutdown().await.expect("shutdown");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_change_made_while_the_listen_connection_was_down_still_reaches_the_stream(pool: PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let server = app.serve().await;
    let run = Driver::start(&app, &tenant).await;
    let mut stream = Sse::open(&server.base_url(), run.run, &tenant.token, None).await;
    stream.run("run").await;

    let listener = listening_backends(&app.pool).await;
    let killed: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
        .bind(listener[0])
        .fetch_one(&app.pool)
        .await
        .expect("terminate the listener");
    assert!(killed);
    // Nobody listens now: this notification is lost, and the reconnect's catch-up finds it.
    run.events([1]).await;
    assert_eq!(stream.event().await.1, "sevt_1");
    run.finish().await;
    assert_eq!(stream.run("end").await["status"], "succeeded");
    server.shutdown().await.expect("shutdown");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn open_streams_end_at_graceful_shutdown_and_when_their_run_is_removed(pool: PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let server = app.serve().await;
    let run = Driver::start(&app, &tenant).await;
    let removed = Driver::start(&app, &tenant).await;

    let mut gone = Sse::open(&server.base_url(), removed.run, &tenant.token, None).await;
    gone.run("run").await;
    // A workspace purge removes run rows outright.
    sqlx::query("delete from run_attempts where run_id = $1")
        .bind(removed.run.as_uuid())
        .execute(&app.pool)
        .await
        .expect("delete attempts");
    sqlx::query("delete from runs where id = $1")
        .bind(removed.run.as_uuid())
        .execute(&app.pool)
        .await
        .expect("delete run");
    assert!(
        gone.next().await.is_none(),
        "the stream of a removed run closes"
    );

    let mut open = Sse::open(&server.base_url(), run.run, &tenant.token, None).await;
    open.run("run").await;
    tokio::time::timeout(Duration::from_secs(5), server.shutdown())
        .await
        .expect("shutdown does not wait for open streams")
        .expect("shutdown");
    assert!(open.next().await.is_none(), "the stream closed at shutdown");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn streams_of_one_run_share_one_topic_which_goes_with_the_last_stream(pool: PgPool) {
    // A short heartbeat: a write is how the server notices a client that went away.
    let app = TestApp::with_env(pool, &[("ANTPATH_BFF__STREAM_HEARTBEAT_MS", "50")]);
    let tenant = app.tenant("acme").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let served = tokio::spawn(axum::serve(listener, app.router.clone()).into_future());
    let feed = app.state.feed.clone();
    let run = Driver::start(&app, &tenant).await;

    let mut first = Sse::open(&base, run.run, &tenant.token, None).await;
    first.run("run").await;
    let mut second = Sse::open(&base, run.run, &tenant.token, None).await;
    second.run("run").await;
    assert_eq!(feed.topic_count(), 1, "two streams, one topic");
    assert_eq!(feed.open_streams(), 2);
    drop(first);
    run.events([1]).await;
    assert_eq!(second.event().await.1, "sevt_1");
    assert_eq!(feed.topic_count(), 1);
    drop(second);
    let started = std::time::Instant::now();
    while feed.topic_count() > 0 {
        assert!(
            started.elapsed() < MESSAGE_WAIT,
            "the topic outlived its last stream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(feed.open_streams(), 0);
    served.abort();
}

/// Regression: revoking a token ended its requests but not the streams it had open, which kept
/// sending the run's events for as long as the run lasted.
#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn revoking_a_token_ends_the_streams_it_opened(pool: PgPool) {
    let app = TestApp::with_env(pool, &[("ANTPATH_BFF__STREAM_HEARTBEAT_MS", "100")]);
    let tenant = app.tenant("acme").await;
    let server = app.serve().await;
    let run = Driver::start(&app, &tenant).await;
    let mut stream = Sse::open(&server.base_url(), run.run, &tenant.token, None).await;
    stream.run("run").await;
    sqlx::query("update api_tokens set revoked_at = now()")
        .execute(&app.pool)
        .await
        .expect("revoke");
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while stream.next().await.is_some() {}
    })
    .await;
    assert!(closed.is_ok(), "the revoked token's stream is still open");
    let again = get_stream(&server.base_url(), run.run, Some(&tenant.token), None).await;
    assert_eq!(again.status(), 401);
}
