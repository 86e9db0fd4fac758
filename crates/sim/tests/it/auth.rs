//! Auth, version and beta-header checks, the error envelope and the `request-id` header.

use antpath_sim::SimConfig;
use reqwest::StatusCode;

use crate::support::{Api, BETA, KEY, assert_error};

#[tokio::test]
async fn a_missing_key_is_a_401_with_the_error_envelope_and_matching_request_id() {
    let api = Api::start().await;
    let resp = api
        .http
        .get(format!("{}/v1/sessions", api.base))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let header = resp.headers()["request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_error(&body, "authentication_error");
    assert_eq!(body["request_id"], header.as_str());
}

#[tokio::test]
async fn keys_without_the_sk_ant_prefix_are_rejected_by_default() {
    let api = Api::start().await;
    let resp = api
        .http
        .get(format!("{}/v1/environments", api.base))
        .header("x-api-key", "not-a-key")
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", BETA)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_explicit_key_list_accepts_only_those_keys() {
    let config = SimConfig {
        api_keys: vec!["sk-ant-only".into()],
        ..SimConfig::default()
    };
    let api = Api::with(config).await;
    assert_eq!(
        api.get("/v1/environments").await.0,
        StatusCode::UNAUTHORIZED,
        "default test key"
    );
    let resp = api
        .http
        .get(format!("{}/v1/environments", api.base))
        .header("x-api-key", "sk-ant-only")
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", BETA)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn bearer_auth_and_the_2026_version_are_accepted_like_sdk_2_10_sends_them() {
    let api = Api::start().await;
    let resp = api
        .http
        .get(format!("{}/v1/agents", api.base))
        .bearer_auth(KEY)
        .header("anthropic-version", "2026-10-21")
        .header("anthropic-beta", format!("files-api-2025-04-14, {BETA}"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_missing_or_unknown_version_is_a_400() {
    let api = Api::start().await;
    for version in [None, Some("1999-01-01")] {
        let mut req = api
            .http
            .get(format!("{}/v1/agents", api.base))
            .header("x-api-key", KEY)
            .header("anthropic-beta", BETA);
        if let Some(v) = version {
            req = req.header("anthropic-version", v);
        }
        let resp = req.send().await.expect("send");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_error(&resp.json().await.expect("json"), "invalid_request_error");
    }
}

#[tokio::test]
async fn managed_agents_routes_without_the_beta_are_404_but_files_and_skills_are_not_gated() {
    let api = Api::start().await;
    for path in [
        "/v1/sessions",
        "/v1/agents",
        "/v1/environments",
        "/v1/vaults",
    ] {
        let resp = api
            .http
            .get(format!("{}{path}", api.base))
            .header("x-api-key", KEY)
            .header("anthropic-version", "2023-06-01")
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert_error(&resp.json().await.expect("json"), "not_found_error");
    }
    for path in [
        "/v1/files?scope_id=sesn_011Cx",
        "/v1/skills",
        "/v1/files?beta=true",
    ] {
        let resp = api
            .http
            .get(format!("{}{path}", api.base))
            .header("x-api-key", KEY)
            .header("anthropic-version", "2026-10-21")
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_header() {
    let api = Api::start().await;
    for path in [
        "/v1/sessions?beta=true",
        "/v1/nope",
        "/__sim/calls",
        "/v1/sessions/sesn_missing",
    ] {
        let resp = api
            .req(reqwest::Method::GET, path)
            .send()
            .await
            .expect("send");
        let id = resp
            .headers()
            .get("request-id")
            .expect("request-id")
            .to_str()
            .expect("ascii");
        assert!(id.starts_with("req_"), "{path}: {id}");
    }
    let (status, body) = api.get("/v1/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found_error");
}

#[tokio::test]
async fn shutdown_stops_the_server_and_frees_the_port() {
    let api = Api::start().await;
    let base = api.base.clone();
    assert_eq!(api.get("/v1/agents").await.0, StatusCode::OK);
    api.sim.shutdown().await;
    assert!(
        api.http
            .get(format!("{base}/__sim/calls"))
            .send()
            .await
            .is_err()
    );
}
