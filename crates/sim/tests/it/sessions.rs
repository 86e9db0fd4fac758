//! Session lifecycle: create, read, list, update, archive and delete rules.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Api, assert_error, eventually, unique};

#[tokio::test]
async fn a_session_snapshots_its_agent_and_echoes_metadata_and_vaults() {
    let api = Api::start().await;
    let env = api
        .ok("/v1/environments", json!({ "name": unique("e") }))
        .await;
    let agent = api
        .ok(
            "/v1/agents",
            json!({ "name": "a", "model": "claude-opus-4-6" }),
        )
        .await;
    let vault = api.ok("/v1/vaults", json!({ "display_name": "v" })).await;
    let session = api
        .ok(
            "/v1/sessions",
            json!({
                "agent": { "type": "agent", "id": agent["id"], "version": 1 }, "environment_id": env["id"],
                "title": "run 1", "metadata": { "run": "1" }, "vault_ids": [vault["id"]],
            }),
        )
        .await;
    let sid = session["id"].as_str().expect("id");
    assert!(sid.starts_with("sesn_"));
    assert_eq!(session["status"], "idle");
    assert_eq!(session["agent"]["id"], agent["id"]);
    assert_eq!(session["agent"]["type"], "agent");
    assert_eq!(session["metadata"], json!({ "run": "1" }));
    assert_eq!(session["vault_ids"], json!([vault["id"]]));
    assert_eq!(session["outcome_evaluations"], json!([]));
    assert_eq!(api.get(&format!("/v1/sessions/{sid}")).await.1, session);
}

