//! Observation within the rate limits, and the provider behaviours that break naive clients
//! (issue 11, parts 3 and 4): each a simulator scenario run end to end through the worker.

use std::collections::BTreeMap;
use std::time::Duration;

use antpath_types::{RunId, RunStatus};
use antpath_worker::FaultHook;
use serde_json::Value;
use sqlx::PgPool;

use crate::support::{Harness, eventually};

async fn run_with(h: &Harness, poll_base_ms: u64, directive: &str) -> (RunId, RunStatus) {
    let mut config = h.config("w1");
    config.limits.poll_base_ms = poll_base_ms;
    config.limits.poll_max_ms = poll_base_ms.max(config.limits.poll_max_ms);
    let worker = h.start_with(config, FaultHook::none());
    let run = h.submit(directive).await;
    let status = h.wait_terminal(run).await;
    worker.shutdown().await;
    (run, status)
}

async fn sim_json(h: &Harness, path: &str) -> Value {
    let url = format!("{}{path}", h.sim.base_url());
    reqwest::get(url)
        .await
        .expect("sim")
        .json()
        .await
        .expect("json")
}

/// Provider requests by route since the last reset, and resets the counts.
async fn take_counts(h: &Harness) -> BTreeMap<String, u64> {
    let body = sim_json(h, "/__sim/counts").await;
    let url = format!("{}/__sim/counts", h.sim.base_url());
    reqwest::Client::new()
        .delete(url)
        .send()
        .await
        .expect("reset");
    serde_json::from_value(body["counts"].clone()).expect("counts")
}

