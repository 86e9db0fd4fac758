//! End-to-end runs of every simulator scenario: final status, event metadata, captured bytes,
//! quota failures, and no live provider resource left behind.

use std::collections::BTreeMap;

use antpath_types::RunStatus;
use antpath_worker::FaultHook;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::io::AsyncReadExt;

use crate::support::Harness;

async fn run_to_end(h: &Harness, directive: &str) -> (antpath_types::RunId, RunStatus) {
    let worker = h.start("w1", FaultHook::none());
    let run = h.submit(directive).await;
    let status = h.wait_terminal(run).await;
    worker.shutdown().await;
    (run, status)
}

async fn session_of(h: &Harness, run: antpath_types::RunId) -> String {
    sqlx::query_scalar("select provider_session_id from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("session")
}

/// Checks every stored output against the simulator's bytes and returns how many there are.
async fn check_outputs(h: &Harness, run: antpath_types::RunId, size: usize) -> usize {
    let session = session_of(h, run).await;
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "select filename, storage_key, sha256, size_bytes from output_objects where run_id = $1 order by filename",
    )
    .bind(run.as_uuid())
    .fetch_all(&h.pool)
    .await
    .expect("outputs");
    for (index, (filename, key, sha, bytes)) in rows.iter().enumerate() {
        assert_eq!(filename, &antpath_sim::file_name(index));
        let expected = antpath_sim::file_content(&session, index, size);
        assert_eq!(*sha, hex::encode(Sha256::digest(&expected)));
        assert_eq!(usize::try_from(*bytes).expect("size"), size);
        let key = antpath_storage::ObjectKey::parse(key).expect("key");
        let mut object = h.store.get_stream(&key).await.expect("stored");
        let mut body = Vec::new();
        object.body.read_to_end(&mut body).await.expect("read");
        assert_eq!(body, expected);
    }
    rows.len()
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_happy_run_succeeds_captures_every_file_and_leaves_nothing_live(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (run, status) = run_to_end(&h, "antpath-sim: scenario=happy files=3 size=2000").await;
    assert_eq!(status, RunStatus::Succeeded);
    assert_eq!(check_outputs(&h, run, 2000).await, 3);
    let used = h.scalar_i64("select storage_used_bytes from workspaces w join runs r on r.workspace_id = w.id where r.id = $1", run).await;
    assert_eq!(used, 6000);
    let ledger = h
        .scalar_i64(
            "select coalesce(sum(storage_bytes), 0)::bigint from usage_ledger where run_id = $1",
            run,
        )
        .await;
    assert_eq!(ledger, 6000);
    let events = h
        .scalar_i64("select count(*) from run_events where run_id = $1", run)
        .await;
    assert!(events >= 5, "{events} events");
    let idle = h.scalar_i64("select count(*) from run_events where run_id = $1 and event_type = 'session.status_idle' and summary->>'stop_reason' = 'end_turn'", run).await;
    assert_eq!(idle, 1);
    let tokens = h
        .scalar_i64("select input_tokens from runs where id = $1", run)
        .await;
    assert!(tokens > 0);
    let secrets = h
        .scalar_i64("select count(*) from run_secrets where run_id = $1", run)
        .await;
    assert_eq!(secrets, 0);
    let cleanup: String = sqlx::query_scalar("select cleanup_state from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("cleanup");
    assert_eq!(cleanup, "succeeded");
    assert!(
        h.live_resources().await.is_empty(),
        "{:?}",
        h.live_resources().await
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_transient_provider_error_is_the_providers_retry_not_a_failure(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (run, status) = run_to_end(&h, "antpath-sim: scenario=transient files=1 size=100").await;
    assert_eq!(status, RunStatus::Succeeded);
    assert_eq!(check_outputs(&h, run, 100).await, 1);
    let errors = h
        .scalar_i64(
            "select count(*) from run_events where run_id = $1 and event_type = 'session.error'",
            run,
        )
        .await;
    assert_eq!(errors, 1);
    assert!(h.live_resources().await.is_empty());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn exhausted_provider_retries_fail_the_run_and_clean_up(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (run, status) = run_to_end(&h, "antpath-sim: scenario=exhausted").await;
    assert_eq!(status, RunStatus::Failed);
    let class: Option<String> = sqlx::query_scalar("select error_class from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("class");
    assert!(class.is_some());
    assert!(h.live_resources().await.is_empty());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_terminated_session_fails_the_run_and_clean_up(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (_run, status) = run_to_end(&h, "antpath-sim: scenario=terminated").await;
    assert_eq!(status, RunStatus::Failed);
    assert!(
        h.live_resources().await.is_empty(),
        "{:?}",
        h.live_resources().await
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_session_waiting_for_approval_fails_as_the_tenants_error(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (run, status) = run_to_end(&h, "antpath-sim: scenario=approval").await;
    assert_eq!(status, RunStatus::Failed);
    let class: Option<String> = sqlx::query_scalar("select error_class from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("class");
    assert_eq!(class.as_deref(), Some("tenant_permanent"));
    assert!(h.live_resources().await.is_empty());
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn files_listed_late_are_still_captured(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (run, status) = run_to_end(
        &h,
        "antpath-sim: scenario=late-files files=2 size=300 seconds=1",
    )
    .await;
    assert_eq!(status, RunStatus::Succeeded);
    assert_eq!(check_outputs(&h, run, 300).await, 2);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_slow_session_is_polled_until_it_ends(pool: PgPool) {
    let h = Harness::new(pool).await;
    let (run, status) =
        run_to_end(&h, "antpath-sim: scenario=slow files=1 size=64 seconds=1").await;
    assert_eq!(status, RunStatus::Succeeded);
    assert_eq!(check_outputs(&h, run, 64).await, 1);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn files_past_the_workspace_quota_are_recorded_and_not_downloaded(pool: PgPool) {
    let h = Harness::with_cap(pool, 600).await;
    let (run, status) = run_to_end(&h, "antpath-sim: scenario=happy files=3 size=256").await;
    assert_eq!(status, RunStatus::Succeeded);
    assert_eq!(check_outputs(&h, run, 256).await, 2);
    let failures: Vec<(String, Option<i64>)> =
        sqlx::query_as("select reason, size_bytes from output_capture_failures where run_id = $1")
            .bind(run.as_uuid())
            .fetch_all(&h.pool)
            .await
            .expect("failures");
    assert_eq!(
        failures,
        vec![("workspace_quota_exceeded".to_owned(), Some(256))]
    );
    let used = h.scalar_i64("select storage_used_bytes from workspaces w join runs r on r.workspace_id = w.id where r.id = $1", run).await;
    assert_eq!(used, 512);
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn retain_keeps_claude_side_resources_but_destroys_the_secrets(pool: PgPool) {
    let h = Harness::new(pool).await;
    let worker = h.start("w1", FaultHook::none());
    let run = h
        .submit_with(
            h.workspace,
            h.template(),
            "antpath-sim: scenario=happy",
            "retain",
            BTreeMap::new(),
        )
        .await;
    assert_eq!(h.wait_terminal(run).await, RunStatus::Succeeded);
    worker.shutdown().await;
    let cleanup: String = sqlx::query_scalar("select cleanup_state from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("cleanup");
    assert_eq!(cleanup, "retained");
    let mut live: Vec<String> = h
        .live_resources()
        .await
        .iter()
        .map(|r| r["kind"].as_str().unwrap_or("").to_owned())
        .collect();
    live.sort();
    assert_eq!(live, ["agent", "environment", "session"]);
    let retained = h
        .scalar_i64(
            "select count(*) from provider_resources where run_id = $1 and state = 'retained'",
            run,
        )
        .await;
    assert_eq!(retained, 3);
    assert_eq!(
        h.scalar_i64("select count(*) from run_secrets where run_id = $1", run)
            .await,
        0
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn an_mcp_server_gets_a_vault_and_credential_that_are_removed_afterwards(pool: PgPool) {
    let h = Harness::new(pool).await;
    let mut template = h.template();
    template["agent"]["mcpServers"] =
        json!([{"name": "docs", "url": "https://mcp.example.com/sse", "auth": "static_bearer"}]);
    template["agent"]["tools"] = json!([{"type": "agent_toolset_20260401"}, {"type": "mcp_toolset", "mcpServerName": "docs"}]);
    let worker = h.start("w1", FaultHook::none());
    let bearer = BTreeMap::from([("docs".to_owned(), "bearer-canary-91ab".to_owned())]);
    let run = h
        .submit_with(
            h.workspace,
            template,
            "antpath-sim: scenario=happy",
            "delete",
            bearer,
        )
        .await;
    assert_eq!(h.wait_terminal(run).await, RunStatus::Succeeded);
    worker.shutdown().await;
    let kinds: Vec<String> = h
        .sim_resources()
        .await
        .iter()
        .map(|r| r["kind"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(kinds.contains(&"vault".to_owned()) && kinds.contains(&"credential".to_owned()));
    assert!(
        h.live_resources().await.is_empty(),
        "{:?}",
        h.live_resources().await
    );
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_template_with_an_approval_tool_fails_before_anything_is_created(pool: PgPool) {
    let h = Harness::new(pool).await;
    let mut template = h.template();
    template["agent"]["tools"] = json!([{"type": "agent_toolset_20260401", "defaultConfig": {"permissionPolicy": "always_ask"}}]);
    let worker = h.start("w1", FaultHook::none());
    let run = h
        .submit_with(h.workspace, template, "x", "delete", BTreeMap::new())
        .await;
    assert_eq!(h.wait_terminal(run).await, RunStatus::Failed);
    worker.shutdown().await;
    let class: Option<String> = sqlx::query_scalar("select error_class from runs where id = $1")
        .bind(run.as_uuid())
        .fetch_one(&h.pool)
        .await
        .expect("class");
    assert_eq!(class.as_deref(), Some("tenant_permanent"));
    assert!(h.sim_resources().await.is_empty());
    assert_eq!(
        h.scalar_i64("select count(*) from run_secrets where run_id = $1", run)
            .await,
        0
    );
}