#[tokio::test]
async fn session_create_validates_its_references() {
    let api = Api::start().await;
    let base = api.session(json!({})).await;
    let (agent, env) = (base["agent"]["id"].clone(), base["environment_id"].clone());
    let (status, body) = api
        .post(
            "/v1/sessions",
            json!({ "agent": "agent_missing", "environment_id": env }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found_error");
    assert_eq!(
        api.post("/v1/sessions", json!({ "agent": agent })).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, _) = api
        .post(
            "/v1/sessions",
            json!({ "agent": agent, "environment_id": env, "vault_ids": ["vlt_missing"] }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let vault = api.ok("/v1/vaults", json!({ "display_name": "v" })).await;
    api.ok(
        &format!("/v1/vaults/{}/archive", vault["id"].as_str().expect("id")),
        json!({}),
    )
    .await;
    let (status, _) = api
        .post(
            "/v1/sessions",
            json!({ "agent": agent, "environment_id": env, "vault_ids": [vault["id"]] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "archived vault");
    api.ok(
        &format!("/v1/environments/{}/archive", env.as_str().expect("env")),
        json!({}),
    )
    .await;
    let (status, _) = api
        .post(
            "/v1/sessions",
            json!({ "agent": agent, "environment_id": env }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "archived environment");
}

#[tokio::test]
async fn a_running_session_cannot_be_archived_or_deleted_until_interrupted() {
    let api = Api::start().await;
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id");
    api.say(sid, "antpath-sim: scenario=forever").await;
    let (status, body) = api
        .post(&format!("/v1/sessions/{sid}/archive"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "conflict_error");
    assert_eq!(
        api.delete(&format!("/v1/sessions/{sid}")).await.0,
        StatusCode::CONFLICT
    );
    api.ok(
        &format!("/v1/sessions/{sid}/events"),
        json!({ "events": [{ "type": "user.interrupt" }] }),
    )
    .await;
    let settled = api.settled(sid).await;
    assert_eq!(settled["status"], "idle");
    let archived = api
        .ok(&format!("/v1/sessions/{sid}/archive"), json!({}))
        .await;
    assert!(archived["archived_at"].is_string());
    assert_eq!(archived["status"], "terminated");
    let (status, _) = api
        .post(
            &format!("/v1/sessions/{sid}/events"),
            json!({ "events": [{ "type": "user.interrupt" }] }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "archived sessions reject events"
    );
    assert!(
        api.event_types(sid)
            .await
            .contains(&"session.status_terminated".to_owned())
    );
}

#[tokio::test]
async fn deleting_a_session_deletes_its_files() {
    let api = Api::start().await;
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id");
    api.say(sid, "antpath-sim: scenario=happy files=2").await;
    api.settled(sid).await;
    let files = api.walk(&format!("/v1/files?scope_id={sid}"), 10).await;
    assert_eq!(files.len(), 2);
    let (status, body) = api.delete(&format!("/v1/sessions/{sid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "id": sid, "type": "session_deleted" }));
    assert_eq!(
        api.get(&format!("/v1/sessions/{sid}")).await.0,
        StatusCode::NOT_FOUND
    );
    for file in files {
        let id = file["id"].as_str().expect("id");
        assert_eq!(
            api.get(&format!("/v1/files/{id}")).await.0,
            StatusCode::NOT_FOUND
        );
    }
    let (_, inspect) = api.get("/__sim/resources?kind=file").await;
    assert!(
        inspect["resources"]
            .as_array()
            .expect("list")
            .iter()
            .all(|r| r["state"] == "deleted")
    );
}

#[tokio::test]
async fn sessions_update_title_and_metadata_but_not_vaults() {
    let api = Api::start().await;
    let session = api.session(json!({ "a": "1", "b": "2" })).await;
    let sid = session["id"].as_str().expect("id");
    let updated = api
        .ok(
            &format!("/v1/sessions/{sid}"),
            json!({ "title": "t", "metadata": { "a": null, "c": "3" } }),
        )
        .await;
    assert_eq!(updated["title"], "t");
    assert_eq!(updated["metadata"], json!({ "b": "2", "c": "3" }));
    assert!(
        api.event_types(sid)
            .await
            .contains(&"session.updated".to_owned())
    );
    assert_eq!(
        api.post(&format!("/v1/sessions/{sid}"), json!({ "vault_ids": [] }))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_session_list_filters_by_status_and_agent() {
    let api = Api::start().await;
    let first = api.session(json!({})).await;
    let second = api.session(json!({})).await;
    let sid = second["id"].as_str().expect("id");
    api.say(sid, "antpath-sim: scenario=forever").await;
    let running = eventually(|| async {
        let (_, list) = api.get("/v1/sessions?statuses[]=running").await;
        let data = list["data"].as_array().cloned().unwrap_or_default();
        (data.len() == 1).then_some(data)
    })
    .await;
    assert_eq!(running[0]["id"], sid);
    let (_, by_agent) = api
        .get(&format!(
            "/v1/sessions?agent_id={}",
            first["agent"]["id"].as_str().expect("agent")
        ))
        .await;
    assert_eq!(by_agent["data"].as_array().expect("data").len(), 1);
    let (_, all) = api.get("/v1/sessions").await;
    assert_eq!(all["data"][0]["id"], sid, "newest first");
    assert_eq!(all["prev_page"], Value::Null);
    api.ok(
        &format!("/v1/sessions/{sid}/events"),
        json!({ "events": [{ "type": "user.interrupt" }] }),
    )
    .await;
    api.settled(sid).await;
}

#[tokio::test]
async fn unknown_event_types_and_empty_messages_are_rejected() {
    let api = Api::start().await;
    let session = api.session(json!({})).await;
    let path = format!(
        "/v1/sessions/{}/events",
        session["id"].as_str().expect("id")
    );
    for events in [
        json!([{ "type": "agent.message", "content": [] }]),
        json!([{ "type": "user.message", "content": [] }]),
        json!([]),
        json!([{ "type": "user.tool_confirmation", "tool_use_id": "sevt_x", "result": "allow" }]),
    ] {
        let (status, body) = api.post(&path, json!({ "events": events })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{events}");
        assert_error(&body, "invalid_request_error");
    }
}