async fn error_of(h: &Harness, run: RunId) -> (Option<String>, Option<String>) {
    sqlx::query_as("select error_class, error_message from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("error")
}

async fn stored_events(h: &Harness, run: RunId, kind: &str) -> Vec<Value> {
    sqlx::query_scalar(
        "select summary from run_events where run_id = $1 and event_type = $2 order by seq",
    )
    .bind(run.as_uuid())
    .bind(kind)
    .fetch_all(&h.pool)
    .await
    .expect("events")
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn requests_per_run_are_the_same_for_10_and_500_events(pool: PgPool) {
    let h = Harness::new(pool).await;
    take_counts(&h).await;
    // The first poll comes after the session ended, so both runs take one observation and
    // the counts compare history length alone.
    let mut totals = Vec::new();
    for events in [10, 500] {
        let (run, status) = run_with(
            &h,
            2_000,
            &format!("antpath-sim: scenario=happy events={events}"),
        )
        .await;
        assert_eq!(status, RunStatus::Succeeded);
        let thinking = stored_events(&h, run, "agent.thinking").await;
        assert_eq!(thinking.len(), events, "every event stored once");
        let counts = take_counts(&h).await;
        let total: u64 = counts.values().sum();
        // One retrieve and one list for the one observation; no "prompt already sent?" list at
        // a first dispatch, no re-read of the history to decide, and no leak scan for a run
        // whose every create answered.
        assert_eq!(
            counts.get("GET /v1/sessions/{id}").copied(),
            Some(1),
            "{counts:?}"
        );
        assert_eq!(
            counts.get("GET /v1/sessions/{id}/events").copied(),
            Some(1),
            "{counts:?}"
        );
        assert!(total <= 12, "{total} requests for a happy run: {counts:?}");
        totals.push((total, counts));
    }
    assert_eq!(totals[0], totals[1], "requests grew with the history");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn polls_that_end_mid_turn_store_every_event_exactly_once(pool: PgPool) {
    let h = Harness::new(pool).await;
    take_counts(&h).await;
    // Half a second of running before the 500 events arrive in bursts: the turn outlasts the
    // first poll however loaded the machine is, so it is always seen over several polls.
    let (run, status) = run_with(&h, 5, "antpath-sim: scenario=slow seconds=0.5 events=500").await;
    assert_eq!(status, RunStatus::Succeeded);
    assert_eq!(stored_events(&h, run, "agent.thinking").await.len(), 500);
    let counts = take_counts(&h).await;
    let lists = counts["GET /v1/sessions/{id}/events"];
    let retrieves = counts["GET /v1/sessions/{id}"];
    assert!(retrieves > 1, "the turn spanned several polls: {counts:?}");
    // One list per observation (the cursor bounds every list to what is new), plus the
    // dispatch check and at most one bounded tail page to decide the turn.
    assert!(lists <= retrieves + 2, "{counts:?}");
    let duplicates: i64 = sqlx::query_scalar(
        "select count(*) - count(distinct provider_event_id) from run_events where run_id = $1",
    )
    .bind(run.as_uuid())
    .fetch_one(&h.pool)
    .await
    .expect("duplicates");
    assert_eq!(duplicates, 0);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_idle_event_before_the_retrieve_shows_idle_succeeds_and_cleanup_retries_the_409(
    pool: PgPool,
) {
    let h = Harness::new(pool).await;
    let (_run, status) = run_with(&h, 40, "antpath-sim: scenario=idle-early seconds=1.5").await;
    assert_eq!(status, RunStatus::Succeeded);
    let calls = sim_json(&h, "/__sim/calls").await;
    let on_session = |method: &str, status: u64| {
        calls["calls"].as_array().expect("calls").iter().any(|c| {
            c["method"] == method
                && c["status"] == status
                && c["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/v1/sessions/") && !p.contains("/events"))
        })
    };
    let refused = on_session("DELETE", 409) || on_session("POST", 409);
    assert!(refused, "the still-running session refused its cleanup");
    eventually(
        "the session is cleaned up",
        Duration::from_secs(20),
        || async { h.live_resources().await.is_empty() },
    )
    .await;
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_rescheduling_period_shows_on_the_run_and_then_it_succeeds(pool: PgPool) {
    let h = Harness::new(pool).await;
    let worker = h.start("w1", FaultHook::none());
    let run = h
        .submit("antpath-sim: scenario=rescheduling seconds=1.5")
        .await;
    eventually(
        "the run shows the rescheduling",
        Duration::from_secs(20),
        || async { h.status(run).await == RunStatus::ProviderRescheduled },
    )
    .await;
    assert_eq!(h.wait_terminal(run).await, RunStatus::Succeeded);
    worker.shutdown().await;
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_refusal_fails_the_run_as_the_tenants_with_a_reason_a_user_understands(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (run, status) = run_with(&h, 40, "antpath-sim: scenario=refusal").await;
    assert_eq!(status, RunStatus::Failed);
    let (class, message) = error_of(&h, run).await;
    assert_eq!(class.as_deref(), Some("tenant_permanent"));
    let message = message.expect("a message");
    assert!(message.contains("refused"), "{message}");
    let idle = stored_events(&h, run, "session.status_idle").await;
    assert_eq!(idle[0]["stop_reason"], "refusal");
    assert!(h.live_resources().await.is_empty());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_model_request_that_ended_in_error_is_recorded_and_the_retry_succeeds(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (run, status) = run_with(&h, 40, "antpath-sim: scenario=model-error").await;
    assert_eq!(status, RunStatus::Succeeded);
    let ends = stored_events(&h, run, "span.model_request_end").await;
    let errors: Vec<bool> = ends.iter().map(|e| e["is_error"] == true).collect();
    assert_eq!(errors, [true, false]);
    let errors = stored_events(&h, run, "session.error").await;
    assert_eq!(errors[0]["error_type"], "model_request_failed_error");
    // Only the request that answered is billed.
    let input = h
        .scalar_i64("select input_tokens from runs where id = $1", run)
        .await;
    assert_eq!(input, 1200);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn mcp_and_credential_errors_fail_the_run_as_the_tenants_without_a_retry(pool: PgPool) {
    let h = Harness::new(pool).await;
    for (directive, error_type) in [
        (
            "antpath-sim: scenario=mcp-error",
            "mcp_authentication_failed_error",
        ),
        (
            "antpath-sim: scenario=credential-error",
            "credential_host_unreachable_error",
        ),
    ] {
        let (run, status) = run_with(&h, 40, directive).await;
        assert_eq!(status, RunStatus::Failed, "{directive}");
        let (class, message) = error_of(&h, run).await;
        assert_eq!(class.as_deref(), Some("tenant_permanent"), "{directive}");
        assert!(
            message.expect("message").contains(error_type),
            "{directive}"
        );
        let attempts = h
            .scalar_i64("select count(*) from run_attempts where run_id = $1", run)
            .await;
        assert_eq!(attempts, 1, "a tenant error is not the provider's to retry");
    }
    assert!(h.live_resources().await.is_empty());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_documented_read_limit_paces_a_fast_poller_without_failing_its_run(pool: PgPool) {
    let h = Harness::new(pool).await;
    // A small allowance (1 read a second, bursts of 60) that a 20 ms poller would outrun.
    h.set_faults(serde_json::json!({
        "documented_limits": {"creates_per_minute": 300, "reads_per_minute": 60}
    }))
    .await;
    let mut config = h.config("w1");
    config.limits.poll_base_ms = 20;
    config.limits.poll_max_ms = 20;
    let worker = h.start_with(config, FaultHook::none());
    let run = h.submit("antpath-sim: scenario=slow seconds=4").await;
    assert_eq!(h.wait_terminal(run).await, RunStatus::Succeeded);
    worker.shutdown().await;
    let failures = h
        .scalar_i64("select step_failures::bigint from runs where id = $1", run)
        .await;
    assert_eq!(failures, 0, "throttling is waited out, not counted");
    // Admitted reads never exceed the burst plus the refill over the time they span (the
    // simulator holds the limit; the worker waits out its retry-after and headers).
    let calls = sim_json(&h, "/__sim/calls").await;
    let reads: Vec<chrono::DateTime<chrono::Utc>> = calls["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter(|c| c["status"] != 429 && c["path"].as_str().is_some_and(|p| p.starts_with("/v1/")))
        .filter(|c| {
            let post_create = c["method"] == "POST"
                && c["path"]
                    .as_str()
                    .is_some_and(|p| p.matches('/').count() == 2);
            !post_create
        })
        .map(|c| c["at"].as_str().expect("at").parse().expect("time"))
        .collect();
    let span = (*reads.last().expect("reads") - reads[0]).num_milliseconds() as f64 / 1000.0;
    assert!(
        reads.len() as f64 <= 60.0 + span + 2.0,
        "{} reads in {span:.1} s",
        reads.len()
    );
}
