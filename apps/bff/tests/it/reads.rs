//! Reads and actions within a workspace: list pagination and filters, get, events, outputs,
//! cancel and delete semantics, and their audit rows.

use antpath_types::RunId;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestApp, submission};
use crate::tenancy::seed_event_and_output;

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_run_list_pages_newest_first_and_filters_by_status(pool: sqlx::PgPool) {
    let app = TestApp::with_env(
        pool,
        &[
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_WORKSPACE", "50"),
            ("ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_TOKEN", "50"),
        ],
    );
    let tenant = app.tenant("acme").await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(app.submit_ok(&tenant, submission()).await);
    }
    sqlx::query("update runs set status = 'failed' where id = $1")
        .bind(created[0].parse::<RunId>().expect("id").as_uuid())
        .execute(&app.pool)
        .await
        .expect("update");

    let mut seen = Vec::new();
    let mut uri = "/v1/runs?limit=2".to_owned();
    loop {
        let page = app.call(Method::GET, &uri, &tenant.token, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for run in page.body["data"].as_array().expect("data") {
            seen.push(run["id"].as_str().expect("id").to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/runs?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut newest_first = created.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    let failed = app
        .call(Method::GET, "/v1/runs?status=failed", &tenant.token, None)
        .await;
    assert_eq!(failed.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(failed.body["data"][0]["id"], created[0].as_str());
    assert_eq!(failed.body["next_cursor"], json!(null));
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn cancel_is_idempotent_and_a_terminal_run_answers_200_without_change(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    let first = app
        .call(
            Method::POST,
            &format!("/v1/runs/{run}/cancel"),
            &tenant.token,
            None,
        )
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    let at = first.body["cancel_requested_at"].clone();
    assert!(at.is_string());
    let second = app
        .call(
            Method::POST,
            &format!("/v1/runs/{run}/cancel"),
            &tenant.token,
            None,
        )
        .await;
    assert_eq!(second.status, StatusCode::ACCEPTED);
    assert_eq!(second.body["cancel_requested_at"], at);

    let done = app.submit_ok(&tenant, submission()).await;
    sqlx::query("update runs set status = 'succeeded' where id = $1")
        .bind(done.parse::<RunId>().expect("id").as_uuid())
        .execute(&app.pool)
        .await
        .expect("update");
    let terminal = app
        .call(
            Method::POST,
            &format!("/v1/runs/{done}/cancel"),
            &tenant.token,
            None,
        )
        .await;
    assert_eq!(terminal.status, StatusCode::OK);
    assert_eq!(terminal.body["cancel_requested_at"], json!(null));
    let actions = antpath_db::audit::actions(&app.pool, tenant.workspace)
        .await
        .expect("audit");
    assert!(
        actions
            .iter()
            .any(|(a, t)| a == "run.cancel" && t.as_deref() == Some(run.as_str()))
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn deleting_an_active_run_also_requests_its_cancel_and_a_finished_one_only_its_deletion(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let active = app.submit_ok(&tenant, submission()).await;
    let reply = app
        .call(
            Method::DELETE,
            &format!("/v1/runs/{active}"),
            &tenant.token,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert!(reply.body["pending_delete_at"].is_string());
    assert!(reply.body["cancel_requested_at"].is_string());

    let finished = app.submit_ok(&tenant, submission()).await;
    sqlx::query("update runs set status = 'failed' where id = $1")
        .bind(finished.parse::<RunId>().expect("id").as_uuid())
        .execute(&app.pool)
        .await
        .expect("update");
    let reply = app
        .call(
            Method::DELETE,
            &format!("/v1/runs/{finished}"),
            &tenant.token,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert!(reply.body["pending_delete_at"].is_string());
    assert_eq!(reply.body["cancel_requested_at"], json!(null));
    let actions = antpath_db::audit::actions(&app.pool, tenant.workspace)
        .await
        .expect("audit");
    assert_eq!(actions.iter().filter(|(a, _)| a == "run.delete").count(), 2);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn events_and_outputs_show_metadata_and_capture_failures(pool: sqlx::PgPool) {
    let app = TestApp::new(pool);
    let tenant = app.tenant("acme").await;
    let run = app.submit_ok(&tenant, submission()).await;
    let output =
        seed_event_and_output(&app, tenant.workspace, run.parse().expect("id"), "k/y").await;
    let events = app
        .call(
            Method::GET,
            &format!("/v1/runs/{run}/events"),
            &tenant.token,
            None,
        )
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.body);
    let event = &events.body["data"][0];
    assert_eq!(event["type"], "session.status_idle");
    assert_eq!(event["attempt"], 1);
    assert_eq!(event["provider_event_id"], "sevt_1");
    assert_eq!(event["summary"]["stop_reason"], "end_turn");
    assert_eq!(events.body["next_cursor"], json!(null));

    let outputs = app
        .call(
            Method::GET,
            &format!("/v1/runs/{run}/outputs"),
            &tenant.token,
            None,
        )
        .await;
    assert_eq!(outputs.body["outputs"][0]["id"], output.to_string());
    assert_eq!(outputs.body["outputs"][0]["filename"], "report.md");
    assert!(outputs.body["outputs"][0].get("storage_key").is_none());
    assert_eq!(
        outputs.body["capture_failures"][0]["reason"],
        "workspace_quota_exceeded"
    );
}
