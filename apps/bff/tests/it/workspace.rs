//! `GET /v1/workspace`, `DELETE /v1/workspace` and `admin delete-workspace`: who may delete,
//! what a deleting workspace refuses, the progress it shows, and the 401 after.

use std::process::Command;

use antpath_bff::admin::{self, NewUser};
use antpath_db::{audit, workspace_purge};
use antpath_types::WorkspaceId;
use axum::http::{Method, StatusCode};
use sqlx::PgPool;

use crate::support::{TestApp, submission};

/// What the sweeper does once every run is done, step by step: drain, purge, complete.
async fn finish_deletion(pool: &PgPool, workspace: WorkspaceId) {
    sqlx::query("update runs set phase = 'done', status = 'cancelled' where workspace_id = $1")
        .bind(workspace.as_uuid())
        .execute(pool)
        .await
        .expect("the worker finishes the runs");
    workspace_purge::start_draining(pool, workspace)
        .await
        .expect("draining");
    let mut tx = pool.begin().await.expect("begin");
    let drain = workspace_purge::drain(&mut tx, workspace)
        .await
        .expect("drain");
    assert!(drain.purging, "{drain:?}");
    let purged = workspace_purge::purge_batch(&mut tx, workspace, 100)
        .await
        .expect("purge");
    assert_eq!(purged.runs, 1);
    workspace_purge::complete(&mut tx, workspace)
        .await
        .expect("complete")
        .expect("completed");
    tx.commit().await.expect("commit");
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn any_token_sees_the_workspace_plan_storage_and_active_runs(pool: PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant_with("acme", &["runs:read"]).await;
    let (_, writer) = app
        .token(tenant.workspace, tenant.user, &["runs:write"])
        .await;
    let submitted = app
        .call(Method::POST, "/v1/runs", &writer, Some(submission()))
        .await;
    assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.body);

    let reply = app
        .call(Method::GET, "/v1/workspace", &tenant.token, None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = &reply.body;
    assert_eq!(body["id"], tenant.workspace.to_string());
    assert_eq!(body["object"], "workspace");
    assert_eq!(body["name"], "acme");
    assert_eq!(body["status"], "active");
    assert_eq!(body["plan"]["name"], "default");
    let limits = &app.settings.limits;
    assert_eq!(
        body["plan"]["max_active_runs"],
        limits.max_active_runs_per_workspace
    );
    assert_eq!(body["storage"]["used_bytes"], 0);
    assert_eq!(
        body["storage"]["cap_bytes"],
        limits.workspace_storage_cap_bytes
    );
    assert_eq!(body["active_runs"], 1);
    assert!(body["deletion"].is_null(), "{body}");

    // A run whose outcome is decided frees its slot even while its cleanup goes on, as the
    // submission quota counts it (the dashboard once showed finished runs as active).
    sqlx::query(
        "update runs set status = 'succeeded', phase = 'cleanup', cleanup_state = 'running'",
    )
    .execute(&app.pool)
    .await
    .expect("finish the run");
    let after = app
        .call(Method::GET, "/v1/workspace", &tenant.token, None)
        .await;
    assert_eq!(after.body["active_runs"], 0, "{}", after.body);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_owner_deletes_the_workspace_and_later_submissions_meet_workspace_deleting(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone());
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;

    let reply = app
        .call(Method::DELETE, "/v1/workspace", &tenant.token, None)
        .await;

    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.body["status"], "pending_delete");
    let deletion = &reply.body["deletion"];
    assert_eq!(deletion["state"], "requested", "{}", reply.body);
    assert!(deletion["requested_at"].is_string());
    assert_eq!(deletion["progress"]["runs_remaining"], 1);
    assert_eq!(deletion["progress"]["runs_cleaning_up"], 1);

    let refused = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(submission()))
        .await;
    refused.assert_error(StatusCode::CONFLICT, "workspace_deleting");

    let cancelled = app
        .call(Method::GET, &format!("/v1/runs/{run}"), &tenant.token, None)
        .await;
    assert!(
        cancelled.body["cancel_requested_at"].is_string(),
        "{}",
        cancelled.body
    );

    let again = app
        .call(Method::DELETE, "/v1/workspace", &tenant.token, None)
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(
        again.body["deletion"]["requested_at"],
        deletion["requested_at"]
    );
    let actions: Vec<String> = audit::actions(&pool, tenant.workspace)
        .await
        .expect("audit")
        .into_iter()
        .map(|(action, _)| action)
        .filter(|action| action.starts_with("workspace."))
        .collect();
    assert_eq!(actions, ["workspace.delete_requested"], "audited once");

    sqlx::query("update workspace_deletions set state = 'draining', draining_at = now()")
        .execute(&pool)
        .await
        .expect("the sweeper picks it up");
    let progress = app
        .call(Method::GET, "/v1/workspace", &tenant.token, None)
        .await;
    assert_eq!(progress.status, StatusCode::OK, "{}", progress.body);
    assert_eq!(progress.body["deletion"]["state"], "draining");
    assert!(progress.body["deletion"]["draining_at"].is_string());
    assert_eq!(
        progress.body["deletion"]["progress"]["objects_remaining"],
        0
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn only_an_owner_s_token_with_tokens_manage_may_delete_the_workspace(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let tenant = app.tenant("acme").await;
    let member = admin::create_user(
        &pool,
        NewUser {
            email: "member@example.com",
            membership: Some((tenant.workspace, antpath_types::Role::Member)),
            password: None,
        },
    )
    .await
    .expect("member");
    let (_, member_token) = app
        .token(
            tenant.workspace,
            member,
            &["runs:read", "runs:write", "tokens:manage"],
        )
        .await;
    let (_, owner_runs_only) = app
        .token(tenant.workspace, tenant.user, &["runs:read", "runs:write"])
        .await;

    for token in [&member_token, &owner_runs_only] {
        let reply = app.call(Method::DELETE, "/v1/workspace", token, None).await;
        reply.assert_error(StatusCode::FORBIDDEN, "permission_denied");
    }

    let workspace = app
        .call(Method::GET, "/v1/workspace", &tenant.token, None)
        .await;
    assert_eq!(workspace.body["status"], "active", "{}", workspace.body);
    assert!(workspace.body["deletion"].is_null());
    app.submit_ok(&tenant, submission()).await;
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn once_the_deletion_completes_the_workspace_s_tokens_are_refused(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let tenant = app.tenant("acme").await;
    app.submit_ok(&tenant, submission()).await;
    let reply = app
        .call(Method::DELETE, "/v1/workspace", &tenant.token, None)
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);

    finish_deletion(&pool, tenant.workspace).await;

    for uri in ["/v1/workspace", "/v1/runs", "/v1/whoami"] {
        let reply = app.call(Method::GET, uri, &tenant.token, None).await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "authentication_error");
    }
}

