//! The canary key reaches the provider and nowhere else: no log line, no table.

use std::collections::BTreeMap;

use antpath_telemetry::testing::CapturedLogs;
use antpath_types::RunStatus;
use antpath_worker::FaultHook;
use serde_json::json;
use sqlx::PgPool;

use crate::support::{CANARY, Harness};

const BEARER: &str = "bearer-canary-5d2e8f";

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn the_canary_key_appears_in_no_log_and_no_table(pool: PgPool) {
    let logs = CapturedLogs::new();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    let h = Harness::new(pool).await;
    let mut template = h.template();
    template["agent"]["mcpServers"] =
        json!([{"name": "docs", "url": "https://mcp.example.com/sse", "auth": "static_bearer"}]);
    template["agent"]["tools"] = json!([{"type": "agent_toolset_20260401"}, {"type": "mcp_toolset", "mcpServerName": "docs"}]);
    let worker = h.start("w1", FaultHook::none());
    let bearer = BTreeMap::from([("docs".to_owned(), BEARER.to_owned())]);
    let done = h
        .submit_with(
            h.workspace,
            template,
            "antpath-sim: scenario=happy",
            "delete",
            bearer,
        )
        .await;
    let failed = h.submit("antpath-sim: scenario=terminated").await;
    assert_eq!(h.wait_terminal(done).await, RunStatus::Succeeded);
    assert_eq!(h.wait_terminal(failed).await, RunStatus::Failed);
    worker.shutdown().await;

    let text = logs.contents();
    assert!(
        !text.is_empty(),
        "the subscriber captured the worker's logs"
    );
    for secret in [CANARY, BEARER] {
        assert!(!text.contains(secret), "{secret} leaked into the logs");
    }

    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&h.pool)
        .await
        .expect("db");
    let dump = std::process::Command::new("pg_dump")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "--data-only",
            &database,
        ])
        .output()
        .expect("pg_dump");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.contains("session.status_idle"),
        "the dump holds the run's data"
    );
    for secret in [CANARY, BEARER] {
        assert!(!dump.contains(secret), "{secret} is stored in a table");
        assert!(
            !dump.contains(&hex::encode(secret)),
            "{secret} is stored as bytes"
        );
    }
}
