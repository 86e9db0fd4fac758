//! The retry policy against injected faults, proven with the simulator's call log: idempotent
//! calls are retried on 429/5xx/drops honouring `retry-after`; creates and sends never are.

use std::time::{Duration, Instant};

use antpath_provider::types::agent::CreateAgent;
use antpath_provider::types::environment::CreateEnvironment;
use antpath_provider::types::session::CreateSession;
use antpath_provider::{ProviderError, RetryPolicy};
use antpath_sim::SimConfig;
use antpath_types::ErrorClass;
use serde_json::json;

use crate::support::{Harness, TEST_KEY, client_for};

async fn environment(h: &Harness, name: &str) -> String {
    h.client
        .create_environment(&CreateEnvironment {
            name: name.into(),
            ..Default::default()
        })
        .await
        .expect("environment")
        .id
}

fn rule(count: u32, method: &str, path: &str, fault: &str) -> serde_json::Value {
    json!({"count": count, "method": method, "path_prefix": path, "fault": fault})
}

#[tokio::test]
async fn an_idempotent_get_is_retried_through_500_529_429_and_a_dropped_connection() {
    let h = Harness::with(SimConfig::default(), RetryPolicy::fast(5)).await;
    let id = environment(&h, "retry-get").await;
    let path = format!("/v1/environments/{id}");
    h.set_faults(json!({
        "retry_after_secs": 0,
        "fail_next": [
            rule(1, "GET", &path, "server_error"),
            rule(1, "GET", &path, "overloaded"),
            rule(1, "GET", &path, "rate_limited"),
            rule(1, "GET", &path, "drop"),
        ],
    }))
    .await;
    let env = h
        .client
        .get_environment(&id)
        .await
        .expect("succeeds after four failures");
    assert_eq!(env.id, id);
    assert_eq!(h.calls_to("GET", &path).await, 5);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn retries_stop_after_max_attempts_with_a_transient_error() {
    let h = Harness::with(SimConfig::default(), RetryPolicy::fast(3)).await;
    let id = environment(&h, "retry-exhaust").await;
    let path = format!("/v1/environments/{id}");
    h.set_faults(json!({"fail_next": [rule(10, "GET", &path, "server_error")]}))
        .await;
    let err = h
        .client
        .get_environment(&id)
        .await
        .expect_err("keeps failing");
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.class(), ErrorClass::TransientProvider);
    assert!(
        err.request_id().is_some(),
        "the request id is kept: {err:?}"
    );
    assert_eq!(h.calls_to("GET", &path).await, 3);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn deletes_and_archives_are_retried() {
    let h = Harness::start().await;
    let env = environment(&h, "retry-delete").await;
    let agent = h
        .client
        .create_agent(&CreateAgent::new("a", "claude-sonnet-4-6"))
        .await
        .expect("agent");
    let session = h
        .client
        .create_session(&CreateSession::new(&agent.id, &env))
        .await
        .expect("session");
    let archive = format!("/v1/agents/{}/archive", agent.id);
    let delete = format!("/v1/sessions/{}", session.id);
    h.set_faults(json!({"fail_next": [
        rule(1, "POST", &archive, "overloaded"),
        rule(2, "DELETE", &delete, "server_error"),
    ]}))
    .await;
    h.client
        .archive_agent(&agent.id)
        .await
        .expect("archive retried");
    h.client
        .delete_session(&session.id)
        .await
        .expect("delete retried");
    assert_eq!(h.calls_to("POST", &archive).await, 2);
    assert_eq!(h.calls_to("DELETE", &delete).await, 3);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn creates_and_event_sends_are_never_retried() {
    let h = Harness::with(SimConfig::default(), RetryPolicy::fast(5)).await;
    let env = environment(&h, "no-retry").await;
    let agent = h
        .client
        .create_agent(&CreateAgent::new("a", "claude-sonnet-4-6"))
        .await
        .expect("agent");

    h.set_faults(json!({"fail_next": [rule(1, "POST", "/v1/sessions", "server_error")]}))
        .await;
    let err = h
        .client
        .create_session(&CreateSession::new(&agent.id, &env))
        .await
        .expect_err("fails");
    assert_eq!(err.class(), ErrorClass::TransientProvider);
    assert_eq!(h.calls_to("POST", "/v1/sessions").await, 1);

    h.set_faults(json!({"fail_next": [rule(1, "POST", "/v1/agents", "drop")]}))
        .await;
    let err = h
        .client
        .create_agent(&CreateAgent::new("b", "claude-sonnet-4-6"))
        .await
        .expect_err("fails");
    assert!(matches!(err, ProviderError::Transport { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::TransientProvider);
    assert_eq!(
        h.calls_to("POST", "/v1/agents").await,
        2,
        "one earlier create, one failed"
    );

    let session = h
        .client
        .create_session(&CreateSession::new(&agent.id, &env))
        .await
        .expect("session");
    let events = format!("/v1/sessions/{}/events", session.id);
    h.set_faults(
        json!({"fail_next": [rule(1, "POST", &events, "rate_limited")], "retry_after_secs": 0}),
    )
    .await;
    let err = h
        .client
        .send_user_message(&session.id, "hi")
        .await
        .expect_err("fails");
    assert_eq!(err.status(), Some(429));
    assert_eq!(h.calls_to("POST", &events).await, 1);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn retry_after_is_waited_out_when_short_and_returned_when_long() {
    let h = Harness::start().await;
    let id = environment(&h, "retry-after").await;
    let path = format!("/v1/environments/{id}");
    // Without the documented limits the successful retry carries no rate-limit headers, so
    // the client's last signals stay those of the 429.
    h.set_faults(json!({"retry_after_secs": 1, "documented_limits": null,
        "fail_next": [rule(1, "GET", &path, "rate_limited")]}))
        .await;
    let started = Instant::now();
    h.client
        .get_environment(&id)
        .await
        .expect("succeeds after waiting");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    let limits = h
        .client
        .last_rate_limit()
        .expect("the 429 carried rate-limit signals");
    assert_eq!(limits.retry_after, Some(Duration::from_secs(1)));

    let impatient = RetryPolicy {
        max_retry_after: Duration::from_millis(200),
        ..RetryPolicy::fast(5)
    };
    let client = client_for(&h.sim, TEST_KEY, impatient);
    h.set_faults(
        json!({"retry_after_secs": 1, "fail_next": [rule(1, "GET", &path, "rate_limited")]}),
    )
    .await;
    let before = h.calls_to("GET", &path).await;
    let err = client
        .get_environment(&id)
        .await
        .expect_err("too long to wait");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(err.class(), ErrorClass::TransientProvider);
    assert_eq!(h.calls_to("GET", &path).await, before + 1);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn the_rate_limiter_signals_are_exposed_to_the_caller() {
    let h = Harness::with(SimConfig::default(), RetryPolicy::none()).await;
    h.set_faults(json!({"rate_limit_rps": 3, "retry_after_secs": 1}))
        .await;
    let mut throttled = None;
    for _ in 0..10 {
        if let Err(err) = h.client.list_agents(&Default::default()).await {
            throttled = Some(err);
            break;
        }
    }
    let err = throttled.expect("the limiter answered 429");
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.class(), ErrorClass::TransientProvider);
    assert!(err.retry_after().is_some());
    let limits = h.client.last_rate_limit().expect("signals kept");
    assert!(limits.is_present());
    assert_eq!(limits.requests_limit, Some(3), "{limits:?}");
    h.sim.shutdown().await;
}
