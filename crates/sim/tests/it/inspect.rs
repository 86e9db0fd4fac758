//! The inspection routes, and that neither the API key nor a credential secret ever leaves
//! the simulator.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Api, KEY, sha256};

#[tokio::test]
async fn resources_list_every_kind_with_state_and_helpful_fields() {
    let api = Api::start().await;
    let vault = api
        .ok(
            "/v1/vaults",
            json!({ "display_name": "v", "metadata": { "run": "7" } }),
        )
        .await;
    let vid = vault["id"].as_str().expect("id");
    let auth = json!({ "type": "static_bearer", "mcp_server_url": "https://mcp.example.com", "token": "tok-xyz" });
    api.ok(
        &format!("/v1/vaults/{vid}/credentials"),
        json!({ "auth": auth }),
    )
    .await;
    let session = api.session(json!({ "run": "7" })).await;
    let sid = session["id"].as_str().expect("id");
    api.say(sid, "antpath-sim: scenario=happy files=1 size=64")
        .await;
    api.settled(sid).await;
    api.ok(
        &format!(
            "/v1/agents/{}/archive",
            session["agent"]["id"].as_str().expect("agent")
        ),
        json!({}),
    )
    .await;
    let (status, body) = api.get("/__sim/resources").await;
    assert_eq!(status, StatusCode::OK);
    let list = body["resources"].as_array().expect("resources");
    let kinds: Vec<&str> = list
        .iter()
        .map(|r| r["kind"].as_str().expect("kind"))
        .collect();
    for kind in [
        "environment",
        "agent",
        "vault",
        "credential",
        "session",
        "file",
    ] {
        assert!(kinds.contains(&kind), "{kind}");
    }
    let find = |kind: &str| {
        list.iter()
            .find(|r| r["kind"] == kind)
            .cloned()
            .expect("entry")
    };
    assert_eq!(find("agent")["state"], "archived");
    assert_eq!(find("session")["metadata"], json!({ "run": "7" }));
    assert_eq!(find("vault")["metadata"], json!({ "run": "7" }));
    assert_eq!(find("credential")["token_sha256"], sha256(b"tok-xyz"));
    let file = find("file");
    assert_eq!(file["session_id"], sid);
    assert_eq!(file["size_bytes"], 64);
    assert_eq!(file["filename"], antpath_sim::file_name(0));
    assert_eq!(
        file["sha256"],
        sha256(&antpath_sim::file_content(sid, 0, 64))
    );
    assert_eq!(file["state"], "live");
}

#[tokio::test]
async fn calls_record_every_request_without_the_key() {
    let api = Api::start().await;
    api.ok("/v1/environments", json!({ "name": "e" })).await;
    api.get("/v1/missing").await;
    let resp = api
        .http
        .get(format!("{}/v1/agents", api.base))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "no version header");
    let (_, body) = api.get("/__sim/calls").await;
    let calls = body["calls"].as_array().expect("calls");
    assert_eq!(calls[0]["method"], "POST");
    assert_eq!(calls[0]["path"], "/v1/environments");
    assert_eq!(calls[0]["status"], 200);
    assert!(
        calls[0]["request_id"]
            .as_str()
            .expect("id")
            .starts_with("req_")
    );
    assert_eq!(calls[0]["api_key"], "[REDACTED]");
    assert_eq!(calls[1]["status"], 404);
    assert_eq!(
        calls[2]["api_key"], "[REDACTED]",
        "bearer keys are redacted too"
    );
    let creates = calls
        .iter()
        .filter(|c| c["method"] == "POST" && c["path"] == "/v1/environments")
        .count();
    assert_eq!(creates, 1, "nothing was created twice");
    assert!(!body.to_string().contains(KEY));
    assert!(!body.to_string().contains("sk-ant-"));
}

#[tokio::test]
async fn no_response_ever_contains_the_key_or_a_secret() {
    let api = Api::start().await;
    let secret = "very-secret-bearer";
    let vault = api.ok("/v1/vaults", json!({ "display_name": "v" })).await;
    let vid = vault["id"].as_str().expect("id");
    let auth = json!({ "type": "static_bearer", "mcp_server_url": "https://mcp.example.com", "token": secret });
    let mut bodies: Vec<Value> = vec![
        api.ok(
            &format!("/v1/vaults/{vid}/credentials"),
            json!({ "auth": auth }),
        )
        .await,
    ];
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id");
    api.say(sid, "hello").await;
    api.settled(sid).await;
    for path in [
        "/v1/vaults".to_owned(),
        format!("/v1/vaults/{vid}/credentials"),
        format!("/v1/sessions/{sid}/events"),
        "/v1/sessions".to_owned(),
        "/__sim/resources".to_owned(),
        "/__sim/calls".to_owned(),
        "/v1/nope".to_owned(),
    ] {
        bodies.push(api.get(&path).await.1);
    }
    for body in bodies {
        let text = body.to_string();
        assert!(!text.contains(KEY), "{text}");
        assert!(!text.contains(secret), "{text}");
    }
}
