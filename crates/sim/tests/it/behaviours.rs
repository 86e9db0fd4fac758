//! The behaviours that break naive clients: time-bounded event lists, the documented rate
//! limits, every sendable event type, the scenarios of issue 11 and the per-route counts.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Api, assert_error, eventually};

async fn settled_run(api: &Api, text: &str) -> (String, Vec<Value>) {
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    api.say(&sid, text).await;
    api.settled(&sid).await;
    let events = api.walk(&format!("/v1/sessions/{sid}/events"), 1000).await;
    (sid, events)
}

fn encode(at: &str) -> String {
    at.replace(':', "%3A").replace('+', "%2B")
}

#[tokio::test]
async fn created_at_bounds_narrow_the_events_list_by_processed_at() {
    let api = Api::start().await;
    let (sid, events) = settled_run(&api, "antpath-sim: scenario=happy events=20").await;
    let processed: Vec<&Value> = events
        .iter()
        .filter(|e| e["processed_at"].is_string())
        .collect();
    let pivot = processed[processed.len() / 2];
    let at = pivot["processed_at"].as_str().expect("at");
    let list = |op: &'static str| {
        let path = format!(
            "/v1/sessions/{sid}/events?created_at%5B{op}%5D={}",
            encode(at)
        );
        let api = &api;
        async move { api.walk(&path, 1000).await }
    };
    let gte = list("gte").await;
    let gt = list("gt").await;
    let lt = list("lt").await;
    let lte = list("lte").await;
    let ts = |v: &Value| v["processed_at"].as_str().expect("at").to_owned();
    assert!(gte.iter().all(|e| ts(e).as_str() >= at));
    assert!(gt.iter().all(|e| ts(e).as_str() > at));
    assert!(lt.iter().all(|e| ts(e).as_str() < at));
    assert!(lte.iter().all(|e| ts(e).as_str() <= at));
    assert_eq!(gte.len() + lt.len(), processed.len());
    assert_eq!(gt.len() + lte.len(), processed.len());
    assert!(gte.iter().any(|e| e["id"] == pivot["id"]));
    assert!(!gt.iter().any(|e| e["id"] == pivot["id"]));
    let (status, body) = api
        .get(&format!(
            "/v1/sessions/{sid}/events?created_at%5Bgte%5D=yesterday"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "invalid_request_error");
}

