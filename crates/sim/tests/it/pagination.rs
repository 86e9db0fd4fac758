//! Page-cursor walks of every list, `limit` bounds and the files `ids[]` look-up.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Api, assert_error, unique};

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn walking_small_pages_equals_one_big_page_for_every_list() {
    let api = Api::start().await;
    let vault = api.ok("/v1/vaults", json!({ "display_name": "v" })).await;
    let vid = vault["id"].as_str().expect("id");
    for i in 0..5 {
        api.ok("/v1/environments", json!({ "name": unique("e") }))
            .await;
        api.ok(
            "/v1/agents",
            json!({ "name": format!("a{i}"), "model": "m" }),
        )
        .await;
        api.ok("/v1/vaults", json!({ "display_name": format!("v{i}") }))
            .await;
        let auth = json!({ "type": "static_bearer", "mcp_server_url": format!("https://m{i}.example.com"), "token": "t" });
        api.ok(
            &format!("/v1/vaults/{vid}/credentials"),
            json!({ "auth": auth }),
        )
        .await;
    }
    for path in [
        "/v1/environments",
        "/v1/agents",
        "/v1/vaults",
        &format!("/v1/vaults/{vid}/credentials"),
        "/v1/skills",
    ] {
        let small = api.walk(path, 2).await;
        let big = api.walk(path, 100).await;
        assert_eq!(ids(&small), ids(&big), "{path}");
        assert!(big.len() >= 4, "{path}");
    }
}

#[tokio::test]
async fn events_and_files_page_with_next_page_and_honour_limit() {
    let api = Api::start().await;
    let session = api.session(json!({})).await;
    let sid = session["id"].as_str().expect("id");
    api.say(sid, "antpath-sim: scenario=happy files=7 size=3")
        .await;
    api.settled(sid).await;
    let events = api.walk(&format!("/v1/sessions/{sid}/events"), 3).await;
    assert_eq!(
        ids(&events),
        ids(&api.walk(&format!("/v1/sessions/{sid}/events"), 1000).await)
    );
    let (_, desc) = api
        .get(&format!("/v1/sessions/{sid}/events?order=desc&limit=1"))
        .await;
    assert_eq!(desc["data"][0]["type"], "session.status_idle");
    let (_, filtered) = api
        .get(&format!(
            "/v1/sessions/{sid}/events?types[]=agent.tool_use&types[]=session.status_idle"
        ))
        .await;
    assert_eq!(filtered["data"].as_array().expect("data").len(), 8);
    let files = api.walk(&format!("/v1/files?scope_id={sid}"), 3).await;
    assert_eq!(files.len(), 7);
    let (_, first) = api.get(&format!("/v1/files?scope_id={sid}&limit=3")).await;
    assert!(
        first["next_page"]
            .as_str()
            .expect("cursor")
            .starts_with("page_")
    );
    assert_eq!(
        first.as_object().expect("page").len(),
        2,
        "files pages are exactly {{data, next_page}}"
    );
    let (_, by_id) = api
        .get(&format!(
            "/v1/files?ids[]={}&ids[]={}&ids[]=file_missing",
            files[0]["id"].as_str().expect("id"),
            files[6]["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(by_id["data"].as_array().expect("data").len(), 2);
    assert_eq!(by_id["next_page"], Value::Null);
}

#[tokio::test]
async fn sessions_page_both_ways_with_prev_page() {
    let api = Api::start().await;
    for _ in 0..5 {
        api.session(json!({})).await;
    }
    let (_, first) = api.get("/v1/sessions?limit=2").await;
    assert_eq!(first["prev_page"], Value::Null);
    let next = first["next_page"].as_str().expect("next");
    let (_, second) = api.get(&format!("/v1/sessions?limit=2&page={next}")).await;
    let prev = second["prev_page"].as_str().expect("prev");
    let (_, back) = api.get(&format!("/v1/sessions?limit=2&page={prev}")).await;
    assert_eq!(back["data"], first["data"]);
    let all = api.walk("/v1/sessions?order=asc", 2).await;
    assert_eq!(all.len(), 5);
    let (status, body) = api
        .get(&format!("/v1/sessions?limit=2&order=asc&page={next}"))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a desc cursor reused with asc"
    );
    assert_error(&body, "invalid_request_error");
}

#[tokio::test]
async fn out_of_range_limits_and_bad_cursors_are_400() {
    let api = Api::start().await;
    for path in [
        "/v1/agents?limit=0",
        "/v1/agents?limit=101",
        "/v1/files?limit=1001",
        "/v1/environments?page=nonsense",
        "/v1/files?scope_id=env_123",
        "/v1/sessions?include_archived=maybe",
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_error(&body, "invalid_request_error");
    }
    assert_eq!(api.get("/v1/files?limit=1000").await.0, StatusCode::OK);
}
