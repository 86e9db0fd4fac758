//! Tokens: unknown, malformed, revoked and scope-less requests are refused the same way.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestApp, request};

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn missing_unknown_malformed_and_revoked_tokens_all_get_the_same_401(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let unknown = format!("ant_{}", "A".repeat(43));
    let revoked = app
        .call(
            Method::DELETE,
            &format!("/v1/tokens/{}", tenant.token_id),
            &tenant.token,
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert!(revoked.body["revoked_at"].is_string());

    let mut messages = Vec::new();
    for token in [
        None,
        Some(unknown.as_str()),
        Some("ant_short"),
        Some("not a token at all"),
        Some(tenant.token.as_str()),
    ] {
        let reply = app
            .send(request(Method::GET, "/v1/runs", token, None))
            .await;
        let error = reply.assert_error(StatusCode::UNAUTHORIZED, "authentication_error");
        messages.push(error["message"].clone());
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "{messages:?}");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_token_without_the_needed_scope_gets_403(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let reader = app.tenant_with("acme", &["runs:read"]).await;
    let reply = app
        .call(
            Method::POST,
            "/v1/runs",
            &reader.token,
            Some(crate::support::submission()),
        )
        .await;
    reply.assert_error(StatusCode::FORBIDDEN, "permission_denied");
    let reply = app
        .call(Method::GET, "/v1/tokens", &reader.token, None)
        .await;
    reply.assert_error(StatusCode::FORBIDDEN, "permission_denied");
    let reply = app.call(Method::GET, "/v1/runs", &reader.token, None).await;
    assert_eq!(reply.status, StatusCode::OK);

    let writer = app.tenant_with("beta", &["runs:write"]).await;
    let reply = app.call(Method::GET, "/v1/runs", &writer.token, None).await;
    reply.assert_error(StatusCode::FORBIDDEN, "permission_denied");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn whoami_names_the_workspace_token_and_user_and_marks_the_token_used(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let reply = app
        .call(Method::GET, "/v1/whoami", &tenant.token, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["workspace"]["id"], tenant.workspace.to_string());
    assert_eq!(reply.body["workspace"]["name"], "acme");
    assert_eq!(reply.body["token"]["id"], tenant.token_id.to_string());
    assert_eq!(reply.body["user"]["id"], tenant.user.to_string());
    let used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select last_used_at from api_tokens where id = $1")
            .bind(tenant.token_id.as_uuid())
            .fetch_one(&app.pool)
            .await
            .expect("row");
    assert!(used.is_some());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_created_token_works_once_shown_and_cannot_exceed_its_creators_scopes(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let admin = app.tenant("acme").await;
    let reply = app
        .call(
            Method::POST,
            "/v1/tokens",
            &admin.token,
            Some(json!({"name": "ci", "scopes": ["runs:read"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let token = reply.body["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("ant_") && token.len() == 47);
    assert_eq!(reply.body["prefix"], token[..8]);
    let listed = app
        .call(Method::GET, "/v1/tokens", &admin.token, None)
        .await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(2));
    assert!(!listed.body.to_string().contains(&token));
    let whoami = app.call(Method::GET, "/v1/whoami", &token, None).await;
    assert_eq!(whoami.body["token"]["scopes"], json!(["runs:read"]));

    let (_, manager) = app
        .token(admin.workspace, admin.user, &["tokens:manage"])
        .await;
    let escalate = app
        .call(
            Method::POST,
            "/v1/tokens",
            &manager,
            Some(json!({"name": "x", "scopes": ["runs:write"]})),
        )
        .await;
    escalate.assert_error(StatusCode::FORBIDDEN, "permission_denied");
    let unknown_field = app
        .call(
            Method::POST,
            "/v1/tokens",
            &admin.token,
            Some(json!({"name": "x", "scopes": ["runs:read"], "admin": true})),
        )
        .await;
    unknown_field.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let actions = antpath_db::audit::actions(&app.pool, admin.workspace)
        .await
        .expect("audit");
    assert_eq!(
        actions.iter().filter(|(a, _)| a == "token.create").count(),
        1
    );
}
