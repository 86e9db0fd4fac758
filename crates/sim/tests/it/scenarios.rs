//! The scripted agent: every scenario's event sequence, final state and files.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Api, eventually, sha256};

async fn run(api: &Api, text: &str) -> (String, Value, Vec<String>) {
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id").to_owned();
    api.say(&sid, text).await;
    let settled = api.settled(&sid).await;
    let types = api.event_types(&sid).await;
    (sid, settled, types)
}

fn last_idle(events: &[Value]) -> Value {
    events
        .iter()
        .rev()
        .find(|e| e["type"] == "session.status_idle")
        .cloned()
        .expect("idle event")
}

#[tokio::test]
async fn happy_writes_deterministic_files_and_ends_with_end_turn() {
    let api = Api::start().await;
    let (sid, session, types) = run(
        &api,
        "Do it.\nantpath-sim: scenario=happy files=3 size=1000",
    )
    .await;
    assert_eq!(session["status"], "idle");
    assert_eq!(types.first().map(String::as_str), Some("user.message"));
    assert_eq!(types[1], "session.status_running");
    for t in [
        "span.model_request_start",
        "agent.message",
        "agent.tool_use",
        "agent.tool_result",
        "span.model_request_end",
    ] {
        assert!(types.contains(&t.to_owned()), "{t} in {types:?}");
    }
    assert_eq!(
        &types[types.len() - 2..],
        ["session.usage", "session.status_idle"]
    );
    let events = api.walk(&format!("/v1/sessions/{sid}/events"), 1000).await;
    assert_eq!(
        last_idle(&events)["stop_reason"],
        json!({ "type": "end_turn" })
    );
    assert!(
        events[0]["processed_at"].is_string(),
        "the user.message was processed"
    );
    let end = events
        .iter()
        .find(|e| e["type"] == "span.model_request_end")
        .expect("span end");
    assert!(end["model_usage"]["input_tokens"].as_u64().expect("tokens") > 0);
    assert!(session["usage"]["output_tokens"].as_u64().expect("usage") > 0);
    let files = api.walk(&format!("/v1/files?scope_id={sid}"), 2).await;
    assert_eq!(files.len(), 3);
    for (index, file) in files.iter().enumerate() {
        assert_eq!(file["scope"], json!({ "id": sid, "type": "session" }));
        assert_eq!(file["downloadable"], true);
        assert_eq!(file["size_bytes"], 1000);
        assert_eq!(file["filename"], antpath_sim::file_name(index));
        let id = file["id"].as_str().expect("id");
        let bytes = api
            .req(Method::GET, &format!("/v1/files/{id}/content"))
            .send()
            .await
            .expect("send")
            .bytes()
            .await
            .expect("bytes");
        assert_eq!(
            sha256(&bytes),
            sha256(&antpath_sim::file_content(&sid, index, 1000))
        );
    }
}

#[tokio::test]
async fn no_directive_means_happy_with_one_small_file() {
    let api = Api::start().await;
    let (sid, session, _) = run(&api, "just a prompt").await;
    assert_eq!(session["status"], "idle");
    let files = api.walk(&format!("/v1/files?scope_id={sid}"), 20).await;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["size_bytes"], 256);
}

