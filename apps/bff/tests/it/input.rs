//! Regression: an escaped NUL (`\u0000`), a spend limit numeric(12,4) cannot hold, and a
//! template with thousands of tools each reached the database or the provider and cost a 500;
//! duplicate keys were silently resolved last-wins. Each is now a 4xx naming where, never what.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::support::{BEARER_CANARY, CANARY, Reply, TestApp, submission};

fn raw(uri: &str, token: &str, body: String) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request")
}

/// Sets the value at a JSON pointer, creating the last member.
fn set(body: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    let target = body.pointer_mut(parent).expect("parent");
    match target {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().expect("index")] = value,
        _ => panic!("{parent} is not a container"),
    }
}

/// Asserts a 400 whose only detail is at `path`, and that no secret is echoed.
fn assert_refused_at(reply: &Reply, path: &str) {
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(reply.detail_paths(), [path], "{}", reply.body);
    let text = reply.body.to_string();
    for secret in [CANARY, BEARER_CANARY, "hidden-A", "hidden-B"] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_escaped_nul_anywhere_in_a_body_is_a_400_naming_its_path(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    for pointer in [
        "/template/description",
        "/template/prompt",
        "/template/labels/team",
        "/template/agent/system",
        "/template/agent/tools/0/configs/0/name",
        "/variables/topic",
        "/idempotencyKey",
    ] {
        let mut body = submission();
        set(&mut body, pointer, json!("before\u{0}after"));
        let reply = app
            .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
            .await;
        assert_refused_at(&reply, pointer);
    }
    let mut body = submission();
    set(
        &mut body,
        "/secrets/anthropic/apiKey",
        json!(format!("{CANARY}\u{0}")),
    );
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
        .await;
    assert_refused_at(&reply, "/secrets/anthropic/apiKey");

    let mut body = submission();
    set(&mut body, "/template/labels/te\u{0}am", json!("x"));
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
        .await;
    assert_refused_at(&reply, "/template/labels");

    let reply = app
        .call(
            Method::POST,
            "/v1/tokens",
            &tenant.token,
            Some(json!({"name": "c\u{0}i", "scopes": ["runs:read"]})),
        )
        .await;
    assert_refused_at(&reply, "/name");
    let runs: i64 = sqlx::query_scalar("select count(*) from runs")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(runs, 0);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_duplicate_key_at_any_depth_is_a_400_naming_the_key_path(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let valid = submission().to_string();
    let secrets = r#""secrets": {"anthropic": {"apiKey": "hidden-A"}}"#;
    let cases = [
        (
            valid.replacen('{', &format!("{{{secrets}, "), 1),
            "/secrets",
        ),
        (
            valid.replacen(r#""model":"#, r#""model": "claude-opus-4-1", "model":"#, 1),
            "/template/agent/model",
        ),
        (
            valid.replacen(
                r#""type":"agent_toolset_20260401""#,
                r#""type":"agent_toolset_20260401","type":"custom""#,
                1,
            ),
            "/template/agent/tools/0/type",
        ),
        (
            valid.replacen(r#""apiKey":"#, r#""apiKey": "hidden-B", "apiKey":"#, 1),
            "/secrets/anthropic/apiKey",
        ),
        (
            valid.replacen(
                r#""labels":{"#,
                r#""labels":{"a~b/c": "1", "a~b/c": "2", "#,
                1,
            ),
            "/template/labels/a~0b~1c",
        ),
    ];
    for (body, path) in cases {
        assert_ne!(body, valid, "the case for {path} must change the body");
        let reply = app.send(raw("/v1/runs", &tenant.token, body)).await;
        assert_refused_at(&reply, path);
    }
    let reply = app
        .send(raw(
            "/v1/tokens",
            &tenant.token,
            r#"{"name": "ci", "scopes": ["runs:read"], "scopes": ["runs:write", "tokens:manage"]}"#
                .to_owned(),
        ))
        .await;
    assert_refused_at(&reply, "/scopes");
    // The same key in sibling objects is not a duplicate.
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(submission()))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_spend_limit_the_database_cannot_hold_is_refused_with_the_accepted_range(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    for spend in ["1e9", "1e10", "99999999.99995", "1e-300"] {
        for pointer in ["/limits/maxSpendUsd", "/template/limits/maxSpendUsd"] {
            let mut body = submission();
            set(&mut body, pointer, json!("SPEND"));
            let text = body.to_string().replace("\"SPEND\"", spend);
            let reply = app.send(raw("/v1/runs", &tenant.token, text)).await;
            let error = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
            assert!(
                reply.detail_paths().contains(&pointer.to_owned()),
                "{error}"
            );
            assert!(error.to_string().contains("0.01 to 1000000"), "{error}");
        }
    }
    for (spend, stored) in [("0.01", 0.01), ("1000000", 1_000_000.0)] {
        let mut body = submission();
        set(&mut body, "/limits/maxSpendUsd", json!("SPEND"));
        let text = body.to_string().replace("\"SPEND\"", spend);
        let reply = app.send(raw("/v1/runs", &tenant.token, text)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(reply.body["limits"]["max_spend_usd"], json!(stored));
    }
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_template_with_more_tools_than_the_provider_allows_is_refused_up_front(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let mut body = submission();
    let tools = body["template"]["agent"]["tools"]
        .as_array_mut()
        .expect("tools");
    for i in 0..200 {
        tools.push(json!({"type": "custom", "name": format!("t{i}"), "description": "d", "inputSchema": {}}));
    }
    let reply = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(body))
        .await;
    let error = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    assert_eq!(reply.detail_paths(), ["/template/agent/tools"], "{error}");
    assert!(error.to_string().contains("At most 128"), "{error}");
}
