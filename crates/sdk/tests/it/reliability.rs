//! Typed errors, retries of safe requests, and idempotent submission.

use std::time::{Duration, Instant};

use antpath_fake_api::{FakeApi, Fault};
use antpath_sdk::{ApiErrorType, Client, Error, RunId, RunRequest};

use crate::support::{client, fast_retries, quickstart, request};

#[tokio::test]
async fn a_bad_token_is_an_authentication_error_that_never_shows_the_token() {
    let fake = FakeApi::start().await;
    let client = Client::builder("ant_wrong_secret_token")
        .base_url(&fake.base_url)
        .build()
        .expect("client");
    let error = client.whoami().await.expect_err("refused");
    let failure = error.api().expect("an API error");
    assert_eq!(failure.error_type, ApiErrorType::AuthenticationError);
    assert_eq!(failure.status, 401);
    assert_eq!(failure.request_id.as_deref(), Some("req_fake"));
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains("ant_wrong_secret_token"), "{text}");
    }
}

#[tokio::test]
async fn an_unknown_run_is_not_found() {
    let fake = FakeApi::start().await;
    let error = client(&fake)
        .get_run(RunId::new())
        .await
        .expect_err("missing");
    assert!(error.is_not_found(), "{error}");
}

#[tokio::test]
async fn a_rejected_submission_carries_every_located_detail() {
    let fake = FakeApi::start().await;
    let wrong = RunRequest::new(&quickstart())
        .variable("topic", 7)
        .variable("extra", "x")
        .anthropic_api_key("sk-ant-test");
    let error = client(&fake).submit(&wrong).await.expect_err("invalid");
    let failure = error.api().expect("an API error");
    assert_eq!(failure.status, 422);
    assert_eq!(failure.error_type, ApiErrorType::InvalidRequest);
    let paths: Vec<_> = failure.details.iter().map(|d| d.path.as_str()).collect();
    assert!(paths.contains(&"/variables/topic"), "{paths:?}");
    assert!(paths.contains(&"/variables/extra"), "{paths:?}");
}

#[tokio::test]
async fn reads_are_retried_through_server_errors() {
    let fake = FakeApi::start().await;
    fake.inject(Fault::new("GET", "/v1/whoami", 503, 2));
    client(&fake)
        .whoami()
        .await
        .expect("third attempt succeeds");
    assert_eq!(fake.requests_to("GET", "/v1/whoami").len(), 3);
}

#[tokio::test]
async fn retries_stop_after_the_policy_allows() {
    let fake = FakeApi::start().await;
    fake.inject(Fault::new("GET", "/v1/whoami", 500, 10));
    let error = client(&fake).whoami().await.expect_err("gives up");
    assert_eq!(error.status(), Some(500));
    assert_eq!(fake.requests_to("GET", "/v1/whoami").len(), 1 + 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let fake = FakeApi::start().await;
    fake.inject(Fault::new("GET", "/v1/whoami", 429, 1).retry_after(1));
    let started = Instant::now();
    client(&fake).whoami().await.expect("retried");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(fake.requests_to("GET", "/v1/whoami").len(), 2);
}

#[tokio::test]
async fn a_submission_without_an_idempotency_key_is_never_retried() {
    let fake = FakeApi::start().await;
    fake.inject(Fault::new("POST", "/v1/runs", 503, 1));
    let error = client(&fake)
        .submit(&request())
        .await
        .expect_err("sent once");
    assert_eq!(error.status(), Some(503));
    assert_eq!(fake.requests_to("POST", "/v1/runs").len(), 1);
}

#[tokio::test]
async fn a_keyed_submission_is_retried_and_creates_one_run() {
    let fake = FakeApi::start().await;
    fake.inject(Fault::new("POST", "/v1/runs", 503, 1));
    let client = client(&fake);
    let keyed = request().idempotency_key("retry-me");
    let run = client.submit(&keyed).await.expect("retried");
    assert_eq!(fake.requests_to("POST", "/v1/runs").len(), 2);
    let again = client.submit(&keyed).await.expect("replayed");
    assert_eq!(again.id, run.id);
    assert_eq!(fake.statuses().len(), 1);
}

#[tokio::test]
async fn reusing_a_key_for_a_different_request_is_a_conflict() {
    let fake = FakeApi::start().await;
    let client = client(&fake);
    client
        .submit(&request().idempotency_key("k"))
        .await
        .expect("first");
    let other = request().variable("topic", "kelp").idempotency_key("k");
    let error = client.submit(&other).await.expect_err("conflict");
    assert_eq!(
        error.api().map(|f| f.error_type),
        Some(ApiErrorType::Conflict)
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_connection_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let client = Client::builder("ant_x")
        .base_url(format!("http://{address}"))
        .retry_policy(fast_retries())
        .build()
        .expect("client");
    let error = client.whoami().await.expect_err("refused");
    assert!(matches!(error, Error::Connection { .. }), "{error:?}");
    assert!(error.to_string().contains(&address.to_string()));
}