#[tokio::test]
async fn approval_waits_for_a_confirmation_then_finishes() {
    let api = Api::start().await;
    let (sid, session, _) = run(&api, "antpath-sim: scenario=approval files=2").await;
    assert_eq!(session["status"], "idle");
    let events = api.walk(&format!("/v1/sessions/{sid}/events"), 1000).await;
    let idle = last_idle(&events);
    assert_eq!(idle["stop_reason"]["type"], "requires_action");
    let asked = idle["stop_reason"]["event_ids"][0]
        .as_str()
        .expect("event id")
        .to_owned();
    let tool_use = events
        .iter()
        .find(|e| e["id"] == asked.as_str())
        .expect("tool use");
    assert_eq!(tool_use["type"], "agent.tool_use");
    assert_eq!(tool_use["evaluated_permission"], "ask");
    assert!(
        api.walk(&format!("/v1/files?scope_id={sid}"), 20)
            .await
            .is_empty()
    );
    let confirm = json!({ "events": [{ "type": "user.tool_confirmation", "tool_use_id": asked, "result": "allow" }] });
    api.ok(&format!("/v1/sessions/{sid}/events"), confirm).await;
    api.settled(&sid).await;
    let events = api.walk(&format!("/v1/sessions/{sid}/events"), 1000).await;
    assert_eq!(last_idle(&events)["stop_reason"]["type"], "end_turn");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "agent.tool_result" && e["tool_use_id"] == asked.as_str())
    );
    assert_eq!(
        api.walk(&format!("/v1/files?scope_id={sid}"), 20)
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn a_denied_approval_ends_the_turn_without_files() {
    let api = Api::start().await;
    let (sid, _, _) = run(&api, "antpath-sim: scenario=approval").await;
    let events = api.walk(&format!("/v1/sessions/{sid}/events"), 1000).await;
    let asked = last_idle(&events)["stop_reason"]["event_ids"][0].clone();
    let deny = json!({ "events": [{ "type": "user.tool_confirmation", "tool_use_id": asked, "result": "deny", "deny_message": "no" }] });
    api.ok(&format!("/v1/sessions/{sid}/events"), deny).await;
    api.settled(&sid).await;
    let events = api.walk(&format!("/v1/sessions/{sid}/events"), 1000).await;
    assert_eq!(last_idle(&events)["stop_reason"]["type"], "end_turn");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "agent.tool_result" && e["is_error"] == true)
    );
    assert!(
        api.walk(&format!("/v1/files?scope_id={sid}"), 20)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn transient_errors_reschedule_then_recover() {
    let api = Api::start().await;
    let (sid, session, types) = run(&api, "antpath-sim: scenario=transient").await;
    assert_eq!(session["status"], "idle");
    let events = api.walk(&format!("/v1/sessions/{sid}/events"), 1000).await;
    let error = events
        .iter()
        .find(|e| e["type"] == "session.error")
        .expect("error");
    assert_eq!(error["error"]["retry_status"]["type"], "retrying");
    assert_eq!(error["error"]["type"], "model_overloaded_error");
    let rescheduled = types
        .iter()
        .position(|t| t == "session.status_rescheduled")
        .expect("rescheduled");
    assert!(types[rescheduled..].contains(&"session.status_running".to_owned()));
    assert_eq!(last_idle(&events)["stop_reason"]["type"], "end_turn");
    assert_eq!(
        api.walk(&format!("/v1/files?scope_id={sid}"), 20)
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn exhausted_retries_end_idle_with_retries_exhausted() {
    let api = Api::start().await;
    let (sid, session, _) = run(&api, "antpath-sim: scenario=exhausted").await;
    assert_eq!(session["status"], "idle");
    let events = api.walk(&format!("/v1/sessions/{sid}/events"), 1000).await;
    let last_error = events
        .iter()
        .rev()
        .find(|e| e["type"] == "session.error")
        .expect("error");
    assert_eq!(last_error["error"]["retry_status"]["type"], "exhausted");
    assert_eq!(
        last_idle(&events)["stop_reason"],
        json!({ "type": "retries_exhausted" })
    );
}

#[tokio::test]
async fn terminated_sessions_end_terminated_and_refuse_new_messages() {
    let api = Api::start().await;
    let (sid, session, types) = run(&api, "antpath-sim: scenario=terminated").await;
    assert_eq!(session["status"], "terminated");
    assert_eq!(
        types.last().map(String::as_str),
        Some("session.status_terminated")
    );
    let events = api.walk(&format!("/v1/sessions/{sid}/events"), 1000).await;
    let error = events
        .iter()
        .find(|e| e["type"] == "session.error")
        .expect("error");
    assert_eq!(error["error"]["retry_status"]["type"], "terminal");
    let events = json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": "again" }] }] });
    assert_eq!(
        api.post(&format!("/v1/sessions/{sid}/events"), events)
            .await
            .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        api.delete(&format!("/v1/sessions/{sid}")).await.0,
        StatusCode::OK,
        "terminated is not running"
    );
}

#[tokio::test]
async fn forever_runs_until_interrupted_then_idles_with_end_turn() {
    let api = Api::start().await;
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id");
    api.say(sid, "antpath-sim: scenario=forever").await;
    eventually(|| async {
        api.event_types(sid)
            .await
            .contains(&"agent.message".to_owned())
            .then_some(())
    })
    .await;
    assert_eq!(
        api.get(&format!("/v1/sessions/{sid}")).await.1["status"],
        "running"
    );
    let echoed = api
        .ok(
            &format!("/v1/sessions/{sid}/events"),
            json!({ "events": [{ "type": "user.interrupt" }] }),
        )
        .await;
    assert_eq!(echoed["data"][0]["type"], "user.interrupt");
    assert!(
        echoed["data"][0]["id"]
            .as_str()
            .expect("id")
            .starts_with("sevt_")
    );
    assert_eq!(api.settled(sid).await["status"], "idle");
    let events = api.walk(&format!("/v1/sessions/{sid}/events"), 1000).await;
    assert_eq!(last_idle(&events)["stop_reason"]["type"], "end_turn");
}

#[tokio::test]
async fn late_files_appear_only_after_the_delay() {
    let api = Api::start().await;
    let (sid, _, _) = run(&api, "antpath-sim: scenario=late-files files=2 seconds=0.4").await;
    let idle_at = Instant::now();
    let early = api.walk(&format!("/v1/files?scope_id={sid}"), 20).await;
    let files = eventually(|| async {
        let files = api.walk(&format!("/v1/files?scope_id={sid}"), 20).await;
        (files.len() == 2).then_some(files)
    })
    .await;
    assert!(
        early.is_empty() || idle_at.elapsed() >= Duration::from_millis(300),
        "files were listed too early"
    );
    assert!(idle_at.elapsed() >= Duration::from_millis(300));
    assert_eq!(files[0]["downloadable"], true);
}

#[tokio::test]
async fn slow_takes_the_given_time_before_finishing_happy() {
    let api = Api::start().await;
    let started = Instant::now();
    let (sid, session, _) = run(&api, "antpath-sim: scenario=slow seconds=0.3").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(session["status"], "idle");
    assert_eq!(
        api.walk(&format!("/v1/files?scope_id={sid}"), 20)
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn the_sse_stream_carries_live_events_with_event_lines() {
    let api = Api::start().await;
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id");
    let resp = api
        .req(Method::GET, &format!("/v1/sessions/{sid}/events/stream"))
        .header("accept", "application/json")
        .send()
        .await
        .expect("stream");
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    api.say(sid, "hello").await;
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    let deadline = Instant::now() + crate::support::DEADLINE;
    while !text.contains("event: session.status_idle") {
        assert!(Instant::now() < deadline, "no idle frame in {text}");
        let chunk = tokio::time::timeout(crate::support::DEADLINE, body.next())
            .await
            .expect("chunk")
            .expect("open")
            .expect("bytes");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: session.status_running\ndata: {"));
    for frame in text.split("\n\n").filter(|f| f.contains("data: ")) {
        assert!(
            frame.contains("event: "),
            "frame without event line: {frame}"
        );
        let data = frame
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .expect("data");
        let event: Value = serde_json::from_str(data).expect("json data");
        assert!(event["type"].is_string());
    }
}
