//! Session budgets: list cost tracked by model, the `budget_reached` stop, the usage the SDK
//! models, and the budget updates the API rejects.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Api, unique};

/// A budget of `cents` US cents, as the SDK sends it.
fn budget(cents: &str) -> Value {
    json!({ "type": "limit", "max_list_cost": { "amount": cents, "currency": "USD" } })
}

/// An environment and an agent on `model`; returns the session-create body without budget.
async fn base(api: &Api, model: &str) -> Value {
    let env = api
        .ok("/v1/environments", json!({ "name": unique("env-budget") }))
        .await;
    let agent = api
        .ok("/v1/agents", json!({ "name": "a", "model": model }))
        .await;
    json!({ "agent": agent["id"], "environment_id": env["id"] })
}

async fn session_with(api: &Api, cents: Option<&str>) -> Value {
    let mut body = base(api, "claude-opus-4-6").await;
    if let Some(cents) = cents {
        body["budget"] = budget(cents);
    }
    api.ok("/v1/sessions", body).await
}

fn error_code(body: &Value) -> &str {
    body["error"]["details"]["error_code"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_session_stops_with_budget_reached_once_its_list_cost_reaches_the_budget() {
    let api = Api::start().await;
    let session = session_with(&api, Some("5")).await;
    assert_eq!(session["budget"], budget("5"));
    assert_eq!(
        session["usage"]["list_cost"],
        json!({"amount": "0", "currency": "USD"})
    );
    let sid = session["id"].as_str().expect("id");
    api.say(sid, "antpath-sim: scenario=spend requests=50")
        .await;
    let settled = api.settled(sid).await;
    // An opus request of 1200 in / 350 out is 1.475 cents: the fourth crosses 5 cents and no
    // fifth is issued.
    assert_eq!(settled["status"], "idle");
    assert_eq!(settled["usage"]["input_tokens"], 4 * 1200);
    assert_eq!(
        settled["usage"]["list_cost"],
        json!({"amount": "6", "currency": "USD"})
    );
    assert!(settled["usage"]["active_seconds"].as_f64().unwrap_or(0.0) > 0.0);
    let (_, events) = api
        .get(&format!("/v1/sessions/{sid}/events?limit=1000"))
        .await;
    let events = events["data"].as_array().cloned().unwrap_or_default();
    let idle = events
        .iter()
        .rev()
        .find(|e| e["type"] == "session.status_idle");
    assert_eq!(
        idle.map(|e| &e["stop_reason"]),
        Some(&json!({"type": "budget_reached"}))
    );
    let usage = events.iter().rev().find(|e| e["type"] == "session.usage");
    let usage = usage.expect("a session.usage event");
    assert_eq!(usage["budget"], budget("5"));
    assert_eq!(usage["usage"]["list_cost"]["amount"], "6");
    let ends = events
        .iter()
        .filter(|e| e["type"] == "span.model_request_end")
        .count();
    assert_eq!(ends, 4);
}

#[tokio::test]
async fn an_uncapped_session_spends_every_request_and_reports_its_cost() {
    let api = Api::start().await;
    let session = session_with(&api, None).await;
    assert!(session["budget"].is_null());
    let sid = session["id"].as_str().expect("id");
    api.say(sid, "antpath-sim: scenario=spend requests=10")
        .await;
    let settled = api.settled(sid).await;
    assert_eq!(settled["usage"]["output_tokens"], 10 * 350);
    // 14.75 cents, reported rounded to whole cents.
    assert_eq!(settled["usage"]["list_cost"]["amount"], "15");
}

#[tokio::test]
async fn budget_updates_the_api_rejects_are_rejected_with_its_reasons() {
    let api = Api::start().await;
    let uncapped = session_with(&api, None).await;
    let path = format!("/v1/sessions/{}", uncapped["id"].as_str().expect("id"));
    let (status, body) = api.post(&path, json!({ "budget": budget("100") })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(error_code(&body), "budget_create_only");

    let capped = session_with(&api, Some("5")).await;
    let sid = capped["id"].as_str().expect("id");
    api.say(sid, "antpath-sim: scenario=spend requests=50")
        .await;
    api.settled(sid).await;
    let path = format!("/v1/sessions/{sid}");
    let (status, body) = api.post(&path, json!({ "budget": budget("5") })).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "budget_not_raised")
    );
    let (status, body) = api.post(&path, json!({ "budget": { "type": "limit", "max_list_cost": { "amount": 7, "currency": "USD" } } })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let raised = api.ok(&path, json!({ "budget": budget("10") })).await;
    assert_eq!(raised["budget"], budget("10"));
    let removed = api.ok(&path, json!({ "budget": null })).await;
    assert!(removed["budget"].is_null());
    let (status, body) = api.post(&path, json!({ "budget": budget("20") })).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "budget_create_only")
    );
}

#[tokio::test]
async fn budgets_are_validated_at_create_and_need_a_priced_model() {
    let api = Api::start().await;
    let mut body = base(&api, "claude-opus-4-6").await;
    for bad in [
        json!({ "type": "limit", "max_list_cost": { "amount": "5.00", "currency": "USD" } }),
        json!({ "type": "limit", "max_list_cost": { "amount": "0", "currency": "USD" } }),
        json!({ "type": "limit", "max_list_cost": { "amount": "5", "currency": "EUR" } }),
    ] {
        body["budget"] = bad.clone();
        let (status, out) = api.post("/v1/sessions", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {out}");
        assert_eq!(out["error"]["type"], "invalid_request_error");
    }
    let mut unpriced = base(&api, "claude-nonexistent").await;
    unpriced["budget"] = budget("100");
    let (status, out) = api.post("/v1/sessions", unpriced).await;
    assert_eq!(
        (status, error_code(&out)),
        (StatusCode::BAD_REQUEST, "model_not_budgetable")
    );
}
