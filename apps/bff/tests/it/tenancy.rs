//! Tenant isolation: another workspace's run, output or token is a 404 on every route, exactly
//! like a missing one, and nothing about it changes.

use antpath_types::{AttemptId, OutputId, RunId, WorkspaceId};
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestApp, submission};

/// Stores an event and an output row for `run` (what the worker would do).
pub async fn seed_event_and_output(
    app: &TestApp,
    workspace: WorkspaceId,
    run: RunId,
    key: &str,
) -> OutputId {
    let attempt = AttemptId::new();
    antpath_db::events::insert_attempt(&app.pool, attempt, run, 1)
        .await
        .expect("attempt");
    antpath_db::events::insert_event_once(
        &app.pool,
        &antpath_db::events::NewEvent {
            run_id: run,
            attempt_id: attempt,
            workspace_id: workspace,
            provider_event_id: "sevt_1",
            event_type: "session.status_idle",
            processed_at: None,
            summary: json!({"stop_reason": "end_turn"}),
        },
    )
    .await
    .expect("event");
    let output = OutputId::new();
    sqlx::query(
        "insert into output_objects (id, run_id, workspace_id, provider_file_id, filename, display_name, storage_key, size_bytes, sha256, content_type)
         values ($1, $2, $3, 'file_1', 'report.md', 'report.md', $4, 5, $5, 'text/markdown')",
    )
    .bind(output.as_uuid())
    .bind(run.as_uuid())
    .bind(workspace.as_uuid())
    .bind(key)
    .bind("a".repeat(64))
    .execute(&app.pool)
    .await
    .expect("output");
    sqlx::query(
        "insert into output_capture_failures (id, run_id, workspace_id, provider_file_id, filename, display_name, size_bytes, reason, message)
         values ($1, $2, $3, 'file_2', 'big.bin', 'big.bin', 99, 'workspace_quota_exceeded', 'over quota')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(run.as_uuid())
    .bind(workspace.as_uuid())
    .execute(&app.pool)
    .await
    .expect("failure");
    output
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn another_workspaces_run_output_and_token_are_404_on_every_route(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let owner = app.tenant("acme").await;
    let intruder = app.tenant("evil").await;
    let run = app.submit_ok(&owner, submission()).await;
    let run_id: RunId = run.parse().expect("run id");
    let output = seed_event_and_output(&app, owner.workspace, run_id, "k/x").await;

    let routes = [
        (Method::GET, format!("/v1/runs/{run}")),
        (Method::GET, format!("/v1/runs/{run}/events")),
        (Method::GET, format!("/v1/runs/{run}/outputs")),
        (
            Method::POST,
            format!("/v1/runs/{run}/outputs/{output}/link"),
        ),
        (Method::POST, format!("/v1/runs/{run}/cancel")),
        (Method::DELETE, format!("/v1/runs/{run}")),
        (Method::DELETE, format!("/v1/tokens/{}", owner.token_id)),
    ];
    for (method, uri) in &routes {
        let foreign = app.call(method.clone(), uri, &intruder.token, None).await;
        let foreign_error = foreign
            .assert_error(StatusCode::NOT_FOUND, "not_found")
            .clone();
        let missing_uri = uri.replace(&run, &RunId::new().to_string()).replace(
            &owner.token_id.to_string(),
            &antpath_types::TokenId::new().to_string(),
        );
        let missing = app
            .call(method.clone(), &missing_uri, &intruder.token, None)
            .await;
        let missing_error = missing.assert_error(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(
            foreign_error["message"], missing_error["message"],
            "{method} {uri}"
        );
    }
    let listed = app
        .call(Method::GET, "/v1/runs", &intruder.token, None)
        .await;
    assert_eq!(listed.body["data"], json!([]));
    let tokens = app
        .call(Method::GET, "/v1/tokens", &intruder.token, None)
        .await;
    assert_eq!(tokens.body["data"].as_array().map(Vec::len), Some(1));

    // Nothing changed for the owner.
    let mine = app
        .call(Method::GET, &format!("/v1/runs/{run}"), &owner.token, None)
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.body["cancel_requested_at"], json!(null));
    assert_eq!(mine.body["pending_delete_at"], json!(null));
    let whoami = app
        .call(Method::GET, "/v1/whoami", &owner.token, None)
        .await;
    assert_eq!(whoami.status, StatusCode::OK);
    let actions = antpath_db::audit::actions(&app.pool, owner.workspace)
        .await
        .expect("audit");
    assert!(actions.is_empty(), "{actions:?}");
}
