//! The SDK's `Client::follow` on the real bff: it uses the run stream (no polling), resumes
//! it across a restart of the bff, and still fails an unknown run with `not_found`.

use std::time::Duration;

use antpath_types::RunId;
use futures_util::StreamExt;
use sqlx::PgPool;

use crate::stream::Driver;
use crate::support::TestApp;

/// Polling so slow that a follow which polled could not finish within the test's time-out.
fn stream_only_wait() -> antpath_sdk::WaitOptions {
    antpath_sdk::WaitOptions {
        initial_interval: Duration::from_secs(60),
        max_interval: Duration::from_secs(60),
        timeout: Some(Duration::from_secs(30)),
        cleanup_grace: Duration::from_secs(30),
    }
}

fn sdk(base: &str, token: &str) -> antpath_sdk::Client {
    antpath_sdk::Client::builder(token)
        .base_url(base)
        .retry_policy(antpath_sdk::RetryPolicy {
            max_retries: 20,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(1),
        })
        .build()
        .expect("client")
}

/// What a follow yielded, as words: `status:…`, `cleanup:…`, `event:…`.
fn step(progress: &antpath_sdk::Progress) -> String {
    match progress {
        antpath_sdk::Progress::Status { run, .. } => format!("status:{}", run.status),
        antpath_sdk::Progress::Cleanup { run, .. } => format!("cleanup:{:?}", run.cleanup.state),
        antpath_sdk::Progress::Event(event) => format!(
            "event:{}",
            event.provider_event_id.as_deref().unwrap_or("?")
        ),
    }
}

async fn requests_to(base: &str, route: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter(|l| l.starts_with(&format!("antpath_bff_requests_total{{route=\"{route}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_sdk_follow_uses_the_stream_and_resumes_it_across_a_restart_of_the_bff(pool: PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let first = app.serve().await;
    let addr = first.addr();
    let base = first.base_url();
    let run = Driver::start(&app, &tenant).await;
    run.events([1, 2]).await;

    let client = sdk(&base, &tenant.token);
    let mut follow = Box::pin(client.follow(run.run, stream_only_wait()));
    let mut steps = Vec::new();
    for _ in 0..3 {
        steps.push(step(&follow.next().await.expect("a step").expect("ok")));
    }
    assert_eq!(
        steps,
        ["status:provider_running", "event:sevt_1", "event:sevt_2"]
    );
    assert_eq!(requests_to(&base, "/v1/runs/{id}/stream").await, 1);
    assert_eq!(requests_to(&base, "/v1/runs/{id}/events").await, 0);
    assert_eq!(requests_to(&base, "/v1/runs/{id}").await, 0);

    // A rolling restart: the stream drops, events arrive meanwhile, the next bff resumes it.
    first.shutdown().await.expect("shutdown");
    run.events([3, 4]).await;
    let listener = tokio::net::TcpListener::bind(addr).await.expect("rebind");
    let second = antpath_bff::start(&app.settings, app.pool.clone(), listener)
        .await
        .expect("restart");
    for _ in 0..2 {
        steps.push(step(&follow.next().await.expect("a step").expect("ok")));
    }
    run.set("succeeded", "running").await;
    steps.push(step(&follow.next().await.expect("a step").expect("ok")));
    run.events([5]).await;
    run.finish().await;
    while let Some(progress) = follow.next().await {
        steps.push(step(&progress.expect("ok")));
    }
    assert_eq!(
        steps,
        [
            "status:provider_running",
            "event:sevt_1",
            "event:sevt_2",
            "event:sevt_3",
            "event:sevt_4",
            "status:succeeded",
            "event:sevt_5",
            "cleanup:Succeeded",
        ]
    );
    assert_eq!(
        requests_to(&base, "/v1/runs/{id}/events").await,
        0,
        "no polling"
    );
    assert_eq!(requests_to(&base, "/v1/runs/{id}").await, 0, "no polling");
    second.shutdown().await.expect("shutdown");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_sdk_follow_of_an_unknown_run_fails_with_not_found(pool: PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let server = app.serve().await;
    let client = sdk(&server.base_url(), &tenant.token);
    let mut follow = Box::pin(client.follow(RunId::new(), stream_only_wait()));
    let error = follow
        .next()
        .await
        .expect("one item")
        .expect_err("not found");
    assert!(error.is_not_found(), "{error:?}");
    assert!(follow.next().await.is_none());
    server.shutdown().await.expect("shutdown");
}
