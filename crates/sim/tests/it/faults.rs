//! Fault injection: deterministic rules, seeded rates, dropped connections, latency and the
//! per-key rate limiter; `/__sim` is never faulted.

use std::time::{Duration, Instant};

use antpath_sim::{FaultConfig, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Api, assert_error};

async fn set_faults(api: &Api, faults: Value) {
    let resp = api
        .http
        .post(format!("{}/__sim/faults", api.base))
        .json(&faults)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn fail_next_rules_hit_only_matching_requests_then_stop() {
    let api = Api::start().await;
    set_faults(
        &api,
        json!({ "retry_after_secs": 7, "fail_next": [
            { "count": 1, "method": "POST", "path_prefix": "/v1/environments", "fault": "rate_limited" },
            { "count": 1, "path_prefix": "/v1/agents", "fault": "server_error" },
            { "count": 1, "path_prefix": "/v1/vaults", "fault": "overloaded" },
        ] }),
    )
    .await;
    assert_eq!(
        api.get("/v1/environments").await.0,
        StatusCode::OK,
        "GET does not match"
    );
    let resp = api
        .req(reqwest::Method::POST, "/v1/environments")
        .json(&json!({ "name": "e" }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert_error(&resp.json().await.expect("json"), "rate_limit_error");
    assert_eq!(
        api.post("/v1/environments", json!({ "name": "e" })).await.0,
        StatusCode::OK
    );
    let (status, body) = api.get("/v1/agents").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_error(&body, "api_error");
    let (status, body) = api.get("/v1/vaults").await;
    assert_eq!(status.as_u16(), 529);
    assert_error(&body, "overloaded_error");
    assert_eq!(api.get("/v1/vaults").await.0, StatusCode::OK);
    let (_, faults) = api.get("/__sim/faults").await;
    assert_eq!(faults["fail_next"], json!([]));
}

#[tokio::test]
async fn a_dropped_connection_gets_no_response_and_is_logged() {
    let api = Api::start().await;
    set_faults(
        &api,
        json!({ "fail_next": [{ "count": 1, "path_prefix": "/v1/sessions", "fault": "drop" }] }),
    )
    .await;
    let err = api
        .req(reqwest::Method::GET, "/v1/sessions")
        .send()
        .await
        .expect_err("dropped");
    assert!(!err.is_status(), "{err}");
    assert_eq!(api.get("/v1/sessions").await.0, StatusCode::OK);
    let (_, calls) = api.get("/__sim/calls").await;
    let dropped: Vec<&Value> = calls["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter(|c| c["fault"] == "drop")
        .collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0]["status"], Value::Null);
}

#[tokio::test]
async fn seeded_rates_repeat_exactly_and_spare_the_sim_routes() {
    let api = Api::start().await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        set_faults(
            &api,
            json!({ "seed": 42, "rate_500": 0.3, "rate_429": 0.2 }),
        )
        .await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(api.get("/v1/agents").await.0.as_u16());
            assert_eq!(api.get("/__sim/resources").await.0, StatusCode::OK);
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&500) && runs[0].contains(&429) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn latency_is_added_to_v1_requests() {
    let faults = FaultConfig {
        latency_ms: 150,
        ..FaultConfig::default()
    };
    let api = Api::with(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .await;
    let start = Instant::now();
    assert_eq!(api.get("/v1/agents").await.0, StatusCode::OK);
    assert!(start.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn latency_jitter_spreads_requests_over_the_range() {
    let faults = FaultConfig {
        latency_ms: 20,
        latency_jitter_ms: 200,
        seed: 7,
        ..FaultConfig::default()
    };
    let api = Api::with(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .await;
    let mut took = Vec::new();
    for _ in 0..12 {
        let start = Instant::now();
        assert_eq!(api.get("/v1/agents").await.0, StatusCode::OK);
        took.push(start.elapsed());
    }
    let (least, most) = (took.iter().min().unwrap(), took.iter().max().unwrap());
    assert!(*least >= Duration::from_millis(20), "{took:?}");
    assert!(
        *most - *least >= Duration::from_millis(40),
        "the draws did not spread: {took:?}"
    );
}

#[tokio::test]
async fn the_rate_limiter_answers_429_with_retry_after_and_ratelimit_headers() {
    let faults = FaultConfig {
        rate_limit_rps: Some(3),
        ..FaultConfig::default()
    };
    let api = Api::with(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .await;
    let mut limited = None;
    for _ in 0..10 {
        let resp = api
            .req(reqwest::Method::GET, "/v1/agents")
            .send()
            .await
            .expect("send");
        if resp.status() == StatusCode::OK {
            assert_eq!(resp.headers()["anthropic-ratelimit-requests-limit"], "3");
            continue;
        }
        limited = Some(resp);
        break;
    }
    let resp = limited.expect("a request over the limit");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(
        resp.headers()["anthropic-ratelimit-requests-remaining"],
        "0"
    );
    assert!(
        resp.headers()
            .contains_key("anthropic-ratelimit-requests-reset")
    );
}

#[tokio::test]
async fn an_invalid_fault_config_is_a_400() {
    let api = Api::start().await;
    let resp = api
        .http
        .post(format!("{}/__sim/faults", api.base))
        .json(&json!({ "rate_500": "lots" }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

/// The calls the simulator logged with `fault`.
async fn calls_with_fault(api: &Api, fault: &str) -> Vec<Value> {
    let (_, calls) = api.get("/__sim/calls").await;
    calls["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter(|c| c["fault"] == fault)
        .cloned()
        .collect()
}

/// The simulator's records of `kind` named `name`.
async fn named(api: &Api, kind: &str, name: &str) -> Vec<Value> {
    let (_, body) = api.get(&format!("/__sim/resources?kind={kind}")).await;
    body["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["name"] == name)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_lost_response_creates_the_resource_but_answers_nothing() {
    let api = Api::start().await;
    set_faults(
        &api,
        json!({ "fail_next": [{ "count": 1, "method": "POST", "path_prefix": "/v1/environments", "fault": "lost_response" }] }),
    )
    .await;
    let name = crate::support::unique("lost");
    let err = api
        .req(reqwest::Method::POST, "/v1/environments")
        .json(&json!({ "name": name }))
        .send()
        .await
        .expect_err("the response is lost");
    assert!(!err.is_status(), "{err}");
    let made = named(&api, "environment", &name).await;
    assert_eq!(made.len(), 1, "the provider acted: {made:?}");
    assert_eq!(made[0]["state"], "live");
    let lost = calls_with_fault(&api, "lost_response").await;
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0]["status"], Value::Null);
    assert_eq!(lost[0]["method"], "POST");
}

#[tokio::test]
async fn a_delete_whose_response_is_lost_still_deletes() {
    let api = Api::start().await;
    let name = crate::support::unique("gone");
    let env = api.ok("/v1/environments", json!({ "name": name })).await;
    let id = env["id"].as_str().expect("id");
    set_faults(
        &api,
        json!({ "fail_next": [{ "count": 1, "method": "DELETE", "path_prefix": "/v1/environments", "fault": "lost_response" }] }),
    )
    .await;
    let path = format!("/v1/environments/{id}");
    let err = api
        .req(reqwest::Method::DELETE, &path)
        .send()
        .await
        .expect_err("the response is lost");
    assert!(!err.is_status(), "{err}");
    assert_eq!(
        named(&api, "environment", &name).await[0]["state"],
        "deleted"
    );
    assert_eq!(
        api.delete(&path).await.0,
        StatusCode::NOT_FOUND,
        "a retry finds it gone"
    );
}

#[tokio::test]
async fn the_lost_response_rate_loses_answers_of_requests_that_were_handled() {
    let api = Api::start().await;
    set_faults(&api, json!({ "seed": 3, "lost_response_rate": 1.0 })).await;
    let names: Vec<String> = (0..3).map(|_| crate::support::unique("rate")).collect();
    for name in &names {
        let sent = api
            .req(reqwest::Method::POST, "/v1/environments")
            .json(&json!({ "name": name }))
            .send()
            .await;
        assert!(sent.is_err(), "every response is lost");
    }
    for name in &names {
        assert_eq!(
            named(&api, "environment", name).await.len(),
            1,
            "{name} was made"
        );
    }
    assert_eq!(calls_with_fault(&api, "lost_response").await.len(), 3);
}

#[tokio::test]
async fn a_timed_rule_fails_every_matching_request_until_its_window_closes() {
    let api = Api::start().await;
    let name = crate::support::unique("timed");
    let env = api.ok("/v1/environments", json!({ "name": name })).await;
    let path = format!("/v1/environments/{}", env["id"].as_str().expect("id"));
    let window = Duration::from_millis(600);
    let installed = Instant::now();
    set_faults(
        &api,
        json!({ "fail_next": [{ "for_ms": window.as_millis() as u64, "method": "DELETE", "path_prefix": "/v1/", "fault": "server_error" }] }),
    )
    .await;
    let (_, faults) = api.get("/__sim/faults").await;
    let left = faults["fail_next"][0]["for_ms"]
        .as_u64()
        .expect("time left");
    assert!(left <= window.as_millis() as u64, "{faults}");
    for _ in 0..3 {
        let (status, body) = api.delete(&path).await;
        if installed.elapsed() < window {
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        }
    }
    assert_eq!(api.get(&path).await.0, StatusCode::OK, "other methods pass");
    crate::support::eventually(|| async {
        (api.delete(&path).await.0 == StatusCode::OK).then_some(())
    })
    .await;
    assert!(
        installed.elapsed() >= window,
        "deletes failed for the window"
    );
    let (_, faults) = api.get("/__sim/faults").await;
    assert_eq!(faults["fail_next"], json!([]), "an expired rule disappears");
}

#[tokio::test]
async fn a_suffix_rule_fails_archives_but_not_creates() {
    let api = Api::start().await;
    set_faults(
        &api,
        json!({ "fail_next": [{ "for_ms": 60_000, "method": "POST", "path_suffix": "/archive", "fault": "overloaded" }] }),
    )
    .await;
    let agent = api
        .ok(
            "/v1/agents",
            json!({ "name": "a", "model": "claude-opus-4-6" }),
        )
        .await;
    let archive = format!("/v1/agents/{}/archive", agent["id"].as_str().expect("id"));
    let (status, body) = api.post(&archive, json!({})).await;
    assert_eq!(status.as_u16(), 529, "{body}");
    assert_error(&body, "overloaded_error");
}