fn database_url(pool: &PgPool) -> String {
    let options = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().expect("database")
    )
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_admin_command_requests_the_deletion_and_prints_the_workspace(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let tenant = app.tenant("acme").await;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_antpath-bff"))
            .args(args)
            .env_clear()
            .env("ANTPATH_DATABASE__URL", database_url(&pool))
            .env("RUST_LOG", "warn")
            .output()
            .expect("run antpath-bff")
    };
    let workspace = tenant.workspace.to_string();

    let output = run(&["admin", "delete-workspace", &workspace]);

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the workspace as JSON");
    assert_eq!(printed["id"], workspace);
    assert_eq!(printed["deletion"]["state"], "requested", "{printed}");
    let actions = audit::actions(&pool, tenant.workspace)
        .await
        .expect("audit");
    assert!(
        actions
            .iter()
            .any(|(action, target)| action == "workspace.delete_requested"
                && target.as_deref() == Some(workspace.as_str())),
        "{actions:?}"
    );
    let refused = app
        .call(Method::POST, "/v1/runs", &tenant.token, Some(submission()))
        .await;
    refused.assert_error(StatusCode::CONFLICT, "workspace_deleting");

    let unknown = run(&["admin", "delete-workspace", &WorkspaceId::new().to_string()]);
    assert!(!unknown.status.success());
}