#[tokio::test]
async fn the_documented_create_limit_answers_429_with_retry_after_and_ratelimit_headers() {
    let api = Api::start().await;
    let mut refused = None;
    // A little past the allowance: the bucket refills 5 per second while the burst runs.
    for _ in 0..antpath_sim::CREATES_PER_MINUTE + 100 {
        let response = api
            .req(Method::POST, "/v1/environments")
            .json(&json!({ "name": crate::support::unique("env") }))
            .send()
            .await
            .expect("send");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(response);
            break;
        }
        let limit = response.headers()["anthropic-ratelimit-requests-limit"].clone();
        assert_eq!(limit, antpath_sim::CREATES_PER_MINUTE.to_string().as_str());
    }
    let refused = refused.expect("a burst past the allowance is refused");
    let headers = refused.headers().clone();
    assert!(
        headers["retry-after"]
            .to_str()
            .expect("ascii")
            .parse::<u64>()
            .expect("secs")
            >= 1
    );
    assert_eq!(headers["anthropic-ratelimit-requests-remaining"], "0");
    assert!(headers.contains_key("anthropic-ratelimit-requests-reset"));
    let body: Value = refused.json().await.expect("json");
    assert_error(&body, "rate_limit_error");
    // Reads have their own, larger allowance.
    let (status, _) = api.get("/v1/environments").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn every_sendable_event_type_is_accepted_and_bad_ones_are_refused() {
    let api = Api::start().await;
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/sessions/{sid}/events");
    let text = |t: &str| json!([{ "type": "text", "text": t }]);
    let sent = api
        .ok(
            &path,
            json!({ "events": [
                { "type": "user.message", "content": text("antpath-sim: scenario=approval") },
                { "type": "system.message", "content": text("Be brief.") },
            ] }),
        )
        .await;
    assert_eq!(sent["data"][1]["type"], "system.message");
    let idle = api.settled(&sid).await;
    assert_eq!(idle["status"], "idle");
    let events = api.walk(&path, 1000).await;
    let asked = events
        .iter()
        .rev()
        .find(|e| e["type"] == "agent.tool_use")
        .expect("tool use")["id"]
        .clone();
    // A client-run tool's result answers the pending tool use.
    api.ok(
        &path,
        json!({ "events": [{ "type": "user.tool_result", "tool_use_id": asked, "content": text("ok") }] }),
    )
    .await;
    api.settled(&sid).await;
    api.ok(
        &path,
        json!({ "events": [{ "type": "user.define_outcome", "description": "antpath-sim: scenario=happy",
            "rubric": { "type": "text", "content": "One file." }, "max_iterations": 2 }] }),
    )
    .await;
    api.settled(&sid).await;
    api.ok(&path, json!({ "events": [{ "type": "user.interrupt" }] }))
        .await;
    for (bad, why) in [
        (
            json!({ "type": "agent.message", "content": text("x") }),
            "not sendable",
        ),
        (json!({ "type": "user.nonsense" }), "unknown type"),
        (
            json!({ "type": "system.message", "content": text("x") }),
            "not after a message",
        ),
        (
            json!({ "type": "user.define_outcome", "description": "d", "rubric": { "type": "text", "content": "r" }, "max_iterations": 21 }),
            "too many iterations",
        ),
        (
            json!({ "type": "user.define_outcome", "description": "d" }),
            "no rubric",
        ),
        (
            json!({ "type": "user.tool_result", "content": text("x") }),
            "no tool_use_id",
        ),
        (
            json!({ "type": "user.tool_result", "tool_use_id": "sevt_none" }),
            "nothing pending",
        ),
    ] {
        let (status, body) = api.post(&path, json!({ "events": [bad] })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
        assert_error(&body, "invalid_request_error");
    }
    let (status, body) = api
        .post(
            &path,
            json!({ "events": [
                { "type": "system.message", "content": text("first") },
                { "type": "user.message", "content": text("then") },
            ] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn an_agent_with_an_unknown_skill_is_refused() {
    let api = Api::start().await;
    let (status, body) = api
        .post(
            "/v1/agents",
            json!({ "name": "a", "model": "claude-opus-4-6",
                "skills": [{ "type": "anthropic", "skill_id": "no-such-skill" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error(&body, "invalid_request_error");
    let (status, _) = api
        .post(
            "/v1/agents",
            json!({ "name": "a", "model": "claude-opus-4-6",
                "skills": [{ "type": "anthropic", "skill_id": "xlsx" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_issue_11_scenarios_end_as_the_api_would() {
    let api = Api::start().await;
    let (_, refusal) = settled_run(&api, "antpath-sim: scenario=refusal").await;
    let idle = refusal.last().expect("idle");
    assert_eq!(idle["stop_reason"]["type"], "refusal");
    assert_eq!(idle["stop_details"]["type"], "refusal");

    let (_, model) = settled_run(&api, "antpath-sim: scenario=model-error").await;
    assert!(
        model
            .iter()
            .any(|e| e["type"] == "span.model_request_end" && e["is_error"] == true)
    );
    assert_eq!(
        model.last().expect("idle")["stop_reason"]["type"],
        "end_turn"
    );

    let (_, mcp) = settled_run(&api, "antpath-sim: scenario=mcp-error").await;
    let error = mcp
        .iter()
        .rev()
        .find(|e| e["type"] == "session.error")
        .expect("error");
    assert_eq!(error["error"]["type"], "mcp_authentication_failed_error");
    assert_eq!(error["error"]["mcp_server_name"], "crm");
    assert_eq!(
        mcp.last().expect("idle")["stop_reason"]["type"],
        "retries_exhausted"
    );

    let (_, credential) = settled_run(&api, "antpath-sim: scenario=credential-error").await;
    let error = credential
        .iter()
        .find(|e| e["type"] == "session.error")
        .expect("error");
    assert_eq!(error["error"]["type"], "credential_host_unreachable_error");
    assert!(error["error"]["vault_id"].is_string() && error["error"]["credential_id"].is_string());
    assert_eq!(
        credential.last().expect("end")["type"],
        "session.status_terminated"
    );
}

#[tokio::test]
async fn an_early_idle_event_precedes_the_idle_status_and_archive_waits_for_it() {
    let api = Api::start().await;
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    api.say(&sid, "antpath-sim: scenario=idle-early seconds=1")
        .await;
    let path = format!("/v1/sessions/{sid}/events");
    eventually(|| async {
        let events = api.walk(&path, 1000).await;
        events
            .iter()
            .any(|e| e["type"] == "session.status_idle")
            .then_some(())
    })
    .await;
    let (_, now) = api.get(&format!("/v1/sessions/{sid}")).await;
    assert_eq!(now["status"], "running");
    let (status, body) = api
        .post(&format!("/v1/sessions/{sid}/archive"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    api.settled(&sid).await;
    let (status, _) = api
        .post(&format!("/v1/sessions/{sid}/archive"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_rescheduling_period_shows_on_retrieve() {
    let api = Api::start().await;
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    api.say(&sid, "antpath-sim: scenario=rescheduling seconds=0.5")
        .await;
    eventually(|| async {
        let (_, s) = api.get(&format!("/v1/sessions/{sid}")).await;
        (s["status"] == "rescheduling").then_some(())
    })
    .await;
    let settled = api.settled(&sid).await;
    assert_eq!(settled["status"], "idle");
}

#[tokio::test]
async fn counts_group_requests_by_route_with_ids_hidden() {
    let api = Api::start().await;
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    for _ in 0..3 {
        api.get(&format!("/v1/sessions/{sid}")).await;
    }
    let (_, counts) = api.get("/__sim/counts").await;
    assert_eq!(counts["counts"]["GET /v1/sessions/{id}"], 3, "{counts}");
    assert_eq!(counts["counts"]["POST /v1/sessions"], 1, "{counts}");
    assert!(counts["total"].as_u64().expect("total") >= 6);
    let (status, _) = api.delete("/__sim/counts").await;
    assert_eq!(status, StatusCode::OK);
    let (_, counts) = api.get("/__sim/counts").await;
    assert_eq!(counts["total"], 0);
}

#[tokio::test]
async fn create_only_session_fields_are_refused_on_update() {
    let api = Api::start().await;
    let session = api.session(json!({})).await;
    let path = format!("/v1/sessions/{}", session["id"].as_str().expect("id"));
    for body in [
        json!({ "environment_id": "env_other" }),
        json!({ "agent": { "model": "claude-sonnet-4-5" } }),
        json!({ "resources": [] }),
    ] {
        let (status, out) = api.post(&path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {out}");
        assert_error(&out, "invalid_request_error");
    }
    let (status, _) = api.post(&path, json!({ "title": "renamed" })).await;
    assert_eq!(status, StatusCode::OK);
}
