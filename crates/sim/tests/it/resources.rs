//! Environments, agents, vaults and credentials: happy paths, limits and lifecycle rules.

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::support::{Api, assert_error, sha256, unique};

#[tokio::test]
async fn environments_are_created_read_listed_archived_and_deleted() {
    let api = Api::start().await;
    let name = unique("env");
    let env = api
        .ok(
            "/v1/environments",
            json!({ "name": name, "metadata": { "owner": "t" } }),
        )
        .await;
    let id = env["id"].as_str().expect("id");
    assert!(id.starts_with("env_"));
    assert_eq!(env["type"], "environment");
    assert_eq!(env["description"], Value::Null);
    assert_eq!(env["config"]["networking"]["type"], "unrestricted");
    assert_eq!(env["config"]["packages"]["pip"], json!([]));
    assert_eq!(api.get(&format!("/v1/environments/{id}")).await.1, env);
    let (status, dup) = api.post("/v1/environments", json!({ "name": name })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&dup, "conflict_error");
    let archived = api
        .ok(&format!("/v1/environments/{id}/archive"), json!({}))
        .await;
    assert!(archived["archived_at"].is_string());
    assert!(
        api.get("/v1/environments").await.1["data"]
            .as_array()
            .expect("data")
            .is_empty()
    );
    assert_eq!(
        api.get("/v1/environments?include_archived=true").await.1["data"]
            .as_array()
            .expect("data")
            .len(),
        1
    );
    let (status, body) = api
        .post(&format!("/v1/environments/{id}"), json!({ "name": "x" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["details"]["error_code"],
        "environment_archived"
    );
    let (status, deleted) = api.delete(&format!("/v1/environments/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted, json!({ "id": id, "type": "environment_deleted" }));
    assert_eq!(
        api.get(&format!("/v1/environments/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_environment_cannot_be_deleted_while_a_session_references_it() {
    let api = Api::start().await;
    let session = api.session(json!({})).await;
    let env = session["environment_id"].as_str().expect("env");
    let (status, body) = api.delete(&format!("/v1/environments/{env}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "conflict_error");
    api.delete(&format!(
        "/v1/sessions/{}",
        session["id"].as_str().expect("id")
    ))
    .await;
    assert_eq!(
        api.delete(&format!("/v1/environments/{env}")).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn agents_version_on_update_reject_stale_versions_and_are_archive_only() {
    let api = Api::start().await;
    let agent = api
        .ok(
            "/v1/agents",
            json!({
                "name": "a", "model": "claude-opus-4-6",
                "tools": [{ "type": "agent_toolset_20260401", "configs": [{ "name": "bash" }] },
                          { "type": "mcp_toolset", "mcp_server_name": "gh" }],
                "mcp_servers": [{ "type": "url", "name": "gh", "url": "https://mcp.example.com/mcp" }],
            }),
        )
        .await;
    let id = agent["id"].as_str().expect("id");
    assert!(id.starts_with("agent_"));
    assert_eq!(agent["version"], 1);
    assert_eq!(
        agent["model"],
        json!({ "id": "claude-opus-4-6", "effort": { "type": "high" } })
    );
    assert_eq!(agent["tools"][0]["configs"][0]["type"], "bash");
    assert_eq!(
        agent["tools"][1]["default_config"]["permission_policy"]["type"],
        "always_ask"
    );
    assert_eq!(
        agent["execution_identity"],
        json!({ "type": "service_account" })
    );
    let same = api
        .ok(&format!("/v1/agents/{id}"), json!({ "version": 1 }))
        .await;
    assert_eq!(same["version"], 1, "a no-op keeps the version");
    let updated = api
        .ok(
            &format!("/v1/agents/{id}"),
            json!({ "version": 1, "system": "be brief" }),
        )
        .await;
    assert_eq!(updated["version"], 2);
    let (status, _) = api
        .post(
            &format!("/v1/agents/{id}"),
            json!({ "version": 1, "system": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        api.get(&format!("/v1/agents/{id}?version=1")).await.1["system"],
        Value::Null
    );
    assert_eq!(
        api.get(&format!("/v1/agents/{id}/versions")).await.1["data"]
            .as_array()
            .expect("data")
            .len(),
        2
    );
    let (status, _) = api.delete(&format!("/v1/agents/{id}")).await;
    assert_eq!(
        status,
        StatusCode::METHOD_NOT_ALLOWED,
        "agents have no delete"
    );
    let archived = api.ok(&format!("/v1/agents/{id}/archive"), json!({})).await;
    assert!(archived["archived_at"].is_string());
    let env = api
        .ok("/v1/environments", json!({ "name": unique("e") }))
        .await;
    let (status, _) = api
        .post(
            "/v1/sessions",
            json!({ "agent": id, "environment_id": env["id"] }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "archived agents reject new sessions"
    );
}

#[tokio::test]
async fn an_mcp_server_without_a_toolset_is_rejected() {
    let api = Api::start().await;
    let (status, body) = api
        .post(
            "/v1/agents",
            json!({ "name": "a", "model": "m", "mcp_servers": [{ "type": "url", "name": "x", "url": "https://x" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "invalid_request_error");
    assert_eq!(
        api.post("/v1/agents", json!({ "name": "a" })).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn credentials_never_echo_secrets_and_enforce_uniqueness_and_count() {
    let api = Api::start().await;
    let vault = api
        .ok(
            "/v1/vaults",
            json!({ "display_name": "v", "metadata": { "run": "1" } }),
        )
        .await;
    let vid = vault["id"].as_str().expect("id");
    assert!(vid.starts_with("vlt_"));
    let path = format!("/v1/vaults/{vid}/credentials");
    let token = "secret-bearer-token-42";
    let auth = json!({ "type": "static_bearer", "mcp_server_url": "https://mcp.example.com/mcp", "token": token });
    let cred = api
        .ok(&path, json!({ "auth": auth, "display_name": "gh" }))
        .await;
    assert!(cred["id"].as_str().expect("id").starts_with("vcrd_"));
    assert_eq!(
        cred["auth"],
        json!({ "type": "static_bearer", "mcp_server_url": "https://mcp.example.com/mcp" })
    );
    assert!(!cred.to_string().contains(token));
    let (status, _) = api.post(&path, json!({ "auth": auth })).await;
    assert_eq!(status, StatusCode::CONFLICT, "duplicate mcp_server_url");
    for i in 1..20 {
        let auth = json!({ "type": "static_bearer", "mcp_server_url": format!("https://m{i}.example.com"), "token": "t" });
        api.ok(&path, json!({ "auth": auth })).await;
    }
    let auth = json!({ "type": "static_bearer", "mcp_server_url": "https://m99.example.com", "token": "t" });
    assert_eq!(
        api.post(&path, json!({ "auth": auth })).await.0,
        StatusCode::BAD_REQUEST,
        "21st credential"
    );
    let (_, missing) = api
        .post(
            &path,
            json!({ "auth": { "type": "static_bearer", "mcp_server_url": "https://z" } }),
        )
        .await;
    assert_error(&missing, "invalid_request_error");
    let cid = cred["id"].as_str().expect("id");
    assert_eq!(api.get(&format!("{path}/{cid}")).await.1, cred);
    let (_, inspect) = api.get("/__sim/resources?kind=credential").await;
    let entry = inspect["resources"]
        .as_array()
        .expect("list")
        .iter()
        .find(|r| r["id"] == cid)
        .cloned()
        .expect("entry");
    assert_eq!(entry["token_sha256"], sha256(token.as_bytes()));
    assert!(!inspect.to_string().contains(token));
    let (status, deleted) = api.delete(&format!("{path}/{cid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["type"], "vault_credential_deleted");
    let (status, deleted) = api.delete(&format!("/v1/vaults/{vid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted, json!({ "id": vid, "type": "vault_deleted" }));
    let (_, after) = api.get("/__sim/resources?kind=credential&state=live").await;
    assert!(
        after["resources"].as_array().expect("list").is_empty(),
        "vault delete cascades"
    );
}

#[tokio::test]
async fn metadata_limits_give_400_invalid_metadata_on_every_resource() {
    let api = Api::start().await;
    let too_many: Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
    let bad = [
        json!(too_many),
        json!({ "k".repeat(65): "v" }),
        json!({ "k": "v".repeat(513) }),
        json!({ "k": 1 }),
    ];
    let session = api.session(json!({})).await;
    for metadata in bad {
        for (path, mut body) in [
            ("/v1/environments", json!({ "name": unique("e") })),
            ("/v1/agents", json!({ "name": "a", "model": "m" })),
            ("/v1/vaults", json!({ "display_name": "v" })),
            (
                "/v1/sessions",
                json!({ "agent": session["agent"]["id"], "environment_id": session["environment_id"] }),
            ),
        ] {
            body["metadata"] = metadata.clone();
            let (status, out) = api.post(path, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {metadata}");
            assert_eq!(
                out["error"]["details"]["error_code"], "invalid_metadata",
                "{path}"
            );
        }
    }
    let ok: Map<String, Value> = (0..16)
        .map(|i| (format!("{i:0>64}"), json!("v".repeat(512))))
        .collect();
    api.ok("/v1/vaults", json!({ "display_name": "v", "metadata": ok }))
        .await;
}

#[tokio::test]
async fn skills_are_listed_without_a_beta_header() {
    let api = Api::start().await;
    let resp = api
        .http
        .request(Method::GET, format!("{}/v1/skills?limit=2", api.base))
        .header("x-api-key", crate::support::KEY)
        .header("anthropic-version", "2026-10-21")
        .send()
        .await
        .expect("send");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["data"].as_array().expect("data").len(), 2);
    assert!(body["next_page"].is_string());
    assert_eq!(
        api.get("/v1/skills/xlsx").await.1["source"]["type"],
        "anthropic"
    );
}
